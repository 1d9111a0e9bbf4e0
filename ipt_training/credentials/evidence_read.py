"""Assembling a person's credential evidence from the store for the readiness engine (see
:mod:`.evidence` for what each kind of evidence is and when it counts); re-exported by
:mod:`.evidence`.

:func:`build_evidence_many` reads a whole cohort with one query per kind of evidence (issue 16),
as tuples ordered by person; :func:`build_evidence` is the same read for one person.
"""

from __future__ import annotations

import datetime as _dt
import json
from itertools import groupby
from operator import itemgetter
from typing import Any, Optional

from sqlite_utils import Database

from ..content import Library
from ..reliability import calibration
from ..store import rows
from . import portfolio
from .readiness import (
    ClinicalCase,
    ClinicalHours,
    Evidence,
    HeldCredential,
    RatedSession,
    SupervisionSession,
    TrainingEvent,
    VignetteResult,
)


_RATED_SESSIONS_SQL = """SELECT s.trainee_id, r.id AS rating_id, r.rater_id, r.instrument_id, r.mean, r.passed,
                              r.submitted_at, s.id AS session_id, s.case_id, s.case_pseudonym, s.session_number, s.phase
                       FROM ratings r JOIN recorded_sessions s ON s.id = r.session_id
                       WHERE s.trainee_id IN (SELECT value FROM json_each(?)) AND s.is_gold_standard = 0
                         AND r.kind = 'rater' AND r.status = 'submitted' AND r.rater_id <> s.trainee_id
                       ORDER BY r.submitted_at, r.id"""
# the same ratings as tuples, by person: trainee, session, rater, instrument, mean, passed, submitted,
# case id, case pseudonym, phase
_RATED_SESSIONS_TUPLES = """SELECT s.trainee_id, s.id, r.rater_id, r.instrument_id, r.mean, r.passed, r.submitted_at,
                                  s.case_id, s.case_pseudonym, s.phase
                           FROM ratings r JOIN recorded_sessions s ON s.id = r.session_id
                           WHERE s.trainee_id IN (SELECT value FROM json_each(?)) AND s.is_gold_standard = 0
                             AND r.kind = 'rater' AND r.status = 'submitted' AND r.rater_id <> s.trainee_id
                           ORDER BY s.trainee_id, r.submitted_at, r.id"""


def _rated_session_rows(db: Database, trainee_id: int) -> list[dict]:
    """Submitted rater ratings of the trainee's own (non-calibration) sessions, deleted recordings included."""
    return rows(db, _RATED_SESSIONS_SQL, (json.dumps([int(trainee_id)]),))


def _case_index(cases: list[dict]) -> tuple[set, dict]:
    """A trainee's case ids, and pseudonym (trimmed, lower case) -> the first case of that name."""
    by_name: dict[str, int] = {}
    for c in cases:
        by_name.setdefault(c["pseudonym"].strip().lower(), c["id"])
    return {c["id"] for c in cases}, by_name


def _case_of(r: dict, index: tuple[set, dict]) -> Optional[int]:
    """The trainee's case a rated session belongs to: by case_id, else by pseudonym."""
    ids, by_name = index
    if r["case_id"] is not None and r["case_id"] in ids:
        return r["case_id"]
    name = (r["case_pseudonym"] or "").strip().lower()
    return by_name.get(name) if name else None


_NOT_REVOKED = "id NOT IN (SELECT decision_id FROM credential_revocations)"  # a revoked award is not held


def standing_awards(db: Database, trainee_id: int) -> dict[str, dict]:
    """standard_id -> the award decision the trainee holds (the rule in the module docstring).

    Expired awards are included (the engine and the pages say they have expired).
    """
    return _standing(rows(db, f"""SELECT * FROM credential_decisions WHERE trainee_id = ? AND {_NOT_REVOKED}
                                  AND decision IN ('award', 'refuse') ORDER BY decided_at, id""", (int(trainee_id),)))


def _standing(decisions: list[dict]) -> dict[str, dict]:
    """Award and refusal decisions in time order -> the award standing per standard."""
    out: dict[str, dict] = {}
    for d in decisions:
        if d["decision"] == "award":
            out[d["standard_id"]] = d
        else:
            out.pop(d["standard_id"], None)
    return out


def award_day(decision: dict) -> _dt.date:
    """The day an award took effect: the day it was evaluated on (``evaluated_on`` in the snapshot,
    from which its expiry was counted), else the day it was recorded."""
    try:
        evaluated_on = json.loads(decision.get("evidence_snapshot") or "{}")["evaluated_on"]
    except (ValueError, KeyError, TypeError):
        evaluated_on = None
    return _award_day(evaluated_on, decision["decided_at"])


# the snapshot's evaluated_on, read by SQLite (a snapshot holds the whole evidence: parsing it in
# Python for every award of a cohort would cost more than the rest of the read)
_EVALUATED_ON = ("CASE WHEN json_valid(evidence_snapshot) AND json_type(evidence_snapshot) = 'object' "
                 "THEN json_extract(evidence_snapshot, '$.evaluated_on') END")


def _award_day(evaluated_on: Any, decided_at: str) -> _dt.date:
    try:
        return _dt.date.fromisoformat(evaluated_on)
    except (ValueError, TypeError):
        return _dt.date.fromisoformat(decided_at[:10])


_FIRST = itemgetter(0)


def _day(iso: Optional[str]) -> Optional[_dt.date]:
    return _dt.date.fromisoformat(iso[:10]) if iso else None


def build_evidence(db: Database, library: Library, trainee_id: int, today: _dt.date,
                   certified: Optional[dict[int, dict[str, bool]]] = None,
                   hide_sessions: frozenset = frozenset()) -> Evidence:
    """Everything the readiness engine needs for one trainee, read from the store.

    ``certified``: the result of :func:`calibration.certified_raters` for ``today``; pass it when
    evaluating many trainees so the calibration statistics are computed once.
    """
    return build_evidence_many(db, library, [trainee_id], today, certified, hide_sessions)[int(trainee_id)]


def build_evidence_many(db: Database, library: Library, trainee_ids: list[int], today: _dt.date,
                        certified: Optional[dict[int, dict[str, bool]]] = None,
                        hide_sessions: frozenset = frozenset()) -> dict[int, Evidence]:
    """:func:`build_evidence` for many trainees at once: one query per kind of evidence for all
    of them (a cohort of 2,000 costs about as many queries as one trainee), reading only the
    columns the engine uses, as plain tuples ordered by person (issue 16: the cohort's cold
    readiness was mostly this read).

    ``hide_sessions``: rated sessions the viewer is still blind to
    (:func:`fidelity.blind_session_ids`); their ratings are left out, so no readiness view
    reveals a score before the viewer has submitted their own rating.
    """
    ids = sorted({int(t) for t in trainee_ids})
    if certified is None:
        certified = calibration.certified_raters(db, library, today)
    param = (json.dumps(ids),)
    in_ids = "trainee_id IN (SELECT value FROM json_each(?))"
    days: dict[str, _dt.date] = {}

    def day(iso: Optional[str]) -> Optional[_dt.date]:  # a few hundred distinct days for 100,000 rows
        if not iso:
            return None
        d = days.get(iso)
        if d is None:
            d = days[iso] = _dt.date.fromisoformat(iso[:10])
        return d

    def grouped(sql: str) -> dict[int, list[tuple]]:
        """Rows whose first column is the person (the query orders by it first), in the query's
        order within each person."""
        out: dict[int, list[tuple]] = {t: [] for t in ids}
        out.update((t, list(rs)) for t, rs in groupby(db.conn.execute(sql, param), key=_FIRST))
        return out

    training = grouped(f"""SELECT trainee_id, id, date, hours, title, trainer, confirmed_by IS NOT NULL, category
                           FROM training_events WHERE {in_ids} ORDER BY trainee_id, date, id""")
    hours = grouped(f"""SELECT trainee_id, id, date, hours, confirmed_by IS NOT NULL FROM clinical_hours
                        WHERE {in_ids} ORDER BY trainee_id, date, id""")
    case_rows = grouped(f"""SELECT trainee_id, id, pseudonym, problem_area, start_date, end_date, n_sessions,
                                   confirmed_by IS NOT NULL, population
                            FROM clinical_cases WHERE {in_ids} ORDER BY trainee_id, start_date, id""")
    supervision = grouped(f"""SELECT trainee_id, id, date, hours, supervisor_name, case_id, confirmed_by IS NOT NULL
                              FROM supervision_sessions WHERE {in_ids} ORDER BY trainee_id, date, id""")
    rated_rows = grouped(_RATED_SESSIONS_TUPLES)
    decisions = grouped(f"""SELECT trainee_id, id, standard_id, decision, decided_at, expires_on,
                                   {_EVALUATED_ON} FROM credential_decisions
                            WHERE {in_ids} AND decision IN ('award', 'refuse') AND {_NOT_REVOKED}
                            ORDER BY trainee_id, decided_at, id""")
    scores: dict[int, list[tuple]] = {}
    for case_id, n, measure, score in db.conn.execute(
            f"""SELECT s.case_id, s.session_number, s.measure, s.score FROM symptom_scores s
                JOIN clinical_cases c ON c.id = s.case_id WHERE c.{in_ids}
                ORDER BY s.case_id, s.session_number, s.measure""", param):
        scores.setdefault(case_id, []).append((n, measure, score))
    vignettes = vignette_results_many(db, ids, days)
    extra = portfolio.portfolio_evidence_many(db, ids)  # draws, case reports, attestations, supervision given

    names = content_names(library)
    no_rating: dict = {}
    evidence = {}
    for tid in ids:
        cases = case_rows[tid]
        case_ids, by_name = {c[1] for c in cases}, {}
        for c in cases:
            by_name.setdefault(c[2].strip().lower(), c[1])
        rated = []
        for _, sid, rater, inst, mean, passed, submitted, case_id, pseudonym, phase in rated_rows[tid]:
            if sid in hide_sessions:
                continue
            if case_id is None or case_id not in case_ids:  # linked by pseudonym (:func:`_case_of`)
                name = (pseudonym or "").strip().lower()
                case_id = by_name.get(name) if name else None
            rated.append(RatedSession(
                str(sid), str(case_id) if case_id is not None else None, pseudonym, phase, inst,
                bool(certified.get(rater, no_rating).get(inst, False)), float(mean) if mean is not None else 0.0,
                bool(passed), day(submitted)))
        standing: dict[str, tuple] = {}  # :func:`_standing` on tuples
        for d in decisions[tid]:
            if d[3] == "award":
                standing[d[2]] = d
            else:
                standing.pop(d[2], None)
        evidence[tid] = Evidence(
            training_events=tuple(TrainingEvent(str(e[1]), day(e[2]), float(e[3]), e[4], e[5], bool(e[6]), e[7])
                                  for e in training[tid]),
            clinical_hours=tuple(ClinicalHours(str(e[1]), day(e[2]), float(e[3]), bool(e[4])) for e in hours[tid]),
            supervision=tuple(SupervisionSession(str(e[1]), day(e[2]), float(e[3]), e[4],
                                                 str(e[5]) if e[5] is not None else None, bool(e[6]))
                              for e in supervision[tid]),
            cases=tuple(ClinicalCase(str(c[1]), c[2], c[3], day(c[4]), day(c[5]), int(c[6]), bool(c[7]),
                                     tuple(scores.get(c[1], ())), c[8]) for c in cases),
            rated_sessions=tuple(rated),
            vignette_results=tuple(vignettes[tid]),
            credentials_held=tuple(HeldCredential(d[2], _award_day(d[6], d[4]), day(d[5]), str(d[1]))
                                   for d in standing.values()),
            rater_certified=dict(certified.get(tid, {})), names=names, **extra[tid])
    return evidence


def content_names(library: Library) -> dict[str, str]:
    """Content id -> the name a reader sees: instruments and standards by name, vignettes by title."""
    names = {i: inst.name for i, inst in library.instruments.items()}
    names.update({i: std.name for i, std in library.standards.items()})
    names.update({i: v.title for i, v in library.vignettes.items()})
    return names


# --- vignette results ------------------------------------------------------------


def vignette_results(db: Database, trainee_id: int) -> list[VignetteResult]:
    """Submitted attempts as evidence for credential readiness: ``problem_area`` is the
    vignette's expert primary focus; an attempt is final once graded."""
    return vignette_results_many(db, [trainee_id])[int(trainee_id)]


def vignette_results_many(db: Database, trainee_ids: list[int],
                          days: Optional[dict[str, _dt.date]] = None) -> dict[int, list[VignetteResult]]:
    """:func:`vignette_results` for many trainees in one query (reads no answer JSON), ordered
    by person so that SQLite walks its index instead of sorting every attempt."""
    out: dict[int, list[VignetteResult]] = {int(t): [] for t in trainee_ids}
    days = {} if days is None else days  # issue 16: 50,000 attempts fall on a few hundred days
    for aid, tid, vid, area, score, passed, status, submitted in db.conn.execute(
            """SELECT id, trainee_id, vignette_id, primary_area, score, passed, status, submitted_at
               FROM vignette_attempts WHERE trainee_id IN (SELECT value FROM json_each(?))
               AND status <> 'draft' ORDER BY trainee_id, created_at, id""", (json.dumps(sorted(out)),)):
        day = days.get(submitted) or days.setdefault(submitted, _dt.date.fromisoformat(submitted[:10]))
        out[tid].append(VignetteResult(str(aid), vid, area, score if score is not None else 0.0, bool(passed),
                                       status == "graded", day))
    return out
