"""Incremental readiness (issue 16): each person's assessment is kept, process-wide, under the
evidence token the store's triggers give that person (:mod:`ipt_training.store_changes`), so
after one trainee's new log entry the cohort costs one trainee's evaluation, not 2,000.

An assessment is reused only when everything it was computed from is unchanged: the person's
token, the GLOBAL token (calibration ratings, names, roles), the rater certifications of the
day, the standard's content hash, the day, the body's setting on uncertified raters, and which
of the person's sessions the viewer is still blind to (a viewer's blind set filters only the
people whose sessions it holds; everybody else shares one cached assessment). The result is
the one :func:`holding.assess` gives on freshly built evidence; the tests compare both after
random sequences of writes.
"""

from __future__ import annotations

import datetime as _dt
import gc
import hashlib
import json
import threading
from contextlib import contextmanager
from typing import Iterator, Optional

from sqlite_utils import Database

from ..content import CredentialStandard, Library
from ..reliability import calibration
from ..store import read_snapshot
from ..store_changes import GLOBAL
from .evidence import build_evidence_many
from .holding import assess
from .readiness import format_missing

MAX_ENTRIES = 200_000  # assessments kept; past that the cache starts afresh (bounded memory)

_lock = threading.Lock()
_assessed: dict[tuple, tuple[tuple, tuple]] = {}  # (person, standard id, hidden) -> (key, assess_many's value)
_certified: dict[tuple, dict] = {}  # (GLOBAL token, day, policies) -> calibration.certified_raters
_cohort_rows: dict[tuple, list] = {}  # (evidence stamp, standard, cohort, day, viewer, policies) -> rows
_builds: dict[tuple, dict] = {}  # view (standard, cohort, day, viewer, policies) -> its last rows, to patch
evaluations = 0  # people evaluated since start (read by the tests: one change costs one evaluation)


FREEZE_AT = 500  # fresh evaluations from which a batch's results are moved out of the collector's scans


class _Pause:
    freeze = False


@contextmanager
def _no_gc_pauses() -> Iterator[_Pause]:
    """Evaluating a cohort allocates about a million small objects and keeps a few hundred
    thousand (the assessments): the cyclic collector would scan the growing heap again and again
    during the batch, and after it catch up on every kept object (a young collection of them all,
    then a full one: 0.1-0.9 s at scale L, measured with ``gc.callbacks``). Nothing made here forms
    a cycle, so the collector is paused for the batch; after a large one (``pause.freeze``) the
    heap is frozen (``gc.freeze``: kept objects are freed by reference counting as usual, only no
    longer scanned). Cyclic garbage awaiting collection at that moment would never be collected
    (until :func:`clear` hands the frozen objects back, ``gc.unfreeze``), so a large batch first
    collects (:func:`_collect_before_freeze`): only garbage other threads make during the batch,
    and on the process's first freeze what had already reached the oldest generation, is frozen."""
    was = gc.isenabled()
    gc.disable()
    pause = _Pause()
    try:
        yield pause
    finally:
        if was:
            if pause.freeze:
                gc.freeze()
            gc.enable()


def _collect_before_freeze() -> int:
    """Collect the cyclic garbage a freeze would keep for ever; return the generation collected.

    Once something is frozen, a full collection: it scans only what was made since the last
    freeze. Before the process's first freeze (or the first after :func:`clear`), only the young
    generations: a full one would scan the whole start-up heap (0.2-0.3 s at scale L, as much as
    a quarter of the cold cohort), and the garbage it would have found in the oldest generation
    is frozen instead, once per process. Measured at scale L before the first freeze
    (``gc.collect`` with ``DEBUG_SAVEALL``): the server's warming, 10 objects (about 2 KB); the
    benchmark process, whose Streamlit test pages leave cycles behind, 22,764 objects (2.7 MB).
    Every later large batch collects fully first, so no further garbage is frozen."""
    generation = 2 if gc.get_freeze_count() else 1
    gc.collect(generation)
    return generation


def tokens(db: Database) -> dict[int, int]:
    """person id -> evidence token (GLOBAL and PEOPLE included)."""
    return dict(db.conn.execute("SELECT user_id, token FROM evidence_changes").fetchall())


def policies_key(library: Library) -> tuple:
    return tuple(sorted((p.id, p.content_hash, p.instrument,
                         getattr(library.instruments.get(p.instrument), "content_hash", ""))
                        for p in library.policies.values()))


def certified_raters(db: Database, library: Library, today: _dt.date, global_token: Optional[int] = None) -> dict:
    """:func:`calibration.certified_raters`, computed once per change of calibration data and day."""
    if global_token is None:
        global_token = tokens(db).get(GLOBAL)
    key = (global_token, today, policies_key(library))
    with _lock:
        hit = _certified.get(key)
    if hit is None:
        hit = calibration.certified_raters(db, library, today)
        with _lock:
            if len(_certified) > 16:
                _certified.clear()
            _certified[key] = hit
    return hit


def _fingerprint(certified: dict) -> str:
    """A short digest of the certifications: compared once per person, so it must be cheap."""
    text = repr(sorted((int(k), sorted(v.items())) for k, v in certified.items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _hidden_by_person(db: Database, hide_sessions: frozenset) -> dict[int, tuple]:
    if not hide_sessions:
        return {}
    out: dict[int, list] = {}
    for sid, tid in db.conn.execute("SELECT id, trainee_id FROM recorded_sessions WHERE id IN "
                                    "(SELECT value FROM json_each(?))", (json.dumps(sorted(hide_sessions)),)):
        out.setdefault(tid, []).append(sid)
    return {t: tuple(sorted(s)) for t, s in out.items()}


def assess_many(db: Database, library: Library, standard: CredentialStandard, person_ids: list[int],
                today: _dt.date, *, hide_sessions: frozenset = frozenset(), certified: Optional[dict] = None,
                count_uncertified: Optional[bool] = None, toks: Optional[dict] = None) -> dict[int, tuple]:
    """person id -> (Readiness, Holding or None, status, next steps) for ``standard``: what
    :func:`holding.assess` gives on :func:`evidence.build_evidence_many`, with
    :func:`readiness.format_missing`. Only people whose key changed are evaluated (their
    evidence read in one query per kind for all of them). ``toks``: :func:`tokens` as the caller
    read them, before this snapshot (a result may then be kept under an older token than its
    evidence: it is evaluated again on the next call, never served stale)."""
    global evaluations
    ids = [int(p) for p in person_ids]
    with _no_gc_pauses() as pause, read_snapshot(db):
        if toks is None:
            toks = tokens(db)
        if certified is None:
            certified = certified_raters(db, library, today, toks.get(GLOBAL))
        if count_uncertified is None:
            count_uncertified = calibration.count_uncertified_ratings(db, library)
        hidden = _hidden_by_person(db, hide_sessions)
        common = (toks.get(GLOBAL), _fingerprint(certified), today, standard.content_hash, bool(count_uncertified))
        keys = {p: (toks.get(p),) + common for p in ids}
        out, stale = {}, []
        with _lock:
            for p in ids:
                hit = _assessed.get((p, standard.id, hidden.get(p, ())))
                if hit is not None and hit[0] == keys[p]:
                    out[p] = hit[1]
                else:
                    stale.append(p)
        if len(stale) >= FREEZE_AT:
            _collect_before_freeze()
        if stale:
            evidence = build_evidence_many(db, library, stale, today, certified=certified, hide_sessions=hide_sessions)
        fresh = {}
        for p in stale:
            r, holding, status = assess(standard, evidence[p], today, count_uncertified)
            fresh[p] = (r, holding, status, tuple(format_missing(r)))
        evidence = None  # freed before a freeze: only the results are kept
        with _lock:
            evaluations += len(fresh)
            if len(_assessed) + len(fresh) > MAX_ENTRIES:
                _assessed.clear()
            for p, result in fresh.items():
                _assessed[(p, standard.id, hidden.get(p, ()))] = (keys[p], result)
        pause.freeze = len(fresh) >= FREEZE_AT
    out.update(fresh)
    return out


def cohort_rows(key: tuple, build) -> list:
    """The rows ``build()`` makes, kept under ``key`` (which begins with the evidence stamp, read
    before anything else: rows are never older than their key). Visits with nothing changed, by
    any page or person with the same view, share them (issue 16: the admin's home and credential
    review both read every standard's cohort)."""
    with _lock:
        hit = _cohort_rows.get(key)
    if hit is None:
        hit = build()
        with _lock:
            if len(_cohort_rows) >= 64:
                _cohort_rows.clear()
            _cohort_rows[key] = hit
    return list(hit)


def last_build(view: tuple) -> Optional[dict]:
    """The last rows built for ``view`` with what they were built from (:func:`review._cohort_readiness`)."""
    with _lock:
        return _builds.get(view)


def keep_build(view: tuple, build: dict) -> None:
    with _lock:
        if len(_builds) >= 64:
            _builds.clear()
        _builds[view] = build


def clear() -> None:
    """Forget every cached assessment (tests, benchmarks; never needed for correctness)."""
    with _lock:
        _assessed.clear()
        _certified.clear()
        _cohort_rows.clear()
        _builds.clear()
    gc.unfreeze()  # what a large batch froze is scanned again (and its cyclic garbage collected)
