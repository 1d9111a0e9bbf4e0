"""Browser journey (issue 17): a supervisor grades a trainee's attempt; the trainee sees it in
the Inbox, with the unread count in the sidebar, marks it read and the count goes."""

import pytest

from .conftest import sign_in
from .test_journey_trainee import choose, nav, settle

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.e2e

ATTEMPT = "Tara Trainee: Marcus, 52, after the factory closed (awaiting grading)"


def test_the_inbox_shows_a_graded_attempt_to_its_trainee(demo_server, page):
    sign_in(page, demo_server.url, "supervisor", "supervisor-demo-pass")
    nav(page, "Grading queue")
    choose(page, page, "Attempt to grade", ATTEMPT)
    form = page.get_by_test_id("stForm")
    levels = form.get_by_role("radiogroup", name="Level")
    for n in range(levels.count()):
        levels.nth(n).get_by_text("2 · Adequate").click()
    form.get_by_role("button", name="Save grade").click()
    page.get_by_text("Grade saved for Tara Trainee: final score").wait_for()
    settle(page)
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()

    sign_in(page, demo_server.url, "trainee", "trainee-demo-pass")
    menu = page.get_by_test_id("stSidebarNav")
    expect(menu.get_by_role("link", name="Inbox (1)", exact=True)).to_be_visible()
    # Home says what is new, too
    page.get_by_text("You have 1 unread notification.").wait_for()
    menu.get_by_role("link", name="Inbox (1)", exact=True).click()
    page.get_by_role("heading", name="Inbox").first.wait_for()
    settle(page)
    note = page.get_by_text("Sam Supervisor graded your attempt at 'Marcus, 52, after the factory closed'")
    expect(note).to_be_visible()
    page.get_by_role("button", name="Mark read").click()
    settle(page)
    expect(menu.get_by_role("link", name="Inbox", exact=True)).to_be_visible()
    expect(menu.get_by_role("link", name="Inbox (1)", exact=True)).to_have_count(0)
    expect(note).to_be_visible()  # read, still listed
    assert page.get_by_test_id("stException").count() == 0
