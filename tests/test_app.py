"""The app through AppTest: first run, sign-in, navigation by role, every page renders."""

import pytest

from ipt_training import auth
from ipt_training.access import PAGES, pages_for
from ipt_training.store import open_store

from apphelp import app_as, texts

ROLES = ("trainee", "rater", "supervisor", "admin")


def test_first_run_offers_admin_creation_and_demo(app_env):
    at = app_as(None)
    assert not at.exception
    assert "Welcome to the IPT training" in at.title[0].value
    assert any(b.label == "Load demo data" for b in at.button)
    shown = texts(at)
    for username, password in (("trainee", "trainee-demo"), ("admin", "admin-demo")):
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


def test_sign_in_and_lockout_message(demo_db_path, app_env_demo):
    at = app_as(None)
    assert at.title[0].value == "Sign in"
    at.text_input(key="si_username").input("trainee")
    at.text_input(key="si_password").input("nope-nope")
    at.button[0].click().run()
    assert "wrong" in at.error[0].value
    at.text_input(key="si_password").input("trainee-demo")
    at.button[0].click().run()
    assert not at.exception
    assert "Welcome, Tara Trainee" in texts(at)


@pytest.fixture
def app_env_demo(demo_db_path):
    import streamlit as st

    st.cache_resource.clear()
    yield demo_db_path
    st.cache_resource.clear()


def _demo_user(path, username):
    return auth.find_user(open_store(path), username)


@pytest.mark.parametrize("username", ["trainee", "rater", "supervisor", "admin"])
def test_navigation_registers_exactly_the_role_pages(app_env_demo, username):
    user = _demo_user(app_env_demo, username)
    at = app_as(user.id)
    assert not at.exception
    allowed = {p.file for p in pages_for(user.roles)}
    for spec in PAGES:
        if spec.file in allowed:
            at.switch_page(f"ipt_training/app_pages/{spec.file}")
            at.run()
            assert not at.exception, (spec.file, at.exception)
            assert at.title, spec.file
    # a page outside the role cannot be opened: AppTest refuses to switch to an unregistered page
    for spec in PAGES:
        if spec.file not in allowed:
            with pytest.raises(Exception):
                at.switch_page(f"ipt_training/app_pages/{spec.file}")
                at.run()
            break
