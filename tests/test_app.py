"""The app through AppTest: first run and sign-in (navigation by role: tests/test_access.py)."""

from apphelp import app_as, texts


def test_first_run_offers_admin_creation_and_demo(app_env):
    at = app_as(None)
    assert not at.exception
    assert "Welcome to the IPT training" in at.title[0].value
    assert any(b.label == "Load demo data" for b in at.button)
    shown = texts(at)
    for username, password in (("trainee", "trainee-demo-pass"), ("admin", "admin-demo-pass")):
        assert username in shown and password in shown


def test_first_run_creates_admin_and_signs_in(app_env):
    at = app_as(None)
    at.text_input(key="fr_username").input("chair")
    at.text_input(key="fr_display").input("Board Chair")
    at.text_input(key="fr_pw1").input("long-enough-1")
    at.text_input(key="fr_pw2").input("long-enough-1")
    at.button[0].click().run()  # form submit
    assert not at.exception
    assert at.session_state["user_id"] == 1
    assert "Welcome, Board Chair" in texts(at)


def test_first_run_mismatched_passwords_refused(app_env):
    at = app_as(None)
    at.text_input(key="fr_username").input("chair")
    at.text_input(key="fr_pw1").input("long-enough-1")
    at.text_input(key="fr_pw2").input("long-enough-2")
    at.button[0].click().run()
    assert "passwords differ" in texts(at)
    assert "user_id" not in at.session_state


def test_sign_in_refuses_a_wrong_password_then_signs_in(demo_db_path, app_demo):
    at = app_as(None)
    assert at.title[0].value == "Sign in"
    at.text_input(key="si_username").input("trainee")
    at.text_input(key="si_password").input("nope-nope")
    at.button[0].click().run()
    assert "wrong" in at.error[0].value
    at.text_input(key="si_password").input("trainee-demo-pass")
    at.button[0].click().run()
    assert not at.exception
    assert "Welcome, Tara Trainee" in texts(at)

