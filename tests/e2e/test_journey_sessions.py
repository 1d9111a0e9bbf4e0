"""Browser journey (issue 17, issue 15 items 1 and 19): staying signed in, and private recordings.

A bookmarked page opened while signed out shows the sign-in form and, after signing in, that
page; a reload and a new tab keep the person signed in (the HttpOnly session cookie, which the
page's script cannot read); the player's source is a per-viewer link that gives no audio to a
browser without the session, nor after sign-out.
"""

import pytest

from .conftest import open_app

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.e2e


def sign_in_here(page, username: str, password: str) -> None:
    page.get_by_label("Sign-in name").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_reload_new_tab_and_bookmark_keep_the_session_and_land_on_the_asked_page(demo_server, page):
    open_app(page, demo_server.url + "/rating_queue")  # a bookmark, opened signed out
    sign_in_here(page, "rater", "rater-demo-pass")
    page.wait_for_url(demo_server.url + "/rating_queue")
    page.get_by_role("heading", name="Rating queue", exact=True).wait_for()

    cookie = next(c for c in page.context.cookies() if c["name"] == "ipt_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert "ipt_session" not in page.evaluate("() => document.cookie")

    page.reload()
    page.wait_for_selector("[data-testid='stApp']")
    page.get_by_role("heading", name="Rating queue", exact=True).wait_for()
    expect(page.get_by_label("Sign-in name")).to_have_count(0)

    other = page.context.new_page()
    open_app(other, demo_server.url + "/calibration")  # another bookmark, in a new tab
    other.get_by_role("heading", name="My calibration", exact=True).wait_for()
    expect(other.get_by_label("Sign-in name")).to_have_count(0)
    other.close()


def test_player_link_gives_no_audio_without_the_session_or_after_sign_out(demo_server, page, browser):
    open_app(page, demo_server.url + "/rating_workspace")
    sign_in_here(page, "rater", "rater-demo-pass")
    page.wait_for_url(demo_server.url + "/rating_workspace")
    audio = page.frame_locator("iframe[src*='rating_player']").locator("audio")  # the workspace's player component
    audio.wait_for(state="attached")
    src = audio.evaluate("a => a.src")
    assert "/recording/" in src and "/media/" not in src

    heard = page.request.get(src)  # this browser, with its cookie
    assert heard.status == 200 and heard.headers["content-type"].startswith("audio/") and len(heard.body()) > 1000

    stranger = browser.new_context()  # the URL copied into another browser
    try:
        refused = stranger.request.get(src)
        assert refused.status in (401, 403) and not refused.headers.get("content-type", "").startswith("audio/")
    finally:
        stranger.close()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Sign-in name").wait_for()
    assert not any(c["name"] == "ipt_session" for c in page.context.cookies())
    after = page.request.get(src)
    assert after.status in (401, 403) and not after.headers.get("content-type", "").startswith("audio/")
    page.reload()
    page.get_by_label("Sign-in name").wait_for()  # signed out for good, reload or not
