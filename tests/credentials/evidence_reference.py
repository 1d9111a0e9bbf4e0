"""The evidence read as it was before issue 16's batch reader: whole rows as dicts, ordered
over the cohort, grouped per person afterwards. Kept only as the reference the faster
:func:`evidence.build_evidence_many` is compared with (every field of every person)."""

from __future__ import annotations

import datetime as _dt
import json
from typing import Optional

from sqlite_utils import Database

from ipt_training.content import Library
from ipt_training.credentials import portfolio
from ipt_training.credentials.evidence import (
    _NOT_REVOKED,
    _case_index,
    _case_of,
    _day,
    _standing,
    award_day,
    content_names,
)
from ipt_training.credentials.evidence_read import _RATED_SESSIONS_SQL
from ipt_training.credentials.readiness import (
    ClinicalCase,
    ClinicalHours,
    Evidence,
    HeldCredential,
    RatedSession,
    SupervisionSession,
    TrainingEvent,
    VignetteResult,
)
from ipt_training.reliability import calibration
from ipt_training.store import rows


def reference_evidence_many(db: Database, library: Library, trainee_ids: list[int], today: _dt.date,
                        certified: Optional[dict[int, dict[str, bool]]] = None,
                        hide_sessions: frozenset = frozenset()) -> dict[int, Evidence]:
    """:func:`build_evidence` for many trainees at once: one query per kind of evidence for all
    of them (a cohort of 2,000 costs about as many queries as one trainee).

    ``hide_sessions``: rated sessions the viewer is still blind to
    (:func:`fidelity.blind_session_ids`); their ratings are left out, so no readiness view
    reveals a score before the viewer has submitted their own rating.
    """
    ids = sorted({int(t) for t in trainee_ids})
    if certified is None:
        certified = calibration.certified_raters(db, library, today)
    param = (json.dumps(ids),)
    in_ids = "trainee_id IN (SELECT value FROM json_each(?))"

    def grouped(sql: str) -> dict[int, list[dict]]:
        out: dict[int, list[dict]] = {t: [] for t in ids}
        for r in rows(db, sql, param):
            out[r["trainee_id"]].append(r)
        return out

    training = grouped(f"SELECT * FROM training_events WHERE {in_ids} ORDER BY date, id")
    hours = grouped(f"SELECT * FROM clinical_hours WHERE {in_ids} ORDER BY date, id")
    case_rows = grouped(f"SELECT * FROM clinical_cases WHERE {in_ids} ORDER BY start_date, id")
    supervision = grouped(f"SELECT * FROM supervision_sessions WHERE {in_ids} ORDER BY date, id")
    rated_rows = grouped(_RATED_SESSIONS_SQL)
    decisions = grouped(f"""SELECT * FROM credential_decisions WHERE {in_ids} AND decision IN ('award', 'refuse')
                            AND {_NOT_REVOKED} ORDER BY decided_at, id""")
    scores: dict[int, list[tuple]] = {}
    for s in rows(db, f"""SELECT s.* FROM symptom_scores s JOIN clinical_cases c ON c.id = s.case_id
                          WHERE c.{in_ids} ORDER BY s.session_number, s.measure""", param):
        scores.setdefault(s["case_id"], []).append((s["session_number"], s["measure"], s["score"]))
    vignettes = _reference_vignettes(db, ids)
    extra = portfolio.portfolio_evidence_many(db, ids)  # draws, case reports, attestations, supervision given

    names = content_names(library)
    evidence = {}
    for tid in ids:
        cases = case_rows[tid]
        case_index = _case_index(cases)
        rated = []
        for r in rated_rows[tid]:
            if r["session_id"] in hide_sessions:
                continue
            case_id = _case_of(r, case_index)
            rated.append(RatedSession(
                id=str(r["session_id"]), case_id=str(case_id) if case_id is not None else None,
                case_pseudonym=r["case_pseudonym"], phase=r["phase"], instrument_id=r["instrument_id"],
                rater_certified=bool(certified.get(r["rater_id"], {}).get(r["instrument_id"], False)),
                mean=float(r["mean"]) if r["mean"] is not None else 0.0, passed=bool(r["passed"]),
                submitted_on=_day(r["submitted_at"])))
        evidence[tid] = Evidence(
            training_events=tuple(TrainingEvent(str(e["id"]), _day(e["date"]), float(e["hours"]), e["title"],
                                                e["trainer"], e["confirmed_by"] is not None, e["category"])
                                  for e in training[tid]),
            clinical_hours=tuple(ClinicalHours(str(e["id"]), _day(e["date"]), float(e["hours"]),
                                               e["confirmed_by"] is not None) for e in hours[tid]),
            supervision=tuple(SupervisionSession(str(e["id"]), _day(e["date"]), float(e["hours"]), e["supervisor_name"],
                                                 str(e["case_id"]) if e["case_id"] is not None else None,
                                                 e["confirmed_by"] is not None) for e in supervision[tid]),
            cases=tuple(ClinicalCase(str(c["id"]), c["pseudonym"], c["problem_area"], _day(c["start_date"]),
                                     _day(c["end_date"]), int(c["n_sessions"]), c["confirmed_by"] is not None,
                                     tuple(scores.get(c["id"], ())), c["population"]) for c in cases),
            rated_sessions=tuple(rated),
            vignette_results=tuple(vignettes[tid]),
            credentials_held=tuple(HeldCredential(d["standard_id"], award_day(d), _day(d["expires_on"]), str(d["id"]))
                                   for d in _standing(decisions[tid]).values()),
            rater_certified=dict(certified.get(tid, {})), names=names, **extra[tid])
    return evidence


def _reference_vignettes(db: Database, trainee_ids: list[int]) -> dict[int, list[VignetteResult]]:
    """:func:`vignette_results` for many trainees in one query (reads no answer JSON)."""
    out: dict[int, list[VignetteResult]] = {int(t): [] for t in trainee_ids}
    days: dict[str, _dt.date] = {}  # issue 16: 50,000 attempts fall on a few hundred days
    for aid, tid, vid, area, score, passed, status, submitted in db.conn.execute(
            """SELECT id, trainee_id, vignette_id, primary_area, score, passed, status, submitted_at
               FROM vignette_attempts WHERE trainee_id IN (SELECT value FROM json_each(?))
               AND status <> 'draft' ORDER BY created_at, id""", (json.dumps(sorted(out)),)):
        day = days.get(submitted[:10]) or days.setdefault(submitted[:10], _dt.date.fromisoformat(submitted[:10]))
        out[tid].append(VignetteResult(attempt_id=str(aid), vignette_id=vid, problem_area=area,
                                       score=score if score is not None else 0.0, passed=bool(passed),
                                       final=status == "graded", submitted_on=day))
    return out
