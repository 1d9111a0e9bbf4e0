"""Browser journey (issue 4, issue 7): a rater rates an assigned demo session blind, with evidence.

The rater opens 'Case T1, session 2' (assigned, not yet rated; the trainee's self-rating of it is
already submitted) from the queue, jumps in the recording from the transcript, adds an evidence
mark, scores every applicable item and submits. Until then the self-rating stays hidden; after,
it appears and the rating is locked. Half-way through, a browser refresh (which keeps the sign-in)
must lose none of the scores: every change is saved as a draft at once.
"""

import re
import sqlite3

import pytest

from .conftest import sign_in
from .test_journey_trainee import choose, nav, settle

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.e2e

SESSION = "Case T1, session 2"
SELF_RATING = "Self-rating: Tara Trainee"
BLIND = "Other ratings of this session stay hidden until you submit your own"
NOTE = "Therapist invites the feelings about Alan's death"


def open_from_queue(page, label: str) -> None:
    nav(page, "Rating queue")
    row = (page.get_by_test_id("stVerticalBlock").filter(has_text=label)
           .filter(has=page.get_by_role("button")).last)
    row.get_by_role("button").click()
    page.get_by_role("heading", name="Rating workspace").wait_for()
    # a session nobody has scored yet is "not started": opening it starts no draft (issue 17)
    page.get_by_role("heading", name=re.compile(r"^Your rating \((draft, saved as you go|not started)\)$")).wait_for()
    settle(page)


def score(item, value: str) -> None:
    item.get_by_role("radio", name=value, exact=True).click()
    expect(item.get_by_role("radio", name=value, exact=True)).to_have_attribute("aria-checked", "true")


def test_rater_rates_a_session_blind_with_evidence(demo_server, page):
    sign_in(page, demo_server.url, "rater", "rater-demo-pass")
    open_from_queue(page, SESSION)
    main = page.locator("[data-testid='stMain']")
    expect(main).to_contain_text(BLIND)
    assert SELF_RATING not in main.inner_text()

    # the transcript moves the player: choosing the cue at 0:45 sets the audio element's time
    page.locator("audio").wait_for(state="attached")
    assert page.evaluate("() => document.querySelector('audio').currentTime") == 0
    page.get_by_role("button", name="0:45", exact=True).click()
    page.get_by_text("Player set to 0:45").wait_for()
    page.wait_for_function("() => Math.abs(document.querySelector('audio').currentTime - 45) < 1")
    # ... and pre-fills the evidence mark's time
    expect(page.get_by_role("spinbutton", name="Time (seconds)")).to_have_value(re.compile(r"^45(\.\d+)?$"))

    items = page.locator("[class*='st-key-item_']")
    n_items = items.count()
    assert n_items >= 5, "an initial-phase grief session has at least the five initial-phase items"
    half = n_items // 2
    for i in range(half):
        score(items.nth(i), "4")
        settle(page)

    # a refresh mid-rating: a new browser session, still signed in (the session cookie), the scores are there
    page.reload()
    page.wait_for_selector("[data-testid='stApp']")
    open_from_queue(page, SESSION)
    items = page.locator("[class*='st-key-item_']")
    assert items.count() == n_items
    for i in range(half):
        expect(items.nth(i).get_by_role("radio", name="4", exact=True)).to_have_attribute("aria-checked", "true")
    expect(items.nth(half).get_by_role("radio", name="4", exact=True)).to_have_attribute("aria-checked", "false")

    # an evidence mark at the cue's time, tied to an item
    page.get_by_role("button", name="0:45", exact=True).click()
    expect(page.get_by_role("spinbutton", name="Time (seconds)")).to_have_value(re.compile(r"^45(\.\d+)?$"))
    choose(page, page, "Item (optional)", re.compile("^Item \\d+: Takes the interpersonal inventory"))
    page.get_by_label("Note").fill(NOTE)
    page.get_by_role("button", name="Add evidence mark").click()
    expect(main).to_contain_text(NOTE)
    expect(main).not_to_contain_text("No evidence marks yet.")

    for i in range(half, n_items):
        score(items.nth(i), "3" if i % 2 else "5")
        settle(page)
    comment = page.get_by_label("Comment for the trainee")
    comment.fill("Clear sick role and a warm inventory of Alan.")
    comment.press("Tab")
    settle(page)
    assert SELF_RATING not in main.inner_text()  # still blind before submitting

    page.get_by_role("button", name="Submit rating").click()
    page.get_by_role("heading", name="Your rating (submitted)").wait_for()
    expect(main).to_contain_text("Submitted on")
    # the session selector says so too (issue 17: it kept saying "[draft]")
    expect(main.get_by_test_id("stSelectbox").first).to_contain_text(f"{SESSION} [submitted]")
    # locked: no more scoring, no new evidence marks, no second submit
    # the chosen score stands as text, no longer a greyed-out control
    expect(items.first.get_by_role("radio")).to_have_count(0)
    expect(items.first).to_contain_text(re.compile(r"Score: [1-5] - "))
    expect(page.get_by_role("button", name="Add evidence mark")).to_have_count(0)
    expect(page.get_by_role("button", name="Submit rating")).to_have_count(0)
    # the blind is lifted: the trainee's self-rating appears beside the rater's own
    expect(main).to_contain_text(SELF_RATING)
    expect(main).not_to_contain_text(BLIND)

    with sqlite3.connect(demo_server.data_dir / "app.db") as conn:
        status, n_scores, n_marks = conn.execute(
            """SELECT r.status, (SELECT COUNT(*) FROM item_scores i WHERE i.rating_id = r.id AND i.score IS NOT NULL),
                      (SELECT COUNT(*) FROM evidence_marks m WHERE m.rating_id = r.id AND m.note = ?)
               FROM ratings r JOIN recorded_sessions s ON s.id = r.session_id JOIN users u ON u.id = r.rater_id
               WHERE u.username = 'rater' AND r.kind = 'rater' AND s.case_pseudonym = 'Case T1' AND s.session_number = 2""",
            (NOTE,)).fetchone()
    assert (status, n_scores, n_marks) == ("submitted", n_items, 1)
