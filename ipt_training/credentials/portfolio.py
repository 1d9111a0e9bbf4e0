"""The rated portfolio and the evidence kinds of issue 13, in the store.

* **Random draws** (:func:`draw_sessions`): for a ``selection: random`` requirement, the
  trainee's linked supervisor (or an administrator) draws, for one case, one recorded session
  of each phase the requirement asks for, at random (``secrets.SystemRandom``) from the
  trainee's recordings of that case and phase not drawn before. A draw is append-only and
  audited with its candidates. A further draw of a case and phase is allowed only after the
  drawn session was rated below the pass mark, up to the requirement's ``further_draws``.
* **Case reports**: the trainee submits a written report of one of their cases; their
  supervisor (or an administrator) grades it on ``CASE_REPORT_LEVELS``. A report graded
  'revise' is answered by a new submission.
* **Attestations**: a linked supervisor (or an administrator) signs a statement of the
  trainee's competence for a standard, as supervisor or as observer; append-only, audited.
* **Supervision given** is read, not logged: the supervision sessions of other trainees that
  the person confirmed as their linked supervisor.
"""

from __future__ import annotations

import datetime as _dt
import json
import random
import secrets
from typing import Optional

from sqlite_utils import Database

from ..auth import User, supervisee_ids
from ..fidelity.blind import blind_session_ids
from ..reliability import calibration
from ..content import ATTESTERS, CASE_REPORT_LEVELS, PHASES, Library, RatedSessions
from ..notifications import notify
from ..store import audit, now_iso, one, rows, transaction
from .readiness_base import AttestationEntry, CaseReportEntry, SessionDraw, SupervisionGivenEntry

MIN_REPORT_CHARS = 300
MAX_REPORT_CHARS = 30_000
MIN_STATEMENT_CHARS = 40
MAX_STATEMENT_CHARS = 4000


class PortfolioError(Exception):
    """Something the user can fix; the message says what to do."""


def _day(iso: Optional[str]) -> Optional[_dt.date]:
    return _dt.date.fromisoformat(iso[:10]) if iso else None


def _may_act_for(db: Database, actor: User, trainee_id: int, what: str) -> None:
    """Only the trainee's linked supervisor or an administrator, never the trainee themself."""
    if actor.id == int(trainee_id):
        raise PortfolioError(f"You cannot {what} for yourself; your supervisor does.")
    if actor.has("admin") or (actor.has("supervisor") and int(trainee_id) in supervisee_ids(db, actor.id)):
        return
    raise PortfolioError(f"Only the trainee's linked supervisor or an administrator can {what}.")


# --- random draws ------------------------------------------------------------------------


def random_requirements(library: Library) -> list[tuple[str, str]]:
    """(standard id, requirement id) of every ``selection: random`` rated-sessions requirement."""
    out = []
    for sid, std in sorted(library.standards.items()):
        for req in [*std.requirements, *std.renewal_requirements]:
            if isinstance(req, RatedSessions) and req.selection == "random" and (sid, req.id) not in out:
                out.append((sid, req.id))
    return out


def _requirement(library: Library, standard_id: str, requirement_id: str) -> RatedSessions:
    std = library.standards.get(standard_id)
    for req in [*(std.requirements if std else []), *(std.renewal_requirements if std else [])]:
        if req.id == requirement_id and isinstance(req, RatedSessions) and req.selection == "random":
            return req
    raise PortfolioError("This standard has no rated-sessions requirement with random selection of that name; "
                         "reload the page.")


def recorded_cases(db: Database, trainee_id: int) -> list[str]:
    """The case pseudonyms of the trainee's recorded (non-calibration, not deleted) sessions."""
    return [r["p"] for r in rows(db, """SELECT DISTINCT case_pseudonym AS p FROM recorded_sessions WHERE trainee_id = ?
                                         AND is_gold_standard = 0 AND deleted_at IS NULL ORDER BY p""", (int(trainee_id),))]


def _case_key(db: Database, trainee_id: int, pseudonym: str) -> str:
    """The case a draw belongs to, as the readiness engine keys it: the logged case's id, else the pseudonym."""
    row = one(db, "SELECT id FROM clinical_cases WHERE trainee_id = ? AND lower(trim(pseudonym)) = lower(trim(?)) "
                  "ORDER BY id LIMIT 1", (int(trainee_id), pseudonym))
    return str(row["id"]) if row else pseudonym.strip().lower()


def draw_sessions(db: Database, library: Library, actor: User, trainee_id: int, standard_id: str, requirement_id: str,
                  case_pseudonym: str, today: Optional[_dt.date] = None,
                  rng: Optional[random.Random] = None) -> tuple[list[dict], list[str]]:
    """Draw one session per phase of the requirement for one case; returns (draws made, phases
    skipped with the reason). Refuses with a sentence when nothing could be drawn."""
    from .evidence import build_evidence  # evidence imports this module to assemble the new kinds
    from .readiness_base import _Ctx
    from .readiness_portfolio import draw_state, draws_for, session_outcomes

    _may_act_for(db, actor, trainee_id, "draw sessions for rating")
    req = _requirement(library, standard_id, requirement_id)
    name = " ".join(str(case_pseudonym or "").split())
    if not name:
        raise PortfolioError("Choose the case to draw sessions from.")
    today = today or _dt.date.today()
    rng = rng or secrets.SystemRandom()
    # the actor's blind set is left out: a drawn session they must still rate reads as awaiting its rating
    ev = build_evidence(db, library, int(trainee_id), today, hide_sessions=frozenset(blind_session_ids(db, actor)))
    ctx = _Ctx(library.standards[standard_id], today, calibration.count_uncertified_ratings(db, library))
    outcomes, _ = session_outcomes(req, ev, ctx)
    key = _case_key(db, trainee_id, name)
    groups = draws_for(ev, standard_id, requirement_id)
    made, skipped = [], []
    phases = [p for p in PHASES if p in req.phases_per_case] or list(PHASES)
    for phase in phases:
        g = groups.get((key, phase), [])
        ok, why = draw_state(req, g, outcomes)
        if not ok:
            skipped.append(f"{phase} phase: {why}")
            continue
        drawn = {int(d.session_id) for d in g}
        candidates = [r["id"] for r in rows(db, """SELECT id FROM recorded_sessions WHERE trainee_id = ? AND phase = ?
                                                   AND lower(trim(case_pseudonym)) = lower(?) AND is_gold_standard = 0
                                                   AND deleted_at IS NULL ORDER BY id""", (int(trainee_id), phase, name))
                      if r["id"] not in drawn]
        if not candidates:
            skipped.append(f"{phase} phase: no recorded session of this phase is left to draw from; add the recordings first")
            continue
        chosen = rng.choice(candidates)
        with transaction(db):
            did = db.conn.execute(
                """INSERT INTO session_draws (trainee_id, standard_id, requirement_id, case_key, case_pseudonym, phase, seq,
                   session_id, candidates, drawn_by, drawn_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)""",
                (int(trainee_id), standard_id, requirement_id, key, name, phase, len(g) + 1, chosen,
                 json.dumps(candidates), actor.id, now_iso())).lastrowid
            audit(db, actor.id, "draw_session", "session_draw", did,
                  {"trainee_id": int(trainee_id), "standard_id": standard_id, "requirement_id": requirement_id,
                   "case": name, "phase": phase, "seq": len(g) + 1, "session_id": chosen, "candidates": candidates})
        made.append({"id": did, "phase": phase, "session_id": chosen, "seq": len(g) + 1, "candidates": len(candidates)})
    if not made:
        raise PortfolioError(f"No session was drawn for case '{name}': " + "; ".join(skipped) + ".")
    return made, skipped


def list_draws(db: Database, trainee_id: int) -> list[dict]:
    """The trainee's draws, newest first, with the drawn session's number and who drew it."""
    return rows(db, """SELECT d.*, s.session_number, u.display_name AS drawn_by_name FROM session_draws d
                       JOIN recorded_sessions s ON s.id = d.session_id LEFT JOIN users u ON u.id = d.drawn_by
                       WHERE d.trainee_id = ? ORDER BY d.drawn_at DESC, d.id DESC""", (int(trainee_id),))


# --- case reports ------------------------------------------------------------------------


def submit_case_report(db: Database, actor: User, case_id: int, report: str) -> int:
    """The trainee submits a written report of one of their own logged cases for grading."""
    case = one(db, "SELECT * FROM clinical_cases WHERE id = ?", (int(case_id),))
    if case is None or case["trainee_id"] != actor.id:
        raise PortfolioError("Choose one of your own logged cases.")
    text = str(report or "").strip()
    if len(text) < MIN_REPORT_CHARS:
        raise PortfolioError(f"The report is {len(text)} characters; write at least {MIN_REPORT_CHARS} (the formulation, "
                             "the course of treatment and the outcome).")
    if len(text) > MAX_REPORT_CHARS:
        raise PortfolioError(f"Keep the report under {MAX_REPORT_CHARS:,} characters.")
    if one(db, "SELECT 1 AS x FROM case_reports WHERE case_id = ? AND level IS NULL", (case["id"],)):
        raise PortfolioError(f"A report on case '{case['pseudonym']}' already awaits grading; wait for the grade first.")
    with transaction(db):
        rid = db.conn.execute("INSERT INTO case_reports (trainee_id, case_id, report, submitted_at) VALUES (?,?,?,?)",
                              (actor.id, case["id"], text, now_iso())).lastrowid
        audit(db, actor.id, "submit_case_report", "case_report", rid, {"case_id": case["id"], "chars": len(text)})
    return rid


def grade_case_report(db: Database, actor: User, report_id: int, level: str, comment: str = "") -> None:
    """A linked supervisor (or an administrator) grades a submitted report on ``CASE_REPORT_LEVELS``."""
    rep = one(db, "SELECT * FROM case_reports WHERE id = ?", (int(report_id),))
    if rep is None:
        raise PortfolioError("This case report does not exist any more; reload the page.")
    _may_act_for(db, actor, rep["trainee_id"], "grade a case report")
    if level not in CASE_REPORT_LEVELS:
        raise PortfolioError(f"Choose a level: {', '.join(CASE_REPORT_LEVELS.values())}.")
    if rep["level"] is not None:
        raise PortfolioError("This report is already graded; the trainee submits a new version to be graded again.")
    comment = str(comment or "").strip()[:4000]
    with transaction(db):
        db.conn.execute("UPDATE case_reports SET level = ?, comment = ?, graded_by = ?, graded_at = ? WHERE id = ? "
                        "AND level IS NULL", (level, comment, actor.id, now_iso(), rep["id"]))
        audit(db, actor.id, "grade_case_report", "case_report", rep["id"],
              {"trainee_id": rep["trainee_id"], "level": level})
        case = one(db, "SELECT pseudonym FROM clinical_cases WHERE id = ?", (rep["case_id"],))
        notify(db, rep["trainee_id"], "case_report_graded",
               f"{actor.display_name} graded your case report on case '{case['pseudonym']}': "
               f"{CASE_REPORT_LEVELS[level]}." + ("" if level != "revise" else " Submit a revised version."),
               "my_evidence.py")


def list_case_reports(db: Database, trainee_id: int) -> list[dict]:
    """The trainee's case reports, newest first, with the case pseudonym and the grader's name."""
    return rows(db, """SELECT r.*, c.pseudonym, u.display_name AS grader FROM case_reports r
                       JOIN clinical_cases c ON c.id = r.case_id LEFT JOIN users u ON u.id = r.graded_by
                       WHERE r.trainee_id = ? ORDER BY r.submitted_at DESC, r.id DESC""", (int(trainee_id),))


# --- attestations ------------------------------------------------------------------------


def sign_attestation(db: Database, library: Library, actor: User, trainee_id: int, standard_id: str, attester: str,
                     statement: str) -> int:
    """A linked supervisor (or an administrator) signs a statement of competence for a standard."""
    _may_act_for(db, actor, trainee_id, "sign a statement of competence")
    if standard_id not in library.standards:
        raise PortfolioError("Choose one of the credential standards.")
    if attester not in ATTESTERS:
        raise PortfolioError("Say whether you sign as the supervisor or as an observer.")
    text = " ".join(str(statement or "").split())
    if len(text) < MIN_STATEMENT_CHARS:
        raise PortfolioError(f"Write the statement in at least {MIN_STATEMENT_CHARS} characters: what you observed and "
                             "why you judge the candidate competent.")
    if len(text) > MAX_STATEMENT_CHARS:
        raise PortfolioError(f"Keep the statement under {MAX_STATEMENT_CHARS:,} characters.")
    with transaction(db):
        aid = db.conn.execute("INSERT INTO attestations (trainee_id, standard_id, attester, signed_by, statement, signed_at) "
                              "VALUES (?,?,?,?,?,?)",
                              (int(trainee_id), standard_id, attester, actor.id, text, now_iso())).lastrowid
        audit(db, actor.id, "sign_attestation", "attestation", aid,
              {"trainee_id": int(trainee_id), "standard_id": standard_id, "attester": attester})
        notify(db, int(trainee_id), "statement_signed",
               f"{actor.display_name} signed a statement of competence for {library.standards[standard_id].name}, "
               f"as {ATTESTERS[attester]}.", "my_evidence.py")
    return aid


def list_attestations(db: Database, trainee_id: int) -> list[dict]:
    return rows(db, """SELECT a.*, u.display_name AS signer FROM attestations a LEFT JOIN users u ON u.id = a.signed_by
                       WHERE a.trainee_id = ? ORDER BY a.signed_at DESC, a.id DESC""", (int(trainee_id),))


# --- assembling the evidence -------------------------------------------------------------


def portfolio_evidence_many(db: Database, trainee_ids: list[int]) -> dict[int, dict]:
    """Per trainee, the ``Evidence`` fields of issue 13: draws, case reports, attestations,
    supervision given and the day each held credential was first awarded."""
    from .evidence import award_day  # evidence imports this module

    ids = sorted({int(t) for t in trainee_ids})
    param = (json.dumps(ids),)
    out = {t: {"draws": [], "case_reports": [], "attestations": [], "supervision_given": [], "first_awarded": {}}
           for t in ids}
    for d in rows(db, "SELECT * FROM session_draws WHERE trainee_id IN (SELECT value FROM json_each(?)) ORDER BY id", param):
        out[d["trainee_id"]]["draws"].append(SessionDraw(
            d["standard_id"], d["requirement_id"], d["case_key"], d["case_pseudonym"], d["phase"], str(d["session_id"]),
            d["seq"], _day(d["drawn_at"])))
    for r in rows(db, """SELECT r.id, r.trainee_id, r.case_id, r.submitted_at, r.level, r.graded_at, c.pseudonym,
                                u.display_name AS grader FROM case_reports r JOIN clinical_cases c ON c.id = r.case_id
                         LEFT JOIN users u ON u.id = r.graded_by
                         WHERE r.trainee_id IN (SELECT value FROM json_each(?)) ORDER BY r.submitted_at, r.id""", param):
        out[r["trainee_id"]]["case_reports"].append(CaseReportEntry(
            str(r["id"]), str(r["case_id"]), r["pseudonym"], _day(r["submitted_at"]), r["level"], r["grader"] or "",
            _day(r["graded_at"])))
    for a in rows(db, """SELECT a.*, u.display_name AS signer FROM attestations a LEFT JOIN users u ON u.id = a.signed_by
                         WHERE a.trainee_id IN (SELECT value FROM json_each(?)) ORDER BY a.signed_at, a.id""", param):
        out[a["trainee_id"]]["attestations"].append(AttestationEntry(
            str(a["id"]), a["standard_id"], a["attester"], a["signer"] or "", _day(a["signed_at"]), a["statement"]))
    for s in rows(db, """SELECT s.id, s.confirmed_by, s.date, s.hours, s.trainee_id AS supervisee_id, u.display_name
                         FROM supervision_sessions s JOIN users u ON u.id = s.trainee_id
                         WHERE s.confirmed_by IN (SELECT value FROM json_each(?)) AND s.trainee_id <> s.confirmed_by
                         ORDER BY s.date, s.id""", param):
        out[s["confirmed_by"]]["supervision_given"].append(SupervisionGivenEntry(
            str(s["id"]), _day(s["date"]), float(s["hours"]), f"{s['display_name']} (#{s['supervisee_id']})"))
    for d in rows(db, """SELECT trainee_id, standard_id, decision, decided_at, evidence_snapshot FROM credential_decisions
                         WHERE trainee_id IN (SELECT value FROM json_each(?)) AND decision IN ('award', 'refuse')
                         ORDER BY decided_at, id""", param):
        first = out[d["trainee_id"]]["first_awarded"]
        if d["decision"] == "refuse":
            first.pop(d["standard_id"], None)
        elif d["standard_id"] not in first:
            first[d["standard_id"]] = award_day(d)
    return {t: {k: (tuple(v) if isinstance(v, list) else v) for k, v in e.items()} for t, e in out.items()}
