"""Browser check of the rating workspace's fragment (issue 16): an item score reruns only the
progress and the items, so what the page shows must still follow every score, and a score made
after the account was deactivated elsewhere must save nothing and end on the sign-in page (the
fragment hands over to a run of the whole page). AppTest runs whole scripts only, so this needs
a browser."""

import re
import sqlite3

import pytest

from .conftest import sign_in
from .test_journey_rater import SESSION, open_from_queue, score
from .test_journey_trainee import settle

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.e2e


def _draft_scores(server) -> int:
    with sqlite3.connect(server.data_dir / "app.db") as conn:
        return conn.execute("""SELECT COUNT(*) FROM item_scores i JOIN ratings r ON r.id = i.rating_id
                               JOIN users u ON u.id = r.rater_id WHERE u.username = 'rater' AND r.status = 'draft'
                               AND i.score IS NOT NULL""").fetchone()[0]


def test_fragment_runs_keep_the_progress_current_and_stop_when_the_account_ends(demo_server, page):
    sign_in(page, demo_server.url, "rater", "rater-demo-pass")
    open_from_queue(page, SESSION)
    before = _draft_scores(demo_server)  # the rater's drafts of other demo sessions
    main = page.get_by_test_id("stMain")
    items = page.locator("[class*='st-key-item_']")
    score(items.nth(0), "2")  # starts the draft: a run of the whole page
    settle(page)
    expect(main).to_contain_text(re.compile(r"Items scored or N/A: 1 of \d+"))
    for n, value in ((1, "5"), (2, "5")):  # runs of the fragment only
        score(items.nth(n), value)
        settle(page)
    expect(main).to_contain_text(re.compile(r"Items scored or N/A: 3 of \d+"))
    expect(main).to_contain_text("Session score so far: 4.00")  # (2 + 5 + 5) / 3
    # the own draft is not repeated below, where a fragment run would leave it behind
    expect(main).not_to_contain_text("draft, not submitted")
    assert _draft_scores(demo_server) == before + 3

    with sqlite3.connect(demo_server.data_dir / "app.db") as conn:  # an admin deactivates the account elsewhere
        conn.execute("UPDATE users SET active = 0 WHERE username = 'rater'")
    items.nth(3).get_by_role("radio", name="4", exact=True).click()
    page.get_by_role("button", name="Sign in").wait_for()
    expect(page.get_by_role("heading", name="Rating workspace")).to_have_count(0)
    assert _draft_scores(demo_server) == before + 3  # the score clicked after the account ended is not saved
