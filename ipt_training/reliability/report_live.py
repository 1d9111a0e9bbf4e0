"""The reliability report kept up to date as ratings are submitted, one computation per change
shared by every viewer (issue 16).

What the report reads of a selection (instrument, cohort, dates, phase) is kept in memory with
the position of the store's log of changes to submitted ratings it reflects
(:mod:`ipt_training.store_submissions`). When the log has moved on and every later change is a
submission, only those ratings are read and merged into what is kept, in rating-id order, so the
data are exactly what a full read gives; any other change (a rating reopened, edited or deleted,
a gold-standard mark, a session deleted, cohort membership, a name), a pruned log or a new
process reads everything again. A draft save, an evidence mark or a log entry writes nothing to
the log, so nothing is read or computed again.

The statistics, the G study and the drift view are computed once per change of their own inputs
and shared through :mod:`.shared_cache`: the figures (:func:`.report_data.figures_of`) per
change of the double-rated sessions' data, which alone they depend on (:func:`_double_stamp`),
so the first rating of a session only updates the counts of sessions and ratings; a further
rating of a session updates the item sums behind the item figures (:mod:`.report_sums`) by that
session's contribution alone (:func:`_current_sums`); the G study per content of its input
(the double-rated session scores); drift per change of calibration data
(:func:`.calibration.calibration_stamp`). A viewer blind to sessions of the selection gets the
statistics of the same data without those sessions, computed for that set of sessions from the
selection's one set of kept item sums less those sessions' contribution, read without changing
them (:meth:`.report_sums.ItemSums.view`).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

import numpy as np
import pandas as pd
from sqlite_utils import Database

from . import report_data as rd, report_sums
from .shared_cache import database_key, on_clear, shared
from ..content import Library
from ..store import read_snapshot

MAX_SELECTIONS = 16
MAX_HISTORY = 64  # appends a selection remembers: a kept sums this far behind is updated, not rebuilt
MAX_SUMS = 4  # selections whose item sums are kept: 84 MB each at scale XL (500 raters), 9 MB at L

# how the kept data were brought up to date (tests and the benchmark read these)
counts = {"full_reads": 0, "appends": 0, "ratings_appended": 0, "assembled": 0, "sums_built": 0, "sums_updated": 0,
          "sums_views": 0}

_kept: "OrderedDict[tuple, Kept]" = OrderedDict()
_sums: "OrderedDict[tuple, _Sums]" = OrderedDict()
_stamps: "OrderedDict[tuple, tuple]" = OrderedDict()  # (selection, blind set) -> version, stamp, sessions, shape
_gates: dict[tuple, threading.Lock] = {}
_lock = threading.Lock()
_STALE = -1  # the version of sums an update left half-made: _touched_since gives None for it


@dataclass(frozen=True)
class Kept:
    """A selection's rows as read (``rows``: :func:`.report_data.read_rows` output with coded
    items), the log position they reflect (``seq``) and the position at which they last changed
    (``version``)."""

    key: tuple
    seq: int
    version: int
    rows: dict
    filters: dict
    session_ids: frozenset
    derived: dict = field(default_factory=dict, compare=False)  # blind set -> statistics' input
    history: tuple = ()  # (version appended to, sessions of the appended ratings), oldest first


def _gate(key: tuple) -> threading.Lock:
    with _lock:
        return _gates.setdefault(key, threading.Lock())


def _coded(rows: dict, item_ids: list[str]) -> Optional[dict]:
    """``rows`` with items coded as indexes into ``item_ids`` (None if an item is not in it)."""
    code = pd.Index(item_ids, dtype=object).get_indexer(rows["item_id"]).astype(np.int64)
    if (code < 0).any():
        return None
    return rd.in_item_order({**{k: v for k, v in rows.items() if k != "item_id"}, "item_code": code,
                             "item_ids": list(item_ids)})


def _full(db: Database, params: dict) -> dict:
    counts["full_reads"] += 1
    rows = rd.read_rows(db, params)
    return _coded(rows, sorted(set(rows["item_id"].tolist())))


def _appended(db: Database, kept: Kept, head: int, params: dict) -> tuple[Optional[dict], frozenset]:
    """``kept.rows`` with the ratings submitted since ``kept.seq`` and the sessions they rate, or
    None when anything but submissions happened since (or the log no longer reaches back that far)."""
    changes = db.conn.execute("SELECT rating_id FROM submitted_changes WHERE seq > ? AND seq <= ? ORDER BY seq",
                              (kept.seq, head)).fetchall()
    if len(changes) != head - kept.seq or any(r[0] is None for r in changes):
        return None, frozenset()
    ids = sorted({int(r[0]) for r in changes})
    old = kept.rows
    if np.isin(ids, old["ratings"]["rating_id"].to_numpy(np.int64)).any():
        return None, frozenset()  # already read: not an append
    new = rd.read_rows(db, params, ids)
    if new["ratings"].empty:
        return old, frozenset()
    new = _coded(new, old["item_ids"])
    if new is None:
        return None, frozenset()  # an item never scored before: read everything (item codes are sorted ids)
    counts["appends"] += 1
    counts["ratings_appended"] += len(new["ratings"])
    ratings = pd.concat([old["ratings"], new["ratings"]], ignore_index=True)
    if len(old["ratings"]) and new["ratings"]["rating_id"].min() < old["ratings"]["rating_id"].max():
        ratings = ratings.sort_values("rating_id", kind="stable", ignore_index=True)  # else in order already
    names = pd.concat([old["names"], new["names"]], ignore_index=True).drop_duplicates("id", keep="last")
    at = np.searchsorted(rd.item_key(old), rd.item_key(new))  # merged in (rating, item) order: a full read's
    return ({"ratings": ratings, "names": names.sort_values("id", ignore_index=True), "item_ids": old["item_ids"],
             **{k: np.insert(old[k], at, new[k]) for k in ("item_rating", "item_code", "score")}},
            frozenset(int(x) for x in new["ratings"]["session_id"]))


def kept_rows(db: Database, library: Library, instrument_id: str, cohort_id: Optional[int] = None,
              date_from: rd.DateLike = None, date_to: rd.DateLike = None, phase: Optional[str] = None) -> Kept:
    """The selection's rows, brought up to date with the store (see the module docstring)."""
    inst = library.instruments.get(instrument_id)
    if inst is None:
        raise rd.ReportError(f"The instrument {instrument_id!r} is not loaded; choose one of the listed instruments.")
    dfrom, dto = rd._iso(date_from), rd._iso(date_to)
    if dfrom and dto and dfrom > dto:
        raise rd.ReportError("The start date is after the end date; swap them or widen the range.")
    key = (database_key(db), instrument_id, inst.content_hash, cohort_id, dfrom, dto, phase or None)
    params = rd.selection_params(instrument_id, cohort_id, dfrom, dto, phase)
    with _gate(key), read_snapshot(db):
        head = db.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM submitted_changes").fetchone()[0]
        with _lock:
            kept = _kept.get(key)
        if kept is not None and kept.seq == head:
            return kept
        # a log that went back is another (a restored) database: read everything
        rows, touched = _appended(db, kept, head, params) if kept is not None and kept.seq < head else (None, None)
        history: tuple = ()
        if rows is None:
            rows = _full(db, params)
        elif kept is not None:
            history = (kept.history + ((kept.version, touched),))[-MAX_HISTORY:]
        if kept is not None and rows is kept.rows:
            fresh = Kept(key, head, kept.version, rows, kept.filters, kept.session_ids, kept.derived, kept.history)
        else:
            fresh = Kept(key, head, head, rows, {"cohort_id": cohort_id, "cohort": rd._cohort_name(db, cohort_id),
                                                 "date_from": dfrom, "date_to": dto, "phase": phase or "all phases"},
                         frozenset(rows["ratings"]["session_id"].tolist()), history=history)
        with _lock:
            _kept[key] = fresh
            _kept.move_to_end(key)
            while len(_kept) > MAX_SELECTIONS:
                _kept.popitem(last=False)
        return fresh


MAX_VARIANTS = 4


def _data(db: Database, kept: Kept, hidden: frozenset) -> dict:
    """The statistics' input of the kept rows less the ``hidden`` sessions, kept with the rows
    (so it goes when they are replaced: the input is as large as the rows; a few blind sets)."""
    with _lock:
        found = kept.derived.get(hidden)
    if found is not None:
        return found
    data = rd.assemble(kept.rows, hidden)
    with _lock:
        counts["assembled"] += 1
        kept.derived[hidden] = data
        while len(kept.derived) > MAX_VARIANTS:  # the oldest blind set's; the whole selection's stays
            kept.derived.pop(next(k for k in kept.derived if k))
    return data


def shared_report(db: Database, library: Library, instrument_id: str, cohort_id: Optional[int] = None,
                  date_from: rd.DateLike = None, date_to: rd.DateLike = None, phase: Optional[str] = None,
                  blind: frozenset = frozenset()) -> dict[str, Any]:
    """:func:`.report_data.reliability_report` of the current data, computed once per change and
    shared by every viewer. The viewer's ``blind`` sessions (those they are still to rate) leave
    the figures only when the selection holds ratings of them: then the report without them is
    computed for that set (every figure changes when a session leaves). Read-only."""
    kept = kept_rows(db, library, instrument_id, cohort_id, date_from, date_to, phase)
    hidden = frozenset(blind) & kept.session_ids
    inst = library.instruments[instrument_id]

    def build() -> dict[str, Any]:
        data = _data(db, kept, hidden)
        double = rd.double_rated_part(data)
        figures = shared("reliability_figures", db, (kept.key, hidden, _double_stamp(kept, hidden, double)),
                         lambda: _figures(library, inst, db, kept, hidden, double))
        return rd.report_from_data(library, inst, data, kept.filters, figures)

    return shared("reliability_report", db, (kept.key, kept.version, tuple(sorted(hidden))), build)


@dataclass
class _Sums:
    """The item sums (:mod:`.report_sums`) of a selection's double-rated data (nothing hidden), the
    data they are of, and the version and history of the kept rows it was assembled from (not the
    rows: those and their blind sets' data are freed when the kept rows are replaced)."""

    version: int
    history: tuple
    double: dict
    sums: report_sums.ItemSums
    lock: threading.Lock = field(default_factory=threading.Lock)


def _touched_since(kept: Any, version: int) -> Optional[set]:
    """The sessions rated by the ratings appended to the kept rows since ``version``, or None
    when the kept rows were read afresh since (or ``version`` is further back than remembered);
    ``kept``: a :class:`Kept` or the :class:`_Sums` brought to one (its version and history)."""
    if version == kept.version:
        return set()
    for k, (start, _) in enumerate(kept.history):
        if start == version:
            return set().union(*(touched for _, touched in kept.history[k:]))
    return None


def _figures(library: Library, inst: Any, db: Database, kept: Kept, hidden: frozenset, double: dict) -> dict:
    """:func:`.report_data.figures_of` the ``double`` data (the selection's double-rated part less
    ``hidden``) from the selection's kept item sums (:func:`_current_sums`): as they are for a
    viewer blind to none of its double-rated sessions and holding the rows they are of; else read
    through a view of them (:meth:`.report_sums.ItemSums.view`: the kept sums are not changed)
    less the hidden sessions and, for a visitor holding older rows than the sums are of, with the
    sessions rated since as they were. Built afresh only when no view can hold the difference."""
    whole = double if not hidden else rd.double_rated_part(_data(db, kept, frozenset()))
    with _current_sums(library, inst, kept, whole) as (state, since):
        # an item scored only in hidden sessions goes; rows put back must be coded as the sums' items
        if set(double["item_ids"]) <= set(state.double["item_ids"]) and (
                not since or whole["item_ids"] == state.double["item_ids"]):
            rated = np.unique(state.double["ratings"]["session_id"].to_numpy(np.int64))
            out = since | {int(s) for s in np.intersect1d(rated, np.fromiter(hidden, np.int64, len(hidden)))}
            sums = state.sums.view((state.double, out, -1.0), (whole, since - hidden, 1.0)) if out else state.sums
            if sums is not None:
                counts["sums_views"] += bool(out)
                return rd.figures_of(library, inst, double, sums)
    counts["sums_built"] += 1
    return rd.figures_of(library, inst, double)


@contextmanager
def _current_sums(library: Library, inst: Any, kept: Kept, double: dict) -> Iterator[tuple[_Sums, set]]:
    """The item sums of the selection's double-rated data ``double`` (nothing hidden), held locked,
    and the sessions whose ratings differ between ``double`` and the data the sums are of (none,
    but for a visitor who read the kept rows before another visit brought the sums further).
    Those kept are brought up to date (the sessions rated since take out their old contribution
    and put in their new one), or, when that cannot be done (a new item or score, rows read
    afresh), built afresh; kept sums possibly changed half-way are dropped first."""
    key = kept.key
    with _lock:
        state = _sums.get(key)
    if state is not None:
        with state.lock:
            if state.version == kept.version:
                yield state, set()
                return
            touched = _touched_since(kept, state.version)
            if touched is not None and state.double["item_ids"] == double["item_ids"]:
                sessions = np.asarray(sorted(touched), dtype=np.int64)
                if (report_sums.add_sessions(state.sums, state.double, sessions, -1.0)
                        and report_sums.add_sessions(state.sums, double, sessions, 1.0)):
                    counts["sums_updated"] += 1
                    state.version, state.history, state.double = kept.version, kept.history, double
                    yield state, set()
                    return
            elif touched is None and state.version != _STALE:
                since = _touched_since(state, kept.version)
                if since is not None:  # the sums are ahead of this visitor's rows: theirs, not dropped
                    yield state, since
                    return
            # the old contribution may be out and the new one not in: no visit may use them
            state.version = _STALE
            with _lock:
                if _sums.get(key) is state:
                    del _sums[key]
    counts["sums_built"] += 1
    state = _Sums(kept.version, kept.history, double, report_sums.build(double, rd.scale_points(library, inst) or []))
    with state.lock:
        with _lock:
            _sums[key] = state
            _sums.move_to_end(key)
            while len(_sums) > MAX_SUMS:
                _sums.popitem(last=False)
        yield state, set()


def _double_stamp(kept: Kept, hidden: frozenset, double: dict) -> int:
    """The kept version at which the selection's double-rated data (less ``hidden``) last changed:
    appended ratings that rate no session double-rated before or after (first ratings), change
    no rater's label and bring no item (the data less ``hidden`` list only the items scored in
    what is left: a first rating may bring one) leave it."""
    key = (kept.key, hidden)
    sessions = np.unique(double["ratings"]["session_id"].to_numpy(np.int64))
    labels = [double["labels"][int(r)] for r in np.unique(double["ratings"]["rater_id"].to_numpy(np.int64))]
    shape = (labels, list(double["item_ids"]))  # the raters' labels and the items
    with _lock:
        seen = _stamps.get(key)
    stamp = kept.version
    if seen is not None and seen[3] == shape:  # a new rater may rename another (shared names)
        touched = _touched_since(kept, seen[0])
        if touched is not None:
            moved = np.asarray(sorted(touched), dtype=np.int64)
            if not (np.isin(moved, seen[2]).any() or np.isin(moved, sessions).any()):
                stamp = seen[1]
    with _lock:
        _stamps[key] = (kept.version, stamp, sessions, shape)
        _stamps.move_to_end(key)
        while len(_stamps) > MAX_SELECTIONS * MAX_VARIANTS:
            _stamps.popitem(last=False)
    return stamp


def shared_generalizability(db: Database, library: Library, instrument_id: str, cohort_id: Optional[int] = None,
                            date_from: rd.DateLike = None, date_to: rd.DateLike = None, phase: Optional[str] = None,
                            blind: frozenset = frozenset(),
                            target_phi: float = rd.DEFAULT_TARGET_PHI) -> dict[str, Any]:
    """:func:`.report_data.generalizability` of the current data, computed once per content of
    its input (the double-rated session scores) and shared; blind sessions as in
    :func:`shared_report`."""
    kept = kept_rows(db, library, instrument_id, cohort_id, date_from, date_to, phase)
    hidden = frozenset(blind) & kept.session_ids
    inst = library.instruments[instrument_id]
    per = shared("g_input", db, (kept.key, kept.version, tuple(sorted(hidden))),
                 lambda: rd.g_input(inst, _data(db, kept, hidden), inst.pass_rule.min_applicable_items))
    digest = hashlib.sha1(pd.util.hash_pandas_object(per, index=False).to_numpy().tobytes()).hexdigest()
    return shared("generalizability", db, (kept.key[:3], digest, float(target_phi)),
                  lambda: rd.generalizability_of(per, target_phi))


def clear() -> None:
    """Forget every kept selection (with :func:`.shared_cache.clear`: tests, a restored database file)."""
    with _lock:
        _kept.clear()
        _sums.clear()
        _stamps.clear()


on_clear(clear)
