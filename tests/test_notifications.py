"""The in-app inbox (issue 17): each event writes its notification in its own transaction, a
person reads and marks only their own, reminders of expiring credentials are written once, and
e-mail goes out only when switched on."""

from __future__ import annotations

import datetime as _dt

import pytest

from ipt_training import auth, notifications
from ipt_training.credentials import confirm_entry, evidence, record_decision
from ipt_training.credentials.reminders import notify_expiring
from ipt_training.fidelity import assign
from ipt_training.store import one, rows, transaction
from ipt_training.vignettes import grade_attempt
from ipt_training.vignettes.attempts import _snapshot, get_attempt
from ipt_training.content import GradedCriterion


def _user(db, name):
    return auth.find_user(db, name)


def _top_grades(db, attempt_id):
    _, rubric, _ = _snapshot(db, get_attempt(db, attempt_id))
    return {c.id: {"level": max(lv.score for lv in c.levels), "comment": "Clear formulation."}
            for c in rubric.criteria if isinstance(c, GradedCriterion)}


def _submitted_attempt(db, trainee):
    return one(db, "SELECT id FROM vignette_attempts WHERE trainee_id = ? AND status = 'submitted'", (trainee.id,))["id"]


def test_grading_an_attempt_puts_it_in_the_trainees_inbox_and_mark_read_clears_it(demo_db):
    trainee, sup = _user(demo_db, "trainee"), _user(demo_db, "supervisor")
    assert notifications.unread_count(demo_db, trainee.id) == 0  # the demo's history is read
    aid = _submitted_attempt(demo_db, trainee)
    grade_attempt(demo_db, sup, aid, _top_grades(demo_db, aid))

    assert notifications.unread_count(demo_db, trainee.id) == 1
    note = notifications.inbox(demo_db, trainee.id, unread_only=True)[0]
    assert note["kind"] == "attempt_graded" and note["page"] == "progress.py"
    assert note["params"] == {"prog_attempt": aid}
    assert sup.display_name in note["text"] and "passed" in note["text"]
    assert notifications.mark_read(demo_db, trainee.id, note["id"]) is True
    assert notifications.unread_count(demo_db, trainee.id) == 0
    assert notifications.mark_read(demo_db, trainee.id, note["id"]) is False  # already read


def test_a_person_sees_and_marks_only_their_own(demo_db):
    trainee, sup, other = _user(demo_db, "trainee"), _user(demo_db, "supervisor"), _user(demo_db, "trainee.near")
    aid = _submitted_attempt(demo_db, trainee)
    grade_attempt(demo_db, sup, aid, _top_grades(demo_db, aid))
    mine = notifications.inbox(demo_db, trainee.id)[0]
    assert all(n["user_id"] == other.id for n in notifications.inbox(demo_db, other.id))
    assert mine["id"] not in {n["id"] for n in notifications.inbox(demo_db, other.id)}
    before = notifications.unread_count(demo_db, other.id)
    assert notifications.mark_read(demo_db, other.id, mine["id"]) is False  # not theirs: left alone
    assert notifications.mark_all_read(demo_db, other.id) == before
    assert notifications.unread_count(demo_db, trainee.id) == 1


def test_confirming_an_entry_assigning_and_deciding_each_notify_the_person_concerned(demo_db, library):
    trainee, sup, admin, rater = (_user(demo_db, n) for n in ("trainee", "supervisor", "admin", "rater"))
    entry = evidence.unconfirmed_entries(demo_db, sup, trainee.id)[0]
    confirm_entry(demo_db, sup, entry["table"], entry["id"])
    got = notifications.inbox(demo_db, trainee.id, unread_only=True)
    assert [n["kind"] for n in got] == ["evidence_confirmed"] and entry["kind"] in got[0]["text"]

    pair = one(demo_db, """SELECT s.id AS session_id, u.id AS rater_id FROM recorded_sessions s
                           JOIN supervision_links l ON l.trainee_id = s.trainee_id AND l.supervisor_id = ?
                           JOIN users u ON u.username IN ('rater', 'rater2')
                           WHERE s.deleted_at IS NULL AND s.is_gold_standard = 0 AND NOT EXISTS (SELECT 1 FROM
                           assignments a WHERE a.session_id = s.id AND a.rater_id = u.id)
                           AND NOT EXISTS (SELECT 1 FROM ratings_seen x WHERE x.session_id = s.id AND x.user_id = u.id)
                           ORDER BY s.id, u.id""", (sup.id,))
    assert pair, "the demo has a supervisee's session not yet assigned to a rater"
    rater = auth.get_user(demo_db, pair["rater_id"])
    assign(demo_db, sup, pair["session_id"], rater.id, "2030-01-15")
    got = notifications.inbox(demo_db, rater.id, unread_only=True)
    assert got[0]["kind"] == "rating_assigned" and "due 2030-01-15" in got[0]["text"]

    std = library.standards["ipt-therapist-example"]
    record_decision(demo_db, admin, trainee.id, std, "defer", "Two more supervised cases are needed.",
                    _dt.date.today(), library=library)
    got = notifications.inbox(demo_db, trainee.id, unread_only=True)[0]
    assert got["kind"] == "credential_decision" and "deferred" in got["text"]
    assert "Two more supervised cases are needed." in got["text"] and got["params"] == {"mr_standard": std.id}


def test_a_refused_event_writes_no_notification(demo_db):
    trainee, other_sup = _user(demo_db, "trainee"), _user(demo_db, "rater")  # not the trainee's supervisor
    aid = _submitted_attempt(demo_db, trainee)
    with pytest.raises(Exception):
        grade_attempt(demo_db, other_sup, aid, _top_grades(demo_db, aid))
    assert notifications.unread_count(demo_db, trainee.id) == 0


def test_a_notification_rolls_back_with_its_event(db):
    u = auth.create_user(db, "tina", "Lichen-Ferry-Atlas-58", ["trainee"], "Tina")
    with pytest.raises(RuntimeError):
        with transaction(db):
            notifications.notify(db, u.id, "attempt_graded", "graded", "progress.py")
            raise RuntimeError("the event failed")
    assert notifications.unread_count(db, u.id) == 0


def test_expiring_credentials_are_reminded_once(demo_db, library):
    today = _dt.date.today()
    due = [r for r in __import__("ipt_training.credentials.review", fromlist=["x"]).renewal_reminders(
        demo_db, library, today, 90)]
    assert due, "the demo holds an award that expires within 90 days"
    first = notify_expiring(demo_db, library, today)
    assert first == len(due)
    assert notify_expiring(demo_db, library, today) == 0  # again: nothing new
    holder = due[0]["trainee_id"]
    notes = notifications.inbox(demo_db, holder, unread_only=True)
    assert [n["kind"] for n in notes] == ["credential_expiring"]
    assert due[0]["expires_on"] in notes[0]["text"]
    # once it has expired, one more reminder
    after = _dt.date.fromisoformat(due[0]["expires_on"]) + _dt.timedelta(days=1)
    assert notify_expiring(demo_db, library, after, user_id=holder) == 1
    assert notify_expiring(demo_db, library, after, user_id=holder) == 0


# --- e-mail ------------------------------------------------------------------------------


class FakeSMTP:
    """Stands in for smtplib.SMTP: records what would have been sent."""

    sent: list = []
    opened: list = []

    def __init__(self, host, port, timeout=None):
        FakeSMTP.opened.append((host, port))
        self.tls = False
        self.login_as = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self, context=None):
        self.tls = True

    def login(self, user, password):
        self.login_as = (user, password)

    def send_message(self, msg):
        FakeSMTP.sent.append((msg, self.tls, self.login_as))


@pytest.fixture
def fake_smtp(monkeypatch):
    import smtplib

    FakeSMTP.sent, FakeSMTP.opened = [], []
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    return FakeSMTP


def _email_on(monkeypatch):
    monkeypatch.setenv("IPT_TRAINING_EMAIL", "on")
    monkeypatch.setenv("IPT_TRAINING_SMTP_HOST", "mail.example.org")
    monkeypatch.setenv("IPT_TRAINING_SMTP_PORT", "2525")
    monkeypatch.setenv("IPT_TRAINING_SMTP_USER", "platform")
    monkeypatch.setenv("IPT_TRAINING_SMTP_PASSWORD_ENV", "MY_SMTP_SECRET")
    monkeypatch.setenv("MY_SMTP_SECRET", "s3cret-from-the-vault")
    monkeypatch.setenv("IPT_TRAINING_SMTP_FROM", "training@example.org")


def _graded_with_email(db):
    trainee, sup = _user(db, "trainee"), _user(db, "supervisor")
    db.conn.execute("UPDATE users SET email = 'tara@example.org' WHERE id = ?", (trainee.id,))
    aid = _submitted_attempt(db, trainee)
    grade_attempt(db, sup, aid, _top_grades(db, aid))
    return trainee


def test_email_is_off_by_default_and_nothing_is_sent(demo_db, fake_smtp, monkeypatch):
    for var in ("IPT_TRAINING_EMAIL", "IPT_TRAINING_SMTP_HOST"):
        monkeypatch.delenv(var, raising=False)
    trainee = _graded_with_email(demo_db)
    assert notifications.unread_count(demo_db, trainee.id) == 1  # the inbox still has it
    assert fake_smtp.opened == [] and fake_smtp.sent == []


def test_email_when_on_sends_each_notification_once_after_commit(demo_db, fake_smtp, monkeypatch):
    _email_on(monkeypatch)
    trainee = _graded_with_email(demo_db)
    assert fake_smtp.opened == [("mail.example.org", 2525)]
    [(msg, tls, login)] = fake_smtp.sent
    assert msg["To"] == "tara@example.org" and msg["From"] == "training@example.org"
    assert "graded your attempt" in msg.get_content()
    assert tls is True and login == ("platform", "s3cret-from-the-vault")
    assert one(demo_db, "SELECT emailed_at FROM notifications WHERE user_id = ? AND read_at IS NULL",
               (trainee.id,))["emailed_at"]


def test_email_when_on_skips_a_person_without_an_address_and_a_rolled_back_event(db, fake_smtp, monkeypatch):
    _email_on(monkeypatch)
    u = auth.create_user(db, "tina", "Lichen-Ferry-Atlas-58", ["trainee"], "Tina")
    notifications.notify(db, u.id, "attempt_graded", "graded", "progress.py")
    assert fake_smtp.sent == []  # no address
    db.conn.execute("UPDATE users SET email = 'tina@example.org' WHERE id = ?", (u.id,))
    with pytest.raises(RuntimeError):
        with transaction(db):
            notifications.notify(db, u.id, "attempt_graded", "graded again", "progress.py")
            raise RuntimeError("the event failed")
    assert fake_smtp.sent == []
    assert [r["text"] for r in rows(db, "SELECT text FROM notifications")] == ["graded"]


def test_email_settings_incomplete_are_refused_in_a_sentence(monkeypatch):
    from ipt_training.config import get_settings

    monkeypatch.setenv("IPT_TRAINING_EMAIL", "on")
    monkeypatch.delenv("IPT_TRAINING_SMTP_HOST", raising=False)
    with pytest.raises(SystemExit, match="IPT_TRAINING_SMTP_HOST"):
        get_settings()


def test_a_graded_case_report_and_a_signed_statement_reach_the_trainees_inbox_only(demo_db, library):
    from ipt_training.credentials import portfolio

    trainee, sup, other = _user(demo_db, "trainee"), _user(demo_db, "supervisor"), _user(demo_db, "trainee.near")
    other_before = notifications.unread_count(demo_db, other.id)
    case = one(demo_db, "SELECT id, pseudonym FROM clinical_cases WHERE trainee_id = ? ORDER BY id LIMIT 1", (trainee.id,))
    pending = one(demo_db, "SELECT id FROM case_reports WHERE case_id = ? AND level IS NULL", (case["id"],))
    rid = pending["id"] if pending else portfolio.submit_case_report(
        demo_db, trainee, case["id"], "Formulation, course of treatment and outcome of this grief case. " * 6)
    assert notifications.unread_count(demo_db, trainee.id) == 0  # submitting tells the trainee nothing new
    portfolio.grade_case_report(demo_db, sup, rid, "revise", "Add the interpersonal inventory.")
    graded = notifications.inbox(demo_db, trainee.id, unread_only=True)
    assert [n["kind"] for n in graded] == ["case_report_graded"]
    assert case["pseudonym"] in graded[0]["text"] and "Needs revision" in graded[0]["text"]
    assert graded[0]["page"] == "my_evidence.py" and sup.display_name in graded[0]["text"]

    standard = next(s for s in library.standards.values() if s.certifies == "therapist")
    portfolio.sign_attestation(demo_db, library, sup, trainee.id, standard.id, "observer",
                               "I observed four sessions and the formulation work; the candidate is competent.")
    newest = notifications.inbox(demo_db, trainee.id, unread_only=True)[0]
    assert newest["kind"] == "statement_signed" and standard.name in newest["text"] and "an observer" in newest["text"]
    assert notifications.unread_count(demo_db, other.id) == other_before  # nobody else is told


def test_a_refused_grade_writes_no_notification(demo_db):
    from ipt_training.credentials import portfolio

    trainee, outsider = _user(demo_db, "trainee"), _user(demo_db, "rater")
    case = one(demo_db, "SELECT id FROM clinical_cases WHERE trainee_id = ? ORDER BY id LIMIT 1", (trainee.id,))
    pending = one(demo_db, "SELECT id FROM case_reports WHERE case_id = ? AND level IS NULL", (case["id"],))
    rid = pending["id"] if pending else portfolio.submit_case_report(
        demo_db, trainee, case["id"], "Formulation, course of treatment and outcome of this grief case. " * 6)
    with pytest.raises(portfolio.PortfolioError):
        portfolio.grade_case_report(demo_db, outsider, rid, "good")
    assert notifications.unread_count(demo_db, trainee.id) == 0
