"""Home's next steps per role and the Inbox page, through the real router (issue 17)."""

from __future__ import annotations

import re

from apphelp import app_as, shown, texts

from ipt_training import auth, notifications
from ipt_training.content import GradedCriterion
from ipt_training.store import open_store, rows
from ipt_training.vignettes import grade_attempt
from ipt_training.vignettes.attempts import _snapshot, get_attempt


def _db():
    from ipt_training.config import get_settings

    return open_store(get_settings().db_path)


def _id(name):
    db = _db()
    try:
        return auth.find_user(db, name).id
    finally:
        db.conn.close()


def _inbox_title(at) -> str:
    """The Inbox's title in the sidebar, as the router registered it."""
    return next(p["page_name"] for p in at._registered_pages.values() if p.get("url_pathname") == "inbox")


def _buttons(at, prefix):
    return [b for b in at.button if (b.key or "").startswith(prefix)]


def test_trainee_home_continues_the_open_attempt(app_demo, library):
    db = _db()
    tid = _id("trainee")
    drafts = [r["vignette_id"] for r in rows(db, "SELECT vignette_id FROM vignette_attempts WHERE trainee_id = ? "
                                                 "AND status = 'draft'", (tid,))]
    db.conn.close()
    assert drafts
    at = app_as(tid)
    page = texts(at)
    title = library.vignettes[drafts[0]].title
    assert f"Continue: {title}" in page
    assert re.search(r"\d+ of \d+ requirements met", page)  # the readiness summary
    [go] = [b for b in _buttons(at, "home_go_trainee_") if b.label == "Continue"]
    go.click().run()
    assert at.session_state["vignette_id"] == drafts[0]
    assert not at.exception
    assert at.selectbox(key="ws_pick").value == drafts[0]  # the workspace opened on that case


def test_rater_home_lists_due_ratings_soonest_first(app_demo):
    from ipt_training.fidelity import rater_queue

    db = _db()
    rater = auth.find_user(db, "rater")
    due = [q for q in rater_queue(db, rater) if q["status"] != "submitted" and not q["deleted_at"]]
    db.conn.close()
    at = app_as(rater.id)
    page = texts(at)
    assert due, "the demo rater has sessions to rate"
    for q in due[:5]:
        assert q["label"] in page
    rate = _buttons(at, "home_go_rater_")
    assert len(rate) == min(len(due), 5)
    rate[0].click().run()
    assert at.session_state["rating_kind"] == "rater"
    assert at.session_state["rating_session_id"] in {q["session_id"] for q in due}


def test_supervisor_home_count_equals_the_supervisees_pending_list(app_demo):
    sid = _id("supervisor")
    home = app_as(sid)
    counts = [int(n) for n in re.findall(r"Confirm (\d+) log entr", texts(home))]
    assert counts and sum(counts) > 0
    page = app_as(sid, "supervisees.py")
    heading = next(shown(s.value) for s in page.subheader if "awaiting your confirmation" in shown(s.value))
    listed = int(re.search(r"\((\d+)\)", heading).group(1))
    confirm_buttons = [b for b in page.button if (b.key or "").startswith("sv_confirm_") and b.key != "sv_confirm_all"]
    assert sum(counts) == listed == len(confirm_buttons)
    # the page opens on a supervisee who has something to confirm, not one with nothing
    db = _db()
    pending_people = {r["trainee_id"] for r in rows(db, """SELECT trainee_id FROM training_events WHERE confirmed_by
        IS NULL UNION SELECT trainee_id FROM clinical_hours WHERE confirmed_by IS NULL UNION SELECT trainee_id FROM
        clinical_cases WHERE confirmed_by IS NULL UNION SELECT trainee_id FROM supervision_sessions
        WHERE confirmed_by IS NULL""")}
    db.conn.close()
    assert page.selectbox(key="sv_trainee").value in pending_people
    # and Home's Confirm button opens the page on that supervisee
    home.button(key="home_go_supervisor_0").click().run()
    assert home.session_state["sv_trainee"] in pending_people


def test_supervisor_reading_a_supervisee_is_never_told_to_ask_their_supervisor(app_demo):
    page = app_as(_id("supervisor"), "supervisees.py")
    words = texts(page)
    assert "requirements met" in words
    assert "ask your supervisor" not in words.lower()
    assert "your supervisor" not in words.lower()


def test_admin_home_lists_people_ready_for_review_and_expiring_credentials(app_demo, library):
    import datetime as _dt

    from ipt_training.credentials import review

    db = _db()
    today = _dt.date.today()
    ready = [r for sid in library.standards for r in review.cohort_readiness(db, library, sid, None, today)
             if r["status"] in ("ready for review", "ready for renewal review")]
    expiring = review.renewal_reminders(db, library, today, 90)
    admin = auth.find_user(db, "admin").id
    db.conn.close()
    at = app_as(admin)
    page = texts(at)
    assert ready and expiring, "the demo has both"
    for r in ready:
        assert f"Review {r['trainee']} for" in page
    for r in expiring:
        assert f"{r['trainee']}'s {r['standard']} credential" in page
    at.button(key="home_go_admin_0").click().run()
    assert at.session_state["cr_trainee"] == ready[0]["trainee_id"]
    assert not at.exception


def _grade_tara():
    db = _db()
    try:
        trainee, sup = auth.find_user(db, "trainee"), auth.find_user(db, "supervisor")
        aid = rows(db, "SELECT id FROM vignette_attempts WHERE trainee_id = ? AND status = 'submitted'", (trainee.id,))[0]["id"]
        _, rubric, _ = _snapshot(db, get_attempt(db, aid))
        grade_attempt(db, sup, aid, {c.id: {"level": 0} for c in rubric.criteria if isinstance(c, GradedCriterion)})
        return trainee.id, aid
    finally:
        db.conn.close()


def test_inbox_shows_a_graded_attempt_with_the_unread_count_and_mark_read_clears_it(app_demo):
    tid = _id("trainee")
    at = app_as(tid, "inbox.py")
    assert _inbox_title(at) == "Inbox"  # nothing unread in the fresh demo
    _, aid = _grade_tara()

    at = app_as(tid, "inbox.py")
    assert _inbox_title(at) == "Inbox (1)"
    assert "graded your attempt" in texts(at)
    home = app_as(tid)
    assert "You have 1 unread notification." in texts(home)
    assert any("graded your attempt" in shown(m.value) for m in home.markdown)  # newly graded, on Home

    [read] = _buttons(at, "inbox_read_")
    read.click().run()
    assert _inbox_title(at) == "Inbox"
    assert not _buttons(at, "inbox_read_")


def test_opening_a_notification_goes_to_its_page_on_its_item(app_demo):
    tid, aid = _grade_tara()
    at = app_as(tid, "inbox.py")
    note = notifications.inbox(_db(), tid, unread_only=True)[0]
    at.button(key=f"inbox_open_{note['id']}").click().run()
    assert at.session_state["prog_attempt"] == aid
    assert not at.exception
    assert _inbox_title(at) == "Inbox"  # opening it read it


def test_another_person_never_sees_it(app_demo):
    _grade_tara()
    other = app_as(_id("trainee.near"), "inbox.py")
    db = _db()
    near = auth.find_user(db, "trainee.near").id
    theirs = {n["id"] for n in notifications.inbox(db, near)}
    tara = {n["id"] for n in notifications.inbox(db, _id("trainee"))}
    db.conn.close()
    assert theirs.isdisjoint(tara)
    shown_ids = {int(b.key.rsplit("_", 1)[1]) for b in other.button if (b.key or "").startswith("inbox_open_")}
    assert shown_ids <= theirs and shown_ids.isdisjoint(tara)
