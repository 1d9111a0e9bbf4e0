"""Browser journey (issue 3, issue 4, issue 7): a supervisor grades a supervisee's vignette attempt
and assigns a recorded session to a rater, who then finds it in their queue."""

import json
import re
import sqlite3

import pytest

from .conftest import sign_in
from .test_journey_trainee import choose, nav, open_dropdown, settle

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.e2e

ATTEMPT = "Tara Trainee: Marcus, 52, after the factory closed (awaiting grading)"
COMMENT = "You tie the low mood to the plant closing; now offer the focus as a shared plan."
SESSION = "Tara Trainee: Case T1, session 2 (initial, Grief (complicated bereavement))"


def test_supervisor_grades_an_attempt_and_assigns_a_session(demo_server, page):
    sign_in(page, demo_server.url, "supervisor", "supervisor-demo-pass")

    # --- grading: the trainee's answers beside the key; a level and a comment per criterion ---
    nav(page, "Grading queue")
    choose(page, page, "Attempt to grade", ATTEMPT)
    page.get_by_role("heading", name="Trainee's answers").wait_for()
    form = page.get_by_test_id("stForm")
    levels = form.get_by_role("radiogroup", name="Level")
    assert levels.count() == 2  # formulation and responses
    for group, level in ((levels.nth(0), "2 · Adequate"), (levels.nth(1), "3 · Strong")):
        group.get_by_text(level).click()
        expect(group.get_by_role("radio", name=re.compile("^" + level))).to_be_checked()
    form.get_by_label("Comment for the trainee").first.fill(COMMENT)
    form.get_by_role("button", name="Save grade").click()
    page.get_by_text("Grade saved for Tara Trainee: final score").wait_for()
    settle(page)
    # graded attempts leave the queue (unless asked for)
    open_dropdown(page, page.get_by_role("combobox", name="Attempt to grade"))
    waiting = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    assert waiting and not any("Marcus" in w for w in waiting)

    db = demo_server.data_dir / "app.db"
    with sqlite3.connect(db) as conn:
        status, grades, score = conn.execute(
            """SELECT a.status, a.grades, a.score FROM vignette_attempts a JOIN users u ON u.id = a.trainee_id
               WHERE u.username = 'trainee' AND a.grader_id = (SELECT id FROM users WHERE username = 'supervisor')
               ORDER BY a.graded_at DESC LIMIT 1""").fetchone()
    grades = json.loads(grades)
    assert status == "graded" and score is not None
    assert sorted(g["level"] for g in grades.values()) == [2, 3]
    assert COMMENT in [g["comment"] for g in grades.values()]

    # --- an assignment: the session goes to a second rater for an independent rating ---
    nav(page, "Rating assignments")
    form = page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name="Assign", exact=True))
    choose(page, form, "Session", SESSION)
    choose(page, form, "Rater", "Rita Second")
    choose(page, form, "Purpose", "Second, independent rating")
    form.get_by_role("button", name="Assign", exact=True).click()
    page.get_by_text("Assigned to Rita Second, due").wait_for()
    # assigning the same person twice is refused with a sentence, not a traceback
    form.get_by_role("button", name="Assign", exact=True).click()
    page.get_by_text("Rita Second is already assigned to this session.").wait_for()
    assert page.get_by_test_id("stException").count() == 0

    with sqlite3.connect(db) as conn:
        purpose, by = conn.execute(
            """SELECT a.purpose, b.username FROM assignments a JOIN recorded_sessions s ON s.id = a.session_id
               JOIN users r ON r.id = a.rater_id JOIN users b ON b.id = a.assigned_by
               WHERE r.username = 'rater2' AND s.case_pseudonym = 'Case T1' AND s.session_number = 2""").fetchone()
    assert (purpose, by) == ("second_rating", "supervisor")

    # the rater finds it in their queue
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    sign_in(page, demo_server.url, "rater2", "rater-demo-pass")
    nav(page, "Rating queue")
    expect(page.get_by_test_id("stMain")).to_contain_text("Case T1, session 2 (initial, Grief (complicated bereavement))")
