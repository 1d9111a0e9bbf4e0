"""Demo credential evidence (issue 6), made through the real store functions.

Runs after the vignette and fidelity demo loaders, whose graded vignette attempts and rated
sessions ('Case R1'-'Case R3', 'Case N1', 'Case N2', 'Case T1') complete the picture. The
fidelity sessions were added before these cases were logged, so they link to them by case
pseudonym (see :func:`evidence.build_evidence`). For the example therapist standard:

* ``trainee.ready`` (Rosa): 16 h of introductory training, 160 h of supervised clinical
  practice, three confirmed cases of 16 sessions with PHQ-9 every 3-4 sessions, 12 h of
  supervision, all confirmed: with her rated sessions and vignettes, ready for review.
* ``trainee.near`` (Nico): everything but the cases and vignettes: one complete case and one
  ongoing, vignettes in two areas only; a deferral is on record. Nearly ready.
* ``trainee`` (Tara): a little confirmed training and practice, the rest awaiting her
  supervisor's confirmation, one case with a PHQ-9 gap. In progress.
* ``supervisor`` (Sam) holds a therapist award from before the platform that expires within
  90 days, so the renewal reminders have an entry.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from pathlib import Path

from sqlite_utils import Database

from ..credentials import evidence
from ..auth import get_user
from ..config import get_settings
from ..content import Library
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
                db, settings, me, me.id, _ago(today, days), hrs, title, trainer, today=today)))
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
