"""Every kind of confirmable evidence, from the database to readiness (issue 18): an entry the
supervisor has not confirmed is read as unconfirmed and shown but not counted; once confirmed it
counts. One test per kind, so that a mapping that treats any kind as confirmed fails here."""

from __future__ import annotations

import datetime as _dt

import pytest

from ipt_training import auth
from ipt_training.config import get_settings
from ipt_training.credentials import evaluate, evidence
from ipt_training.credentials.readiness import UNCONFIRMED

TODAY = _dt.date(2026, 6, 1)
THERAPIST = "ipt-therapist-example"


@pytest.fixture
def people(db):
    mk = lambda name, roles: auth.create_user(db, name, "Lichen-Ferry-Atlas-58", roles, name.title())  # noqa: E731
    p = {"trainee": mk("tina", ["trainee"]), "sup": mk("sven", ["supervisor"]), "admin": mk("ada", ["admin"])}
    auth.link_supervisor(db, p["sup"].id, p["trainee"].id, p["admin"].id)
    return p


def _refs(library, ev, kind, entry_id):
    """(requirement id, counted?, reason) of every place the entry shows in the therapist standard."""
    r = evaluate(library.standards[THERAPIST], ev, TODAY)
    out = []
    for q in r.requirements:
        out += [(q.requirement_id, True, None) for e in q.evidence if e.kind == kind and e.id == str(entry_id)]
        out += [(q.requirement_id, False, e.reason) for e in q.not_counted if e.kind == kind and e.id == str(entry_id)]
    return out, {q.requirement_id: q.current for q in r.requirements}


def _check(db, library, people, table, field, kind, requirement, entry_id, reason, hours_before, hours_after):
    t = people["trainee"]
    ev = evidence.build_evidence(db, library, t.id, TODAY)
    entry = next(e for e in getattr(ev, field) if e.id == str(entry_id))
    assert entry.confirmed is False
    refs, current = _refs(library, ev, kind, entry_id)
    assert (requirement, False, reason) in refs and not any(counted for _, counted, _ in refs)
    assert current[requirement].startswith(hours_before)

    assert evidence.confirm_entry(db, people["sup"], table, entry_id) is True
    ev = evidence.build_evidence(db, library, t.id, TODAY)
    assert next(e for e in getattr(ev, field) if e.id == str(entry_id)).confirmed is True
    refs, current = _refs(library, ev, kind, entry_id)
    assert (requirement, True, None) in refs
    assert not [r for r in refs if r[2] == UNCONFIRMED]
    assert current[requirement].startswith(hours_after)


def test_training_event_confirmation_reaches_readiness(db, library, people):
    settings = get_settings()
    t = people["trainee"]
    eid = evidence.record_training_event(db, settings, t, t.id, "2026-03-01", 6, "IPT course day", "Dr T", today=TODAY,
                                         category="introductory")
    _check(db, library, people, "training_events", "training_events", "training_event", "intro-training", eid,
           UNCONFIRMED, "0 of", "6 of")


def test_clinical_hours_confirmation_reaches_readiness(db, library, people):
    t = people["trainee"]
    eid = evidence.record_clinical_hours(db, t, t.id, "2026-03-01", 5, "outpatient clinic", today=TODAY)
    _check(db, library, people, "clinical_hours", "clinical_hours", "clinical_hours", "supervised-clinical-hours",
           eid, UNCONFIRMED, "0 of", "5 of")


def test_supervision_confirmation_reaches_readiness(db, library, people):
    t = people["trainee"]
    eid = evidence.record_supervision(db, t, t.id, "Sven", "2026-03-01", 1.5, today=TODAY)
    _check(db, library, people, "supervision_sessions", "supervision", "supervision", "supervision-hours", eid,
           UNCONFIRMED, "0 of", "1.5 of")


def test_case_confirmation_reaches_readiness(db, library, people):
    t = people["trainee"]
    cid = evidence.record_case(db, t, t.id, "Case A", "grief", "2025-10-01", "2026-01-10", 16, today=TODAY)
    ev = evidence.build_evidence(db, library, t.id, TODAY)
    assert [c.confirmed for c in ev.cases] == [False]
    refs, _ = _refs(library, ev, "case", cid)
    assert ("supervised-cases", False, UNCONFIRMED) in refs and not any(counted for _, counted, _ in refs)
    assert evidence.confirm_entry(db, people["sup"], "clinical_cases", cid) is True
    ev = evidence.build_evidence(db, library, t.id, TODAY)
    assert [c.confirmed for c in ev.cases] == [True]
    refs, _ = _refs(library, ev, "case", cid)
    assert refs and not [r for r in refs if r[2] == UNCONFIRMED]
