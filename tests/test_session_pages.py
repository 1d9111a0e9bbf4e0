"""Sign-in sessions in the pages (AppTest): checked on every rerun, ended by sign-out and account
changes, revocable by an admin; the player never gets the recording's bytes (issues 15, 17)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from ipt_training import auth, auth_sessions
from ipt_training.config import get_settings
from ipt_training.store import open_store

from apphelp import APP, app_as, sign_in_state, texts


def _signed_in_as(at: AppTest) -> bool:
    return not (at.title and at.title[0].value == "Sign in")


def test_a_password_reset_signs_the_person_out_at_their_next_click(app_demo):
    db = open_store(app_demo)
    trainee, admin = auth.find_user(db, "trainee"), auth.find_user(db, "admin")
    at = app_as(trainee.id)
    assert "Welcome, Tara Trainee" in texts(at)
    auth.reset_password(db, trainee.id, "a-brand-new-pw-1", admin.id)
    at.run()
    assert not _signed_in_as(at) and "user_id" not in at.session_state


def test_a_role_change_or_deactivation_signs_the_person_out(app_demo):
    db = open_store(app_demo)
    rater, admin = auth.find_user(db, "rater"), auth.find_user(db, "admin")
    at = app_as(rater.id)
    auth.set_roles(db, rater.id, ["rater", "trainee"], admin.id)
    at.run()
    assert not _signed_in_as(at)
    at = app_as(rater.id)  # signs in again, then is deactivated
    assert _signed_in_as(at)
    auth.set_active(db, rater.id, False, admin.id)
    at.run()
    assert not _signed_in_as(at)


def test_sign_out_ends_the_server_side_session(app_demo):
    db = open_store(app_demo)
    trainee = auth.find_user(db, "trainee")
    at = app_as(trainee.id)
    sid = at.session_state["auth_session_id"]
    at.button(key="sign_out").click().run()
    assert not _signed_in_as(at)
    assert db.conn.execute("SELECT ended_reason FROM auth_sessions WHERE id = ?", (sid,)).fetchone()[0] == "sign_out"
    assert auth_sessions.check(db, get_settings(), session_id=sid) is None


def test_a_bare_user_id_in_the_session_state_is_not_a_sign_in(app_demo):
    db = open_store(app_demo)
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["user_id"] = auth.find_user(db, "admin").id
    at.run()
    assert not _signed_in_as(at)


def test_admin_signs_a_person_out_everywhere(app_demo):
    db = open_store(app_demo)
    admin, rater = auth.find_user(db, "admin"), auth.find_user(db, "rater")
    rater_at = app_as(rater.id)
    at = app_as(admin.id, "users.py")
    at.selectbox(key="eu_user").select(next(u for u in auth.list_users(db) if u["username"] == "rater")).run()
    button = at.button(key="eu_end_sessions")
    assert "(1 open sign-in)" in button.label
    button.click().run()
    assert not at.exception
    rater_at.run()
    assert not _signed_in_as(rater_at)
    assert _signed_in_as(at)  # the admin's own session is untouched


def test_without_the_route_the_player_says_so_and_gets_no_bytes(app_demo):
    db = open_store(app_demo)
    rater = auth.find_user(db, "rater")
    sid = db.conn.execute("""SELECT s.id FROM recorded_sessions s JOIN assignments a ON a.session_id = s.id
                             WHERE a.rater_id = ? AND s.deleted_at IS NULL LIMIT 1""", (rater.id,)).fetchone()[0]
    at = AppTest.from_file(APP, default_timeout=60)
    sign_in_state(at, rater.id)
    at.session_state["rating_session_id"], at.session_state["rating_kind"] = sid, "rater"
    at.run()
    at.switch_page("ipt_training/app_pages/rating_workspace.py").run()
    assert not at.exception
    assert len(at.get("audio")) == 0 and len(at.get("video")) == 0
    assert any("streamlit run app.py" in w.value for w in at.warning) and not at.error


def test_the_page_after_sign_in_is_one_of_the_persons_pages():
    from ipt_training.ui.common import safe_next_page

    assert safe_next_page("rating_workspace", ["rater"]) == "rating_workspace"
    assert safe_next_page("users", ["trainee"]) == ""  # not theirs: home, not "Page not found"
    for hostile in ("https://evil.example/", "//evil.example", "../users", "users/../x", None):
        assert safe_next_page(hostile, ["admin"]) == ""


def test_changing_ones_own_password_keeps_this_sign_in_and_ends_the_others(app_demo):
    db = open_store(app_demo)
    rater = auth.find_user(db, "rater")
    elsewhere = app_as(rater.id)  # the same person signed in on another device
    at = app_as(rater.id, "account.py")
    at.text_input(key="acc_current").input("rater-demo-pass")
    at.text_input(key="acc_new").input("Saffron-Glacier-Piano-84")
    at.text_input(key="acc_repeat").input("Saffron-Glacier-Piano-84")
    at.button[0].click().run()
    assert not at.exception and at.success, [e.value for e in at.error]
    at.run()
    assert _signed_in_as(at) and at.title[0].value == "My account"
    elsewhere.run()
    assert not _signed_in_as(elsewhere)
