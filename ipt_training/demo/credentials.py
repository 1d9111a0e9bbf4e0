"""Demo credential evidence (issue 6), made through the real store functions.

Runs after the vignette and fidelity demo loaders, whose graded vignette attempts and rated
sessions ('Case R1'-'Case R3', 'Case N1', 'Case N2', 'Case T1') complete the picture. The
fidelity sessions were added before these cases were logged, so they link to them by case
pseudonym (see :func:`evidence.build_evidence`). For the example therapist standard:

* ``trainee.ready`` (Rosa): 16 h of introductory training, 160 h of supervised clinical
  practice, three confirmed cases of 16 sessions with PHQ-9 every 3-4 sessions, 12 h of
  supervision, all confirmed; her supervisor drew one session of each phase of each case at
  random (she recorded one of each, so the draw had one candidate), graded her three case
  reports and signed a statement of her competence: with her rated sessions and vignettes,
  ready for review.
* ``trainee.near`` (Nico): everything but the cases, vignettes and portfolio: one complete case
  and one ongoing, vignettes in two areas only; the middle session drawn from 'Case N2' did not
  pass (a further draw is allowed); one case report graded, another awaiting grading; his
  supervisor's statement is signed; a deferral is on record. Nearly ready.
* ``trainee`` (Tara): a little confirmed training and practice, the rest awaiting her
  supervisor's confirmation, one case with a PHQ-9 gap. In progress.
* ``supervisor`` (Sam) holds a therapist award from before the platform that expires within
  90 days, so the renewal reminders have an entry.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import random
from pathlib import Path

from sqlite_utils import Database

from ..credentials import evidence, portfolio
from ..auth import get_user
from ..config import get_settings
from ..content import PROBLEM_AREAS, Library
from ..credentials.review import _insert_decision, add_months, decision_snapshot_of
from ..store import transaction

THERAPIST = "ipt-therapist-example"


def _ago(today: _dt.date, days: int) -> _dt.date:
    return today - _dt.timedelta(days=days)


def _phq9(n_sessions: int, start: float, end: float, every: int = 4) -> list[tuple]:
    """PHQ-9 at session 1, then every ``every`` sessions and at the last one, falling from start to end."""
    sessions = sorted({1, n_sessions, *range(every, n_sessions + 1, every)})
    span = max(1, n_sessions - 1)
    return [(s, "PHQ-9", round(start + (end - start) * (s - 1) / span)) for s in sessions]


def _backdate_confirmations(db: Database, trainee_id: int, today: _dt.date) -> None:
    """Confirmations dated a week after each entry (the demo's history), capped at yesterday."""
    for table, col in (("training_events", "date"), ("clinical_hours", "date"), ("clinical_cases", "start_date"),
                       ("supervision_sessions", "date")):
        for r in db.query(f"SELECT id, {col} AS d FROM {table} WHERE trainee_id = ? AND confirmed_by IS NOT NULL",
                          (trainee_id,)):
            when = min(_dt.date.fromisoformat(r["d"]) + _dt.timedelta(days=7), _ago(today, 1))
            db.conn.execute(f"UPDATE {table} SET confirmed_at = ? WHERE id = ?", (f"{when.isoformat()}T17:00:00+00:00", r["id"]))


def load(db: Database, library: Library, ids: dict, cohort_id: int, data_dir) -> None:
    settings = dataclasses.replace(get_settings(), data_dir=Path(data_dir))
    today = _dt.date.today()
    sup = get_user(db, ids["supervisor"])
    admin = get_user(db, ids["admin"])

    def log(username: str, *, training=(), hours=(), cases=(), supervision=(), confirm=True) -> dict:
        """Record entries for a trainee (as the trainee) and, with ``confirm``, confirm them (as the supervisor)."""
        me = get_user(db, ids[username])
        made: list[tuple[str, int]] = []
        case_ids = {}
        for days, hrs, title, trainer in training:
            made.append(("training_events", evidence.record_training_event(
                db, settings, me, me.id, _ago(today, days), hrs, title, trainer, today=today,
                category="advanced" if "workshop" in title.lower() else "introductory")))
        for days, hrs, setting in hours:
            made.append(("clinical_hours", evidence.record_clinical_hours(db, me, me.id, _ago(today, days), hrs, setting,
                                                                          today=today)))
        for name, area, start, end, n, scores in cases:
            cid = evidence.record_case(db, me, me.id, name, area, _ago(today, start),
                                       _ago(today, end) if end is not None else None, n, scores, today=today)
            case_ids[name] = cid
            made.append(("clinical_cases", cid))
        for days, hrs, case in supervision:
            made.append(("supervision_sessions", evidence.record_supervision(
                db, me, me.id, sup.display_name, _ago(today, days), hrs, case_ids.get(case), today=today)))
        if confirm is True:
            confirm = {m for m in made}
        for entry in made:
            if entry in confirm:
                evidence.confirm_entry(db, sup, *entry)
        with transaction(db):
            _backdate_confirmations(db, me.id, today)
        return {"user": me, "made": made, "cases": case_ids}

    # Rosa: everything the example therapist standard asks for
    log("trainee.ready",
        training=[(420, 8, "Introductory IPT course, day 1", "Dr. Example Trainer"),
                  (419, 8, "Introductory IPT course, day 2", "Dr. Example Trainer")],
        hours=[(700, 40, "Community mental health team"), (520, 45, "Community mental health team"),
               (340, 40, "Primary care psychology service"), (160, 35, "Primary care psychology service")],
        cases=[("Case R1", "role_dispute", 200, 60, 16, _phq9(16, 19, 7)),
               ("Case R2", "grief", 190, 55, 16, _phq9(16, 17, 6)),
               ("Case R3", "interpersonal_deficits", 185, 40, 16, _phq9(16, 15, 8))],
        supervision=[(175, 2, "Case R1"), (120, 2, "Case R1"), (165, 2, "Case R2"), (100, 2, "Case R2"),
                     (150, 2, "Case R3"), (70, 2, "Case R3")])

    # Nico: one case short and vignettes missing; a deferral on record
    log("trainee.near",
        training=[(300, 8, "Introductory IPT course, day 1", "Dr. Example Trainer"),
                  (299, 8, "Introductory IPT course, day 2", "Dr. Example Trainer")],
        hours=[(600, 60, "Inpatient unit"), (400, 50, "Outpatient clinic"), (150, 45, "Outpatient clinic")],
        cases=[("Case N1", "role_dispute", 130, 30, 14, _phq9(14, 20, 9)),
               ("Case N2", "role_transition", 75, None, 6, _phq9(6, 16, 13))],
        supervision=[(115, 2, "Case N1"), (85, 2, "Case N1"), (50, 2, "Case N1"), (60, 2.5, "Case N2"),
                     (35, 2.5, "Case N2")])

    # Tara: early days; most of it awaits her supervisor's confirmation
    tara = log("trainee",
               training=[(90, 6, "IPT introductory webinar", "Dr. Example Trainer"),
                         (20, 7, "IPT workshop: the interpersonal inventory", "Dr. Example Trainer")],
               hours=[(120, 40, "Student counselling service"), (30, 12, "Student counselling service")],
               cases=[("Case T1", "grief", 70, None, 7, [(1, "PHQ-9", 18)])],
               supervision=[(40, 1.5, "Case T1")],
               confirm=set())
    for table, eid in tara["made"]:
        if table in ("training_events", "clinical_hours"):
            first = min(e for t, e in tara["made"] if t == table)
            if eid == first:
                evidence.confirm_entry(db, sup, table, eid)
    with transaction(db):
        _backdate_confirmations(db, tara["user"].id, today)

    if THERAPIST not in library.standards:
        return  # the standard failed validation; Content status shows why
    std = library.standards[THERAPIST]
    _portfolio(db, library, ids, sup)

    def decide(username: str, decision: str, reasons: str, decided: _dt.date) -> None:
        person = get_user(db, ids[username])
        snapshot = decision_snapshot_of(db, library, person, std, decided, {"demo": True})
        expires = add_months(decided, std.validity_months).isoformat() if decision == "award" else None
        _insert_decision(db, admin.id, person.id, std, decision, reasons, f"{decided.isoformat()}T11:00:00+00:00",
                         expires, snapshot)

    decide("trainee.near", "defer",
           "Two more supervised cases with rated initial-, middle- and termination-phase sessions are needed, and "
           "vignette practice in the remaining problem areas. Apply again when Case N2 has ended.", _ago(today, 20))
    # Sam's therapist credential dates from before the platform; it expires within 90 days
    awarded = add_months(today, -std.validity_months) + _dt.timedelta(days=45)
    decide("supervisor", "award",
           "Demo: awarded before this platform was used; the evidence is held in the body's paper records.", awarded)
    # its signed credential and the revocation list, so 'credential export' and 'verify' work at once
    from ..credentials.verifiable import credential_for, publish_status_list

    for d in db.query("SELECT id FROM credential_decisions WHERE decision = 'award'"):
        credential_for(db, d["id"])
    publish_status_list(db)


REPORT = ("Interpersonal inventory: {who} named the people closest to them and what had changed in "
          "each relationship since the depression began. Formulation: the depression was linked to "
          "{area}, agreed with the client in the third session. Course: the initial phase gave the "
          "sick role and the inventory; the middle phase worked on the focus with communication "
          "analysis and role play; the termination phase reviewed gains, warning signs and a plan "
          "for relapse. Outcome: symptom scores fell over the case; the ending was discussed as a loss.")


def _portfolio(db: Database, library: Library, ids: dict, sup) -> None:
    """Random draws of the rated sessions, case reports and a signed statement (issue 13)."""
    std = library.standards[THERAPIST]
    req = next((r for r in std.requirements if getattr(r, "selection", "") == "random"), None)
    rng = random.Random(13)
    for username, cases in (("trainee.ready", ("Case R1", "Case R2", "Case R3")), ("trainee.near", ("Case N1", "Case N2"))):
        if req is not None:
            for case in cases:
                portfolio.draw_sessions(db, library, sup, ids[username], THERAPIST, req.id, case, rng=rng)
    for username, graded, waiting in (("trainee.ready", {"Case R1": "good", "Case R2": "adequate", "Case R3": "good"}, ()),
                                      ("trainee.near", {"Case N1": "good"}, ("Case N2",))):
        me = get_user(db, ids[username])
        for c in db.query("SELECT id, pseudonym, problem_area FROM clinical_cases WHERE trainee_id = ? ORDER BY id", (me.id,)):
            if c["pseudonym"] not in graded and c["pseudonym"] not in waiting:
                continue
            rid = portfolio.submit_case_report(db, me, c["id"], REPORT.format(
                who="The client", area=PROBLEM_AREAS[c["problem_area"]].lower()))
            if c["pseudonym"] in graded:
                portfolio.grade_case_report(db, sup, rid, graded[c["pseudonym"]],
                                            "Clear formulation; the phases are described with examples.")
    portfolio.sign_attestation(db, library, sup, ids["trainee.ready"], THERAPIST, "supervisor",
                               "I supervised Rosa's three IPT cases from assessment to ending and listened to her "
                               "recordings; she practises IPT competently and safely.")
    portfolio.sign_attestation(db, library, sup, ids["trainee.near"], THERAPIST, "supervisor",
                               "I supervise Nico's IPT cases and listen to his recordings; his work on Case N1 was "
                               "competent throughout, and he keeps to the focus and checks on safety.")
