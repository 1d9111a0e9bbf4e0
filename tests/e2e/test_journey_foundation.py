"""Browser journey: first-run demo load, sign in as a trainee, reach home, sign out."""

import pytest
from playwright.sync_api import expect

from .conftest import open_app

pytestmark = pytest.mark.e2e


def test_first_run_demo_then_trainee_sign_in_and_out(server, page):
    open_app(page, server.url)
    page.get_by_text("Welcome to the IPT training").wait_for()
    page.get_by_role("button", name="Load demo data").click()
    page.get_by_role("heading", name="Sign in").wait_for(timeout=120_000)
    expect(page.get_by_text("Demo data loaded")).to_be_visible()  # a sentence confirms it (issue 17)
    expect(page.get_by_role("heading", name="Demo accounts")).to_be_visible()
    expect(page.get_by_role("cell", name="trainee-demo-pass", exact=True)).to_be_visible()
    page.get_by_label("Sign-in name").fill("trainee")
    page.get_by_label("Password", exact=True).fill("trainee-demo-pass")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Welcome, Tara Trainee").wait_for()
    expect(page.get_by_text("Your practice")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    assert not page.get_by_text("Welcome, Tara Trainee").is_visible()

    # what the first run stored: the demo accounts and data, and the sign-in in the audit log
    from ipt_training.store import open_store, rows

    db = open_store(server.data_dir / "app.db")
    users = {r["username"] for r in rows(db, "SELECT username FROM users")}
    assert {"trainee", "trainee.ready", "trainee.near", "rater", "rater2", "supervisor", "admin"} <= users
    assert rows(db, "SELECT COUNT(*) AS n FROM recorded_sessions")[0]["n"] > 0
    assert rows(db, "SELECT COUNT(*) AS n FROM vignette_attempts")[0]["n"] > 0
    signed = rows(db, """SELECT a.action FROM audit_log a JOIN users u ON u.id = a.actor_id
                         WHERE u.username = 'trainee' AND a.action = 'sign_in'""")
    assert len(signed) == 1
