"""Credential evidence in the store (issue 6): logging, confirmation, certificates, and
``build_evidence`` assembling what the readiness engine reads."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib

import pytest

from ipt_training import auth
from ipt_training.credentials import evidence
from ipt_training.config import get_settings
from ipt_training.credentials.review import record_decision
from ipt_training.credentials import evaluate
from ipt_training.store import now_iso, one, rows

TODAY = _dt.date(2026, 6, 1)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
THERAPIST = "ipt-therapist-example"


@pytest.fixture
def people(db):
    mk = lambda name, roles: auth.create_user(db, name, "Lichen-Ferry-Atlas-58", roles, name.title())  # noqa: E731
    p = {"trainee": mk("tina", ["trainee"]), "other": mk("otto", ["trainee"]), "sup": mk("sven", ["supervisor", "rater"]),
         "sup2": mk("sara", ["supervisor"]), "admin": mk("ada", ["admin"]), "rater": mk("rolf", ["rater"])}
    auth.link_supervisor(db, p["sup"].id, p["trainee"].id, p["admin"].id)
    auth.link_supervisor(db, p["sup2"].id, p["other"].id, p["admin"].id)
    return p


@pytest.fixture
def settings(tmp_path):
    return dataclasses.replace(get_settings(), data_dir=tmp_path / "data")


def _req(library, ev, req_id, standard=THERAPIST, **kw):
    r = evaluate(library.standards[standard], ev, TODAY, **kw)
    return next(q for q in r.requirements if q.requirement_id == req_id)


# --- confirmation --------------------------------------------------------------------------


def test_unconfirmed_entries_are_listed_but_not_counted(db, library, settings, people):
    t, sup = people["trainee"], people["sup"]
    a = evidence.record_training_event(db, settings, t, t.id, "2026-03-01", 8, "IPT course day 1", "Dr T", today=TODAY,
                                       category="introductory")
    b = evidence.record_training_event(db, settings, t, t.id, "2026-03-02", 8, "IPT course day 2", "Dr T", today=TODAY,
                                       category="introductory")
    ev = evidence.build_evidence(db, library, t.id, TODAY)
    assert [e.confirmed for e in ev.training_events] == [False, False]
    req = _req(library, ev, "intro-training")
    assert not req.met and req.current == "0 of 16 hours"
    assert {n.reason for n in req.not_counted} == {"unconfirmed by supervisor"}
    listed = evidence.list_entries(db, t, t.id)["training_events"]
    assert {e["status"] for e in listed} == {evidence.AWAITING}

    assert evidence.confirm_entry(db, sup, "training_events", a) is True
    assert not _req(library, evidence.build_evidence(db, library, t.id, TODAY), "intro-training").met
    assert evidence.confirm_entry(db, sup, "training_events", b) is True
    assert evidence.confirm_entry(db, sup, "training_events", b) is False  # already confirmed: nothing changes
    req = _req(library, evidence.build_evidence(db, library, t.id, TODAY), "intro-training")
    assert req.met and req.current == "16 of 16 hours"
    logged = rows(db, "SELECT actor_id, object_id FROM audit_log WHERE action = 'confirm_evidence'")
    assert [(r["actor_id"], r["object_id"]) for r in logged] == [(sup.id, str(a)), (sup.id, str(b))]
    assert evidence.list_entries(db, t, t.id)["training_events"][0]["status"].startswith("confirmed by Sven")


def test_confirmation_only_by_linked_supervisor_or_admin(db, settings, people):
    t = people["trainee"]
    hid = evidence.record_clinical_hours(db, t, t.id, "2026-01-10", 20, "Clinic", today=TODAY)
    for who in ("sup2", "rater", "other", "trainee"):  # unlinked supervisor, rater, another trainee, self
        with pytest.raises(evidence.EvidenceError):
            evidence.confirm_entry(db, people[who], "clinical_hours", hid)
    assert one(db, "SELECT confirmed_by FROM clinical_hours WHERE id = ?", (hid,))["confirmed_by"] is None
    assert evidence.confirm_entry(db, people["admin"], "clinical_hours", hid)
    assert one(db, "SELECT confirmed_by FROM clinical_hours WHERE id = ?", (hid,))["confirmed_by"] == people["admin"].id


def test_changing_a_confirmed_case_sends_it_back_for_confirmation(db, library, people):
    t, sup = people["trainee"], people["sup"]
    cid = evidence.record_case(db, t, t.id, "Case A", "grief", "2026-01-05", None, 4,
                               [(1, "phq-9", 18), (4, "PHQ9", 15)], today=TODAY)
    assert [s[1] for s in evidence.build_evidence(db, library, t.id, TODAY).cases[0].symptom_scores] == ["PHQ-9", "PHQ-9"]
    evidence.confirm_entry(db, sup, "clinical_cases", cid)
    assert evidence.build_evidence(db, library, t.id, TODAY).cases[0].confirmed
    evidence.update_case(db, t, cid, n_sessions=8, add_scores=[(8, "PHQ-9", 9)], today=TODAY)
    case = evidence.build_evidence(db, library, t.id, TODAY).cases[0]
    assert case.n_sessions == 8 and not case.confirmed and (8, "PHQ-9", 9.0) in case.symptom_scores
    with pytest.raises(evidence.EvidenceError, match="fewer sessions"):
        evidence.update_case(db, t, cid, n_sessions=5, today=TODAY)


def test_invalid_entries_are_refused_with_a_sentence(db, settings, people):
    t = people["trainee"]
    with pytest.raises(evidence.EvidenceError, match="in the future"):
        evidence.record_clinical_hours(db, t, t.id, "2026-06-02", 5, today=TODAY)
    with pytest.raises(evidence.EvidenceError, match="more than 0"):
        evidence.record_supervision(db, t, t.id, "Dr S", "2026-05-01", 0, today=TODAY)
    with pytest.raises(evidence.EvidenceError, match="between 0 and 27"):
        evidence.record_case(db, t, t.id, "Case B", "role_dispute", "2026-01-01", None, 6, [(2, "PHQ-9", 30)], today=TODAY)
    with pytest.raises(evidence.EvidenceError, match="has 3 session"):
        evidence.record_case(db, t, t.id, "Case B", "role_dispute", "2026-01-01", None, 3, [(5, "PHQ-9", 10)], today=TODAY)
    with pytest.raises(evidence.EvidenceError, match="problem area"):
        evidence.record_case(db, t, t.id, "Case B", "loneliness", "2026-01-01", today=TODAY)
    evidence.record_case(db, t, t.id, "Case B", "role_dispute", "2026-01-01", today=TODAY)
    with pytest.raises(evidence.EvidenceError, match="already logged"):
        evidence.record_case(db, t, t.id, "case b", "grief", "2026-01-01", today=TODAY)
    with pytest.raises(evidence.EvidenceError, match="only for yourself"):
        evidence.record_clinical_hours(db, people["other"], t.id, "2026-01-01", 5, today=TODAY)
    with pytest.raises(evidence.EvidenceError, match="own cases"):
        other_case = evidence.record_case(db, people["other"], people["other"].id, "Case O", "grief", "2026-01-01",
                                          today=TODAY)
        evidence.record_supervision(db, t, t.id, "Dr S", "2026-05-01", 1, other_case, today=TODAY)


def test_evidence_is_visible_only_to_trainee_their_supervisor_and_admin(db, people):
    t = people["trainee"]
    evidence.record_clinical_hours(db, t, t.id, "2026-01-10", 20, today=TODAY)
    for who in ("trainee", "sup", "admin"):
        assert len(evidence.list_entries(db, people[who], t.id)["clinical_hours"]) == 1
    for who in ("other", "sup2", "rater"):
        with pytest.raises(evidence.EvidenceError):
            evidence.list_entries(db, people[who], t.id)


def test_confirmed_entries_cannot_be_removed_by_the_trainee(db, people):
    t = people["trainee"]
    a = evidence.record_clinical_hours(db, t, t.id, "2026-01-10", 20, today=TODAY)
    b = evidence.record_clinical_hours(db, t, t.id, "2026-01-11", 2, today=TODAY)
    evidence.confirm_entry(db, people["sup"], "clinical_hours", a)
    with pytest.raises(evidence.EvidenceError, match="stays on record"):
        evidence.delete_entry(db, t, "clinical_hours", a)
    evidence.delete_entry(db, t, "clinical_hours", b)
    assert [r["id"] for r in rows(db, "SELECT id FROM clinical_hours")] == [a]


# --- certificates --------------------------------------------------------------------------


@pytest.mark.parametrize("name,data,message", [
    ("certificate.docx", PDF, "not a PDF, PNG or JPEG"),
    ("certificate.pdf", b"", "empty"),
    ("certificate.pdf", PNG, "does not hold PDF data"),
    ("scan.jpg", PDF, "does not hold JPG data"),
    ("certificate.pdf", b"%PDF-" + b"0" * (evidence.MAX_CERTIFICATE_BYTES + 1), "over the limit"),
])
def test_certificate_upload_refusals(db, settings, people, name, data, message):
    t = people["trainee"]
    with pytest.raises(evidence.EvidenceError, match=message):
        evidence.record_training_event(db, settings, t, t.id, "2026-03-01", 8, "Course", "Dr T", (name, data), today=TODAY)
    assert rows(db, "SELECT id FROM training_events") == []
    assert not settings.files_dir.exists() or list(settings.files_dir.iterdir()) == []


def test_certificate_is_stored_content_addressed_and_readable_by_supervisor(db, settings, people):
    t = people["trainee"]
    eid = evidence.record_training_event(db, settings, t, t.id, "2026-03-01", 8, "Course", "Dr T",
                                         ("../../etc/my cert.PDF", PDF), today=TODAY)
    stored = one(db, "SELECT certificate_file FROM training_events WHERE id = ?", (eid,))["certificate_file"]
    assert stored == hashlib.sha256(PDF).hexdigest() + ".pdf"
    assert (settings.files_dir / stored).read_bytes() == PDF
    data, media, _ = evidence.certificate_file(db, settings, people["sup"], eid)
    assert data == PDF and media == "application/pdf"
    with pytest.raises(evidence.EvidenceError):
        evidence.certificate_file(db, settings, people["other"], eid)


# --- rated sessions ------------------------------------------------------------------------


def _session(db, trainee_id, pseudonym, number, phase, gold=False, deleted=False, case_id=None):
    return db.conn.execute(
        """INSERT INTO recorded_sessions (trainee_id, added_by, case_pseudonym, case_id, session_number, phase, problem_area,
               consent_confirmed, is_gold_standard, created_at, deleted_at) VALUES (?,?,?,?,?,?,?,1,?,?,?)""",
        (trainee_id, trainee_id, pseudonym, case_id, number, phase, "grief", int(gold), now_iso(),
         now_iso() if deleted else None)).lastrowid


def _rating(db, session_id, rater_id, kind="rater", status="submitted", mean=3.6, passed=True):
    db.conn.execute(
        """INSERT INTO ratings (session_id, rater_id, kind, instrument_id, instrument_hash, status, mean, passed,
               created_at, updated_at, submitted_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)""",
        (session_id, rater_id, kind, "ipt-session-fidelity", "h", status, mean, int(passed), now_iso(), now_iso(),
         "2026-04-01T10:00:00+00:00" if status == "submitted" else None))


def _rated3(ev, **kw):
    """The rated-sessions rule on 3 sessions the trainee chose (the shipped example draws them at random)."""
    from ipt_training.content import CredentialStandard

    std = CredentialStandard.model_validate({
        "kind": "credential_standard", "id": "t", "name": "T", "version": "1", "issuing_body": "B",
        "certifies": "therapist", "validity_months": 12, "description": "d",
        "requirements": [{"id": "rated-sessions", "type": "rated_sessions", "instrument": "ipt-session-fidelity",
                          "min_sessions": 3, "description": "d"}]})
    return evaluate(std, ev, TODAY, **kw).requirements[0]


def test_rated_sessions_by_uncertified_raters_are_not_counted(db, library, people):
    t, rater = people["trainee"], people["rater"]
    cid = evidence.record_case(db, t, t.id, "Case A", "grief", "2026-01-05", None, 12, today=TODAY)
    s1 = _session(db, t.id, "case a", 1, "initial")                    # linked by pseudonym (case_id empty)
    s2 = _session(db, t.id, "Case X", 6, "middle", case_id=cid)        # linked by case_id
    s3 = _session(db, t.id, "Case A", 12, "termination", deleted=True)  # recording deleted later: the rating stays
    gold = _session(db, t.id, "Gold", 2, "initial", gold=True)          # calibration session stored under the trainee
    for s in (s1, s2, s3, gold):
        _rating(db, s, rater.id)
    _rating(db, s1, t.id, kind="self")
    draft = _session(db, t.id, "Case A", 8, "middle")
    _rating(db, draft, rater.id, status="draft")

    ev = evidence.build_evidence(db, library, t.id, TODAY)  # nobody has calibrated: nobody is certified
    assert sorted(r.id for r in ev.rated_sessions) == sorted(str(s) for s in (s1, s2, s3))
    assert {r.case_id for r in ev.rated_sessions} == {str(cid)}
    assert not any(r.rater_certified for r in ev.rated_sessions)
    req = _rated3(ev)
    assert not req.met and req.current.startswith("0 of 3")
    assert {n.reason for n in req.not_counted} == {"rated by an uncertified rater"}

    certified = {rater.id: {"ipt-session-fidelity": True}}
    ev = evidence.build_evidence(db, library, t.id, TODAY, certified=certified)
    assert _rated3(ev).met
    # the body's setting lets uncertified raters' ratings count
    ev = evidence.build_evidence(db, library, t.id, TODAY)
    assert _rated3(ev, count_uncertified_ratings=True).met


def test_held_credentials_follow_the_latest_award_unless_refused(db, library, people):
    t, admin = people["trainee"], people["admin"]
    std = library.standards[THERAPIST]
    award = record_decision(db, admin, t.id, std, "award", "Demo: evidence on paper.", TODAY, library=library)
    held = evidence.build_evidence(db, library, t.id, TODAY).credentials_held
    assert [(h.standard_id, h.expires_on) for h in held] == [(THERAPIST, _dt.date(2029, 6, 1))]
    record_decision(db, admin, t.id, std, "defer", "Renewal evidence incomplete.", TODAY, library=library)
    assert len(evidence.build_evidence(db, library, t.id, TODAY).credentials_held) == 1  # a deferral does not withdraw
    record_decision(db, admin, t.id, std, "refuse", "The award was made in error.", TODAY, library=library,
                    supersedes=award)
    assert evidence.build_evidence(db, library, t.id, TODAY).credentials_held == ()


def test_trainee_rater_certification_comes_from_calibration(db, library, people):
    t = people["trainee"]
    ev = evidence.build_evidence(db, library, t.id, TODAY, certified={t.id: {"ipt-session-fidelity": True}})
    assert ev.rater_certified == {"ipt-session-fidelity": True}
    assert _req(library, ev, "rater-calibration", standard="fidelity-rater-example").met
    assert evidence.build_evidence(db, library, t.id, TODAY, certified={}).rater_certified == {}


def test_demo_sessions_link_to_cases_by_pseudonym(demo_db, library):
    ready = auth.find_user(demo_db, "trainee.ready")
    ev = evidence.build_evidence(demo_db, library, ready.id, _dt.date.today())
    cases = {c.id: c.pseudonym for c in ev.cases}
    assert sorted(cases.values()) == ["Case R1", "Case R2", "Case R3"]
    assert ev.rated_sessions and all(cases[r.case_id] == r.case_pseudonym for r in ev.rated_sessions)
    assert {r.phase for r in ev.rated_sessions} == {"initial", "middle", "termination"}
    # rater2 misses the certification thresholds in the demo: their ratings are flagged uncertified
    rater2 = auth.find_user(demo_db, "rater2")
    by_rater = rows(demo_db, """SELECT r.session_id FROM ratings r JOIN recorded_sessions s ON s.id = r.session_id
                                WHERE s.trainee_id = ? AND r.rater_id = ? AND r.kind = 'rater' AND r.status = 'submitted'""",
                    (ready.id, rater2.id))
    assert by_rater
    flagged = {r.id for r in ev.rated_sessions if not r.rater_certified}
    assert {str(r["session_id"]) for r in by_rater} <= flagged
