"""Credential review (issue 6): append-only decisions, expiry, certificates, renewal reminders,
cohort readiness on the demo data, the ``readiness`` CLI, and the review journey in the app."""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import re
import sqlite3

import pytest

from ipt_training import auth
from ipt_training.credentials import evidence
from ipt_training import credentials
from ipt_training.store import open_store, rows

from apphelp import app_as, texts, shown
from pdfhelp import pdf_text

TODAY = _dt.date(2026, 6, 1)
THERAPIST = "ipt-therapist-example"


@pytest.fixture
def people(db):
    mk = lambda name, roles: auth.create_user(db, name, "Lichen-Ferry-Atlas-58", roles, name.title())  # noqa: E731
    return {"trainee": mk("tina", ["trainee"]), "other": mk("otto", ["trainee"]), "admin": mk("ada", ["admin"]),
            "admin2": mk("abe", ["admin", "trainee"]), "sup": mk("sven", ["supervisor"])}


_pdf_text = pdf_text  # the PDF's text layer (pypdf)


# --- decisions ---------------------------------------------------------------------------


def test_decisions_are_append_only_and_a_new_decision_follows(db, library, people):
    std = library.standards[THERAPIST]
    t, admin = people["trainee"], people["admin"]
    did = credentials.record_decision(db, admin, t.id, std, "award", "Exceptional route: evidence on paper.", TODAY,
                                 library=library)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.conn.execute("UPDATE credential_decisions SET decision = 'refuse' WHERE id = ?", (did,))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.conn.execute("UPDATE credential_decisions SET expires_on = '2099-01-01' WHERE id = ?", (did,))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.conn.execute("DELETE FROM credential_decisions WHERE id = ?", (did,))
    assert rows(db, "SELECT decision, expires_on FROM credential_decisions") == [
        {"decision": "award", "expires_on": "2029-06-01"}]

    with pytest.raises(credentials.ConfirmationNeeded, match=f"withdraws award {did} ") as asked:
        credentials.record_decision(db, admin, t.id, std, "refuse", "Awarded in error: cases not confirmed.", TODAY,
                                    library=library)
    assert asked.value.supersedes == did
    later = credentials.record_decision(db, admin, t.id, std, "refuse", "Awarded in error: cases not confirmed.", TODAY,
                                        library=library, supersedes=asked.value.supersedes)
    log = credentials.decisions_for(db, t.id, THERAPIST, today=TODAY)
    assert [d["id"] for d in log] == [later, did]
    # the withdrawn award's signed credential is revoked with the refusal (issue 14)
    assert log[1]["state"] == "revoked" and log[0]["state"] == ""
    assert log[0]["reviewer"] == "Ada" and log[0]["standard_version"] == std.version
    assert credentials.awards_held(db, t.id, TODAY) == []
    assert [r["action"] for r in rows(db, "SELECT action FROM audit_log WHERE action LIKE 'credential_%' ORDER BY id")] == [
        "credential_award", "credential_issued", "credential_refuse", "credential_revoked"]


def test_decision_stores_reviewer_version_hash_and_snapshot(db, library, people):
    std = library.standards[THERAPIST]
    t = people["trainee"]
    evidence.record_clinical_hours(db, t, t.id, "2026-01-10", 20, "Clinic", today=TODAY)
    did = credentials.record_decision(db, people["admin"], t.id, std, "defer", "Log and confirm more clinical hours.", TODAY,
                                 library=library)
    row = rows(db, "SELECT * FROM credential_decisions WHERE id = ?", (did,))[0]
    assert row["reviewer_id"] == people["admin"].id and row["expires_on"] is None
    assert row["standard_version"] == std.version and row["standard_hash"] == std.content_hash and len(std.content_hash) == 64
    snap = json.loads(row["evidence_snapshot"])
    assert snap["standard"]["content_hash"] == std.content_hash and snap["evaluated_on"] == "2026-06-01"
    assert snap["readiness"]["status"] == "in progress" and snap["readiness"]["total"] == len(std.requirements)
    assert [h["hours"] for h in snap["evidence"]["clinical_hours"]] == [20.0]
    assert snap["evidence"]["clinical_hours"][0]["confirmed"] is False
    assert credentials.decision_snapshot(db, did) == snap


def test_decision_rules(db, library, people):
    std = library.standards[THERAPIST]
    t = people["trainee"]
    with pytest.raises(credentials.ReviewError, match="administrator"):
        credentials.record_decision(db, people["sup"], t.id, std, "award", "", TODAY, library=library)
    for decision in ("defer", "refuse"):
        with pytest.raises(credentials.ReviewError, match="reasons"):
            credentials.record_decision(db, people["admin"], t.id, std, decision, "  ", TODAY, library=library)
    with pytest.raises(credentials.ReviewError, match="not met yet"):
        credentials.record_decision(db, people["admin"], t.id, std, "award", "", TODAY, library=library)
    with pytest.raises(credentials.ReviewError, match="your own credential"):
        credentials.record_decision(db, people["admin2"], people["admin2"].id, std, "award", "x", TODAY, library=library)
    with pytest.raises(credentials.ReviewError, match="award, defer or refuse"):
        credentials.record_decision(db, people["admin"], t.id, std, "revoke", "x", TODAY, library=library)
    assert rows(db, "SELECT id FROM credential_decisions") == []


@pytest.mark.parametrize("day,months,expected", [
    ("2026-06-01", 36, "2029-06-01"), ("2026-01-31", 1, "2026-02-28"), ("2027-12-31", 2, "2028-02-29"),
    ("2026-11-15", -36, "2023-11-15"),
])
def test_add_months(day, months, expected):
    assert credentials.add_months(_dt.date.fromisoformat(day), months).isoformat() == expected


# --- certificates and renewals -------------------------------------------------------------


def test_certificate_only_for_an_award_in_force(db, library, people):
    std = library.standards[THERAPIST]
    t, admin = people["trainee"], people["admin"]
    defer = credentials.record_decision(db, admin, t.id, std, "defer", "More cases needed.", TODAY, library=library)
    with pytest.raises(credentials.ReviewError, match="only for an award"):
        credentials.certificate_pdf(db, defer, TODAY)
    award = credentials.record_decision(db, admin, t.id, std, "award", "Accepted on the paper portfolio.", TODAY,
                                   library=library)
    pdf = credentials.certificate_pdf(db, award, TODAY, viewer=t)
    assert pdf.startswith(b"%PDF")
    text = _pdf_text(pdf)
    for part in ("Tina", std.issuing_body, std.version, "2026-06-01", "2029-06-01", f"Decision id"):
        assert part in text, part
    with pytest.raises(credentials.ReviewError, match="Only the holder"):
        credentials.certificate_pdf(db, award, TODAY, viewer=people["other"])
    with pytest.raises(credentials.ReviewError, match="expired on 2029-06-01"):
        credentials.certificate_pdf(db, award, _dt.date(2029, 6, 2))
    # a second submission of the same award is the same decision (issue 14: no double recording)
    assert credentials.record_decision(db, admin, t.id, std, "award", "Accepted on the paper portfolio.", TODAY,
                                       library=library) == award
    assert len(credentials.decisions_for(db, t.id, THERAPIST)) == 2
    # on new evidence, awarding a credential held and not yet due for renewal is refused with a sentence
    evidence.record_clinical_hours(db, t, t.id, "2026-05-10", 5, "Clinic", today=TODAY)
    with pytest.raises(credentials.ReviewError, match="already holds .* renewal can be recorded from 2029-03-03"):
        credentials.record_decision(db, admin, t.id, std, "award", "Renewed.", TODAY, library=library)
    with pytest.raises(credentials.ConfirmationNeeded, match=f"renewal replaces award {award} "):
        credentials.record_decision(db, admin, t.id, std, "award", "Renewed.", _dt.date(2029, 4, 1), library=library)
    due = _dt.date(2029, 4, 1)
    renewed = credentials.record_decision(db, admin, t.id, std, "award", "Renewed.", due, library=library,
                                          supersedes=award)
    with pytest.raises(credentials.ReviewError, match="superseded"):
        credentials.certificate_pdf(db, award, due)
    assert credentials.certificate_pdf(db, renewed, due).startswith(b"%PDF")


def test_readiness_pdf_lists_requirements_and_decisions(db, library, people):
    std = library.standards[THERAPIST]
    t = people["trainee"]
    credentials.record_decision(db, people["admin"], t.id, std, "defer", "Log your cases.", TODAY, library=library)
    text = _pdf_text(credentials.readiness_pdf(db, library, t.id, std, TODAY))
    for req in std.requirements:
        assert req.id in text
    assert "Log your cases." in text and "in progress" in text
    with pytest.raises(credentials.ReviewError):
        credentials.readiness_pdf(db, library, t.id, std, TODAY, viewer=people["other"])


def test_renewal_reminders(db, library, people):
    std = library.standards[THERAPIST]
    t, o, admin = people["trainee"], people["other"], people["admin"]
    soon = credentials.add_months(TODAY, -36) + _dt.timedelta(days=30)   # expires TODAY + 30 days
    past = credentials.add_months(TODAY, -37)                             # expired a month ago
    a = credentials.record_decision(db, admin, t.id, std, "award", "Paper records.", soon, library=library)
    b = credentials.record_decision(db, admin, o.id, std, "award", "Paper records.", past, library=library)
    got = credentials.renewal_reminders(db, library, TODAY, within_days=90)
    assert [(r["decision_id"], r["days_left"]) for r in got] == [(b, -31), (a, 30)]
    assert got[0]["status"] == "expired 31 day(s) ago" and got[1]["status"] == "expires in 30 day(s)"
    assert [r["decision_id"] for r in credentials.renewal_reminders(db, library, TODAY, within_days=10)] == [b]
    # renewing (a new award) or refusing takes a person off the list
    credentials.record_decision(db, admin, t.id, std, "award", "Renewed.", TODAY, library=library, supersedes=a)
    # an expired award is no longer in force: refusing it supersedes nothing, so no confirmation is asked
    credentials.record_decision(db, admin, o.id, std, "refuse", "Lapsed; apply again.", TODAY, library=library)
    assert credentials.renewal_reminders(db, library, TODAY, within_days=90) == []


# --- demo data, cohort table, CLI --------------------------------------------------------------


def test_demo_gives_ready_nearly_ready_and_in_progress(demo_db, library):
    got = credentials.cohort_readiness(demo_db, library, THERAPIST, None, _dt.date.today())
    status = {r["username"]: r["status"] for r in got}
    assert status["trainee.ready"] == "ready for review"
    assert status["trainee.near"] == "nearly ready"
    assert status["trainee"] == "in progress"
    order = [credentials.STATUS_ORDER[r["status"]] for r in got]
    assert order == sorted(order) and got[0]["username"] == "trainee.ready"
    near = next(r for r in got if r["username"] == "trainee.near")
    unmet = [q.requirement_id for q in near["readiness"].requirements if not q.met]
    assert unmet == ["supervised-cases", "rated-sessions", "vignette-mastery", "case-reports"]
    assert near["latest_decision"].startswith("defer")
    table = list(csv.DictReader(io.StringIO(credentials.cohort_csv(got).decode("utf-8"))))
    assert [r["username"] for r in table] == [r["username"] for r in got]
    assert table[0]["supervised-cases"].startswith("met") and "status" in table[0]
    # the demo's renewal reminder: the supervisor's therapist credential expires within 90 days
    assert [r["username"] for r in credentials.renewal_reminders(demo_db, library, _dt.date.today())] == ["supervisor"]


def test_cohort_filter_and_supervisor_view(demo_db, library):
    today = _dt.date.today()
    cohort = credentials.cohort_id_by_name(demo_db, "demo cohort 2026")
    assert {r["username"] for r in credentials.cohort_readiness(demo_db, library, THERAPIST, cohort, today)} == {
        "trainee", "trainee.ready", "trainee.near"}
    with pytest.raises(credentials.ReviewError, match="Unknown cohort"):
        credentials.cohort_id_by_name(demo_db, "No such cohort")
    with pytest.raises(credentials.ReviewError, match="Unknown credential standard"):
        credentials.cohort_readiness(demo_db, library, "nope", None, today)
    rater = auth.find_user(demo_db, "rater")
    assert credentials.cohort_readiness(demo_db, library, THERAPIST, None, today, viewer=rater) == []
    sup = auth.find_user(demo_db, "supervisor")
    assert len(credentials.supervisee_readiness(demo_db, library, sup, THERAPIST, today)) == 3


def test_cli_readiness_formats(demo_db_path, capsys):
    assert credentials.cli_readiness(["--db", str(demo_db_path), "--standard", THERAPIST]) == 0
    out = capsys.readouterr().out
    assert "Rosa Ready" in out and "ready for review" in out and "[x] supervised-cases" in out
    assert out.index("Rosa Ready") < out.index("Nico Nearly") < out.index("Tara Trainee")

    assert credentials.cli_readiness(["--db", str(demo_db_path), "--standard", THERAPIST, "--format", "csv",
                                 "--cohort", "Demo cohort 2026"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["username"], r["status"]) for r in table] == [
        ("trainee.ready", "ready for review"), ("trainee.near", "nearly ready"), ("trainee", "in progress")]

    assert credentials.cli_readiness(["--db", str(demo_db_path), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {d["standard_id"] for d in data} == {"ipt-therapist-example", "ipt-supervisor-example", "fidelity-rater-example"}
    rosa = next(d for d in data if d["username"] == "trainee.ready" and d["standard_id"] == THERAPIST)
    assert rosa["readiness"]["ready"] is True and rosa["readiness"]["status"] == "ready for review"
    assert len(rosa["readiness"]["requirements"]) == 9


@pytest.mark.parametrize("argv,message", [
    (["--standard", "no-such-standard"], "Unknown credential standard 'no-such-standard'"),
    (["--cohort", "Nobody"], "Unknown cohort 'Nobody'"),
    (["--format", "xml"], "invalid choice"),
    (["--date", "June"], "--date"),
])
def test_cli_readiness_bad_input_exits_2(demo_db_path, capsys, argv, message):
    assert credentials.cli_readiness(["--db", str(demo_db_path)] + argv) == 2
    err = capsys.readouterr().err
    assert message in err
    if "--format" not in argv:
        assert len(err.strip().splitlines()) == 1


def test_cli_is_reachable_through_the_main_command(demo_db_path, capsys):
    from ipt_training.cli import main

    assert main(["readiness", "--standard", "no-such-standard"]) == 2
    assert main(["readiness", "--standard", THERAPIST, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)


# --- the review journey in the app ---------------------------------------------------------


def _frame_with(at, column: str):
    """The first table on the page with this column (tables without selection carry no key in AppTest)."""
    return next(df.value for df in at.dataframe if column in df.value.columns)


def _downloads(at) -> list[str]:
    return [b.label for b in at.get("download_button")]


def test_review_journey_award_certificate_and_trainee_sees_it(app_demo):
    db = open_store(app_demo)
    admin, rosa = auth.find_user(db, "admin"), auth.find_user(db, "trainee.ready")

    at = app_as(admin.id, "credential_review.py", timeout=60)
    assert not at.exception
    shown = texts(at)
    assert "Rosa Ready" in shown and "ready for review" in shown and "Renewal reminders" in shown
    assert "Download the cohort as CSV" in _downloads(at)
    at.selectbox(key="cr_trainee").select(rosa.id).run()
    assert not at.exception
    assert "Readiness report (PDF)" in _downloads(at)
    assert not any(label.startswith("Certificate") for label in _downloads(at))
    assert any("Evidence: " in e.label for e in at.expander)
    at.radio(key="cr_decision_0").set_value("award")
    at.button(key="cr_decide").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    shown = texts(at)
    assert "recorded: award for Rosa Ready" in shown
    log = _frame_with(at, "reviewer")
    assert list(log["decision"]) == ["award"] and log["reviewer"].iloc[0] == "Ada Admin"
    assert log["version"].iloc[0] == "1.0-example" and log["state"].iloc[0].startswith("valid until")
    certs = [label for label in _downloads(at) if label.startswith("Certificate for award")]
    assert len(certs) == 1
    decision = rows(db, "SELECT * FROM credential_decisions WHERE trainee_id = ?", (rosa.id,))
    assert [d["decision"] for d in decision] == ["award"] and decision[0]["reviewer_id"] == admin.id

    at = app_as(rosa.id, "my_readiness.py", timeout=60)
    assert not at.exception
    assert any("Awarded: IPT therapist" in s.value for s in at.success)
    assert "Download certificate" in _downloads(at)
    assert "award" in list(_frame_with(at, "reviewer")["decision"])


def test_review_page_refuses_a_deferral_without_reasons(app_demo):
    db = open_store(app_demo)
    admin, tara = auth.find_user(db, "admin"), auth.find_user(db, "trainee")
    at = app_as(admin.id, "credential_review.py", timeout=60)
    at.selectbox(key="cr_trainee").select(tara.id).run()
    at.radio(key="cr_decision_0").set_value("defer")
    at.button(key="cr_decide").click().run()
    assert not at.exception
    assert any("reasons" in e.value for e in at.error)
    assert rows(db, "SELECT id FROM credential_decisions WHERE trainee_id = ?", (tara.id,)) == []


def test_trainee_logs_evidence_and_supervisor_confirms(app_demo):
    db = open_store(app_demo)
    tara, sup = auth.find_user(db, "trainee"), auth.find_user(db, "supervisor")
    at = app_as(tara.id, "my_evidence.py", timeout=60)
    assert not at.exception
    assert "awaiting supervisor confirmation" in texts(at)
    at.text_input(key="ev_t_title_0").input("IPT refresher")
    at.text_input(key="ev_t_trainer_0").input("Dr Example")
    at.number_input(key="ev_t_hours_0").set_value(3.0)
    at.button(key="ev_t_submit_0").click().run()
    assert not at.exception and not at.error
    assert any("Training event saved: IPT refresher" in shown(s.value) for s in at.success)
    new = rows(db, "SELECT id, confirmed_by FROM training_events WHERE trainee_id = ? AND title = 'IPT refresher'",
               (tara.id,))
    assert len(new) == 1 and new[0]["confirmed_by"] is None

    at = app_as(sup.id, "supervisees.py", timeout=60)
    assert not at.exception
    at.selectbox(key="sv_trainee").select(tara.id).run()
    at.button(key=f"sv_confirm_training_events_{new[0]['id']}").click().run()
    assert not at.exception
    assert rows(db, "SELECT confirmed_by FROM training_events WHERE id = ?", (new[0]["id"],))[0]["confirmed_by"] == sup.id


def _rated_refs(rows_or_readiness):
    refs = []
    for req in rows_or_readiness.requirements:
        refs += [e.id for e in req.evidence + req.not_counted if e.kind == "rated_session"]
    return set(refs)


def test_readiness_views_respect_the_blind_rule(demo_db, library):
    """A supervisor assigned as second rater, and a trainee before self-rating, see no score
    of that session in any readiness view until they submit their own rating."""
    from ipt_training import fidelity
    from ipt_training.credentials.review import my_readiness, supervisee_readiness

    today = _dt.date.today()
    admin, sup = auth.find_user(demo_db, "admin"), auth.find_user(demo_db, "supervisor")
    rosa = auth.find_user(demo_db, "trainee.ready")
    rows_ = supervisee_readiness(demo_db, library, sup, "ipt-therapist-example", today)
    before = _rated_refs(next(r for r in rows_ if r["trainee_id"] == rosa.id)["readiness"])
    assert before, "the demo gives Rosa rated sessions"
    target = int(sorted(before)[0])
    fidelity.assign(demo_db, admin, target, sup.id, None, "second_rating")
    rows_ = supervisee_readiness(demo_db, library, sup, "ipt-therapist-example", today)
    blind = _rated_refs(next(r for r in rows_ if r["trainee_id"] == rosa.id)["readiness"])
    assert str(target) not in blind and blind == before - {str(target)}
    # the trainee herself: a session she has not self-rated shows no rater result
    mine = next(r for r in my_readiness(demo_db, library, rosa, rosa.id, today)
                if r["standard"].id == "ipt-therapist-example")["readiness"]
    unrated_by_self = fidelity.blind_session_ids(demo_db, rosa)
    assert not (_rated_refs(mine) & {str(s) for s in unrated_by_self})


def test_the_cohort_is_searched_and_the_review_offers_the_rows_shown(app_demo):
    """Issue 16: the cohort table is searched and shown a page at a time, and the person picker
    offers the people shown (10,000 are never all sent to the browser)."""
    db = open_store(app_demo)
    admin, rosa = auth.find_user(db, "admin"), auth.find_user(db, "trainee.ready")
    at = app_as(admin.id, "credential_review.py", timeout=60)
    everyone = list(_frame_with(at, "progress %")["trainee"])
    assert "Rosa Ready" in everyone and len(everyone) > 1
    at.text_input(key="cr_find").set_value("rosa ready").run()
    assert not at.exception
    assert list(_frame_with(at, "progress %")["trainee"]) == ["Rosa Ready"]
    assert at.selectbox(key="cr_trainee").options == ["Rosa Ready (trainee.ready): ready for review"]
    at.selectbox(key="cr_trainee").select(rosa.id).run()
    at.text_input(key="cr_find").set_value("no such person").run()
    assert not at.exception
    assert "No candidate matches this search." in texts(at)
    assert at.selectbox(key="cr_trainee").value == rosa.id  # the person under review stays open
