"""Issue 14, decisions: no double recording, held credentials shown as held in every readiness
view, renewal on the renewal requirements, readiness opening on the person's own role, and
agreement with the calibration page on rater certification."""

from __future__ import annotations

import datetime as _dt
import io
from contextlib import redirect_stdout

import pytest

from ipt_training import auth, credentials
from ipt_training.credentials import evidence
from ipt_training.credentials.command import cli_readiness
from ipt_training.credentials.readiness import ClinicalHours, Evidence, HeldCredential, SupervisionSession, \
    TrainingEvent
from ipt_training.reliability import calibration
from ipt_training.store import rows

from apphelp import app_as, texts
from pdfhelp import pdf_text

THERAPIST, RATER, SUPERVISOR = "ipt-therapist-example", "fidelity-rater-example", "ipt-supervisor-example"
TODAY = _dt.date.today()


def _award_rosa(db, library) -> int:
    rosa, admin = auth.find_user(db, "trainee.ready"), auth.find_user(db, "admin")
    return credentials.record_decision(db, admin, rosa.id, library.standards[THERAPIST], "award", "", TODAY,
                                       library=library)


# --- decisions ---------------------------------------------------------------------------------


def test_double_submit_of_a_decision_records_it_once(demo_db, library):
    first = _award_rosa(demo_db, library)
    again = _award_rosa(demo_db, library)  # the second click of "Record decision"
    rosa = auth.find_user(demo_db, "trainee.ready")
    assert again == first
    assert [d["id"] for d in credentials.decisions_for(demo_db, rosa.id, THERAPIST)] == [first]
    assert credentials.decisions_for(demo_db, rosa.id, THERAPIST, today=TODAY)[0]["state"].startswith("valid until")
    assert len(rows(demo_db, "SELECT id FROM audit_log WHERE action = 'credential_award' AND object_id = ?",
                    (str(first),))) == 1


def test_double_submit_of_a_deferral_records_it_once(db, library):
    t = auth.create_user(db, "tina", "Lichen-Ferry-Atlas-58", ["trainee"], "Tina")
    admin = auth.create_user(db, "ada", "Lichen-Ferry-Atlas-58", ["admin"], "Ada")
    std = library.standards[THERAPIST]
    a = credentials.record_decision(db, admin, t.id, std, "defer", "More cases.", TODAY, library=library)
    assert credentials.record_decision(db, admin, t.id, std, "defer", "More cases.", TODAY, library=library) == a
    # new evidence makes it a new decision
    evidence.record_clinical_hours(db, t, t.id, TODAY - _dt.timedelta(days=3), 4, "Clinic", today=TODAY)
    b = credentials.record_decision(db, admin, t.id, std, "defer", "More cases.", TODAY, library=library)
    assert b != a and len(credentials.decisions_for(db, t.id, THERAPIST)) == 2


# --- held credentials in every readiness view ----------------------------------------------------


def test_an_awarded_person_is_held_not_ready_for_review_in_the_cohort(demo_db, library):
    before = credentials.cohort_readiness(demo_db, library, THERAPIST, None, TODAY)
    assert before[0]["username"] == "trainee.ready" and before[0]["status"] == "ready for review"
    award = _award_rosa(demo_db, library)
    after = {r["username"]: r for r in credentials.cohort_readiness(demo_db, library, THERAPIST, None, TODAY)}
    rosa = after["trainee.ready"]
    assert rosa["status"] == "held" and rosa["holding"]["decision_id"] == award
    assert rosa["holding"]["certified_on"] == TODAY.isoformat()
    expires = credentials.add_months(TODAY, 36)
    assert rosa["holding"]["valid_until"] == expires.isoformat()
    assert rosa["holding"]["renewal_due"] == (expires - _dt.timedelta(days=90)).isoformat()
    assert all(r["status"] != "ready for review" for r in after.values())
    # held rows sort after every candidate
    order = [r["username"] for r in credentials.cohort_readiness(demo_db, library, THERAPIST, None, TODAY)]
    assert order.index("trainee.ready") > order.index("trainee")
    table = credentials.cohort_table(list(after.values()))
    assert "valid until" in table.loc[table["username"] == "trainee.ready", "held"].iloc[0]


def test_supervisor_holding_the_therapist_award_sees_renewal_not_initial_hours(demo_db, library):
    sam = auth.find_user(demo_db, "supervisor")
    res = {r["standard"].id: r for r in credentials.my_readiness(demo_db, library, sam, sam.id, TODAY)}
    mine = res[THERAPIST]
    std = library.standards[THERAPIST]
    assert mine["holding"] is not None
    assert mine["status"] == "renewal due"  # the demo award expires within 90 days
    assert [q.requirement_id for q in mine["readiness"].requirements] == [q.id for q in std.renewal_requirements]
    assert not any("150" in step for step in mine["next_steps"])
    assert not any(q.requirement_id == "supervised-clinical-hours" for q in mine["readiness"].requirements)


def test_renewal_counts_only_evidence_since_the_award():
    std_days = _dt.date(2026, 1, 1)
    ev = Evidence(
        training_events=(TrainingEvent("1", _dt.date(2025, 6, 1), 20, "Old course", "T", True),
                         TrainingEvent("2", _dt.date(2026, 3, 1), 5, "New course", "T", True)),
        clinical_hours=(ClinicalHours("1", _dt.date(2025, 1, 1), 300, True),),
        supervision=(SupervisionSession("1", _dt.date(2026, 2, 1), 2, "S", None, True),),
        credentials_held=(HeldCredential(THERAPIST, std_days, _dt.date(2029, 1, 1), "7"),))
    since = credentials.evidence_since(ev, std_days)
    assert [e.id for e in since.training_events] == ["2"] and since.clinical_hours == ()
    assert since.credentials_held == ev.credentials_held


def test_holding_phases_and_renewal_readiness(library):
    std = library.standards[THERAPIST]
    award = _dt.date(2026, 1, 1)
    expires = credentials.add_months(award, std.validity_months)
    ev = Evidence(training_events=(TrainingEvent("1", _dt.date(2026, 5, 1), 12, "Continuing IPT", "T", True),),
                  supervision=(SupervisionSession("1", _dt.date(2026, 6, 1), 6, "S", None, True),),
                  credentials_held=(HeldCredential(THERAPIST, award, expires, "3"),))
    r, h, status = credentials.assess(std, ev, _dt.date(2027, 1, 1))
    assert (h.phase, status) == ("held", "held") and h.decision_id == "3"
    due = expires - _dt.timedelta(days=std.renewal_window_days)
    r, h, status = credentials.assess(std, ev, due)
    assert r.ready and status == "ready for renewal review" and h.renewal_due == due
    r, h, status = credentials.assess(std, ev, expires + _dt.timedelta(days=1))
    assert h.phase == "expired" and status == "ready for renewal review"
    thin = Evidence(credentials_held=ev.credentials_held)
    assert credentials.assess(std, thin, due)[2] == "renewal due"
    assert credentials.assess(std, thin, expires + _dt.timedelta(days=1))[2] == "expired"


def test_held_credentials_show_in_pdf_and_cli(demo_db, demo_db_path, library):
    award = _award_rosa(demo_db, library)
    rosa = auth.find_user(demo_db, "trainee.ready")
    text = pdf_text(credentials.readiness_pdf(demo_db, library, rosa.id, library.standards[THERAPIST], TODAY))
    assert f"award {award}" in text and "Status: held" in text
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli_readiness(["--standard", THERAPIST, "--db", str(demo_db_path)]) == 0
    line = next(x for x in out.getvalue().splitlines() if x.startswith("Rosa Ready (trainee.ready):"))
    assert line.startswith("Rosa Ready (trainee.ready): held (held: certified on")


def test_review_page_lists_holders_apart_and_my_readiness_says_held(app_demo, library):
    import streamlit as st
    from ipt_training.store import open_store

    db = open_store(app_demo)
    _award_rosa(db, library)
    admin, rosa = auth.find_user(db, "admin"), auth.find_user(db, "trainee.ready")
    at = app_as(admin.id, "credential_review.py", timeout=90)
    assert not at.exception
    cohort = next(d.value for d in at.dataframe if "latest decision" in d.value.columns)
    assert "Rosa Ready" not in set(cohort["trainee"])
    held = next(d.value for d in at.dataframe if "held" in d.value.columns)
    assert "Rosa Ready" in set(held["trainee"]) and set(held["status"]) <= {"held", "renewal due", "expired",
                                                                             "ready for renewal review"}
    st.cache_resource.clear()
    at = app_as(rosa.id, "my_readiness.py", timeout=90)
    assert not at.exception
    page = texts(at)
    assert "Held" in page and "renewal due from" in page


# --- the person's own role, and agreement with the calibration page ------------------------------


@pytest.mark.parametrize("username, standard", [("rater", RATER), ("rater2", RATER), ("supervisor", SUPERVISOR),
                                                ("trainee", THERAPIST)])
def test_readiness_opens_on_the_standard_of_the_persons_role(demo_db, library, username, standard):
    assert credentials.default_standard_id(library, auth.find_user(demo_db, username)) == standard


def test_my_readiness_page_opens_on_the_rater_standard_for_a_rater(app_demo):
    from ipt_training.store import open_store

    ravi = auth.find_user(open_store(app_demo), "rater")
    at = app_as(ravi.id, "my_readiness.py", timeout=90)
    assert not at.exception
    assert at.selectbox(key="mr_standard").value == RATER


@pytest.mark.parametrize("username", ["rater", "rater2", "supervisor"])
def test_readiness_agrees_with_the_calibration_page_on_certification(demo_db, library, username):
    person = auth.find_user(demo_db, username)
    cert = calibration.certification(demo_db, library, person.id, TODAY)
    for r in credentials.my_readiness(demo_db, library, person, person.id, TODAY):
        for q in r["readiness"].requirements:
            if q.type == "rater_calibration":
                assert q.met == bool(cert["certified"]), (r["standard"].id, q.requirement_id)
                assert q.current == ("certified" if cert["certified"] else "not certified")
