"""Browser journey (issue 4, issue 7): a rater rates an assigned demo session blind, with evidence.

The rater opens 'Case T1, session 2' (assigned, not yet rated; the trainee's self-rating of it is
already submitted) from the queue. In the player (a custom component, issue 17) they choose a
transcript line, play at double speed while the highlight follows, and mark the moment with the
button and, later, with the keyboard (k plays and pauses, m marks, 3 scores the focused item);
each mark is saved at the playback time. They add a mark with an item and a note, score every
applicable item and submit. Until then the self-rating stays hidden; after,
it appears and the rating is locked. Half-way through, a browser refresh (which keeps the sign-in)
must lose none of the scores: every change is saved as a draft at once.
"""

import re
import sqlite3
import time

import pytest

from .conftest import sign_in
from .test_journey_trainee import choose, nav, settle

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.e2e

SESSION = "Case T1, session 2"
SELF_RATING = "Self-rating: Tara Trainee"
BLIND = "Other ratings of this session stay hidden until you submit your own"
NOTE = "Therapist invites the feelings about Alan's death"


# what holds the keyboard focus, looking into the player's frame: where, tag, role, name, outline, item number
FOCUSED = """() => {
  let e = document.activeElement, where = 'page';
  if (e && e.tagName === 'IFRAME') { e = e.contentDocument.activeElement; where = 'frame'; }
  const box = e.closest("[class*='st-key-item_']");
  const boxes = Array.from(document.querySelectorAll("[class*='st-key-item_']"));
  return {where, tag: e.tagName, role: e.getAttribute('role') || '', outline: getComputedStyle(e).outlineStyle,
          name: (e.getAttribute('aria-label') || e.innerText || '').trim().split('\\n')[0],
          item: box ? boxes.indexOf(box) + 1 : 0};
}"""


def player_frame(page):
    """The rating workspace's player component (a same-origin iframe)."""
    return page.frame_locator("iframe[src*='rating_player']")


def media_time(page) -> float:
    return page.frame(url=re.compile("rating_player")).evaluate("() => document.querySelector('audio').currentTime")


def wait_time(page, condition: str, timeout: float = 20_000) -> None:
    """Wait until ``condition`` holds of ``t``, the player's playback time."""
    page.frame(url=re.compile("rating_player")).wait_for_function(
        f"() => {{ const t = document.querySelector('audio').currentTime; return {condition}; }}", timeout=timeout)


def saved_marks(server) -> list[float]:
    """Times of the rater's evidence marks on Case T1 session 2, in the order they were made."""
    with sqlite3.connect(server.data_dir / "app.db") as conn:
        return [r[0] for r in conn.execute(
            """SELECT m.time_s FROM evidence_marks m JOIN ratings r ON r.id = m.rating_id
               JOIN recorded_sessions s ON s.id = r.session_id JOIN users u ON u.id = r.rater_id
               WHERE u.username = 'rater' AND s.case_pseudonym = 'Case T1' AND s.session_number = 2 ORDER BY m.id""")]


def wait_marks(server, n: int) -> None:
    for _ in range(100):
        if len(saved_marks(server)) >= n:
            return
        time.sleep(0.2)
    raise AssertionError(f"expected {n} evidence mark(s), found {saved_marks(server)}")


def open_from_queue(page, label: str) -> None:
    nav(page, "Rating queue")
    # a row of the queue: one horizontal container holding the session's text and its button
    row = (page.get_by_test_id("stHorizontalBlock").filter(has_text=label)
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

    # the player (a custom component in a same-origin frame): choosing the transcript line at 0:45 seeks there,
    # and that line is the highlighted one
    frame = player_frame(page)
    audio = frame.locator("audio")
    audio.wait_for(state="attached")
    assert media_time(page) == 0
    frame.get_by_role("button", name=re.compile(r"^0:45 ")).click()
    wait_time(page, "Math.abs(t - 45.1) < 1")
    expect(frame.locator("li.current")).to_contain_text("0:45")
    expect(frame.get_by_role("button", name=re.compile(r"^0:45 "))).to_have_attribute("aria-current", "time")
    # it plays, at the speed chosen, and the highlight follows playback to the next line (0:54)
    frame.get_by_label("Playback speed").select_option("2")
    frame.get_by_role("button", name="Play").click()
    wait_time(page, "t > 54.5", timeout=30_000)
    expect(frame.locator("li.current")).not_to_contain_text("0:45")
    assert page.frame(url=re.compile("rating_player")).evaluate("() => document.querySelector('audio').playbackRate") == 2
    frame.get_by_role("button", name="Pause").click()
    # "Mark this moment" saves an evidence mark at the playback time
    t1 = media_time(page)
    frame.get_by_role("button", name="Mark this moment").click()
    wait_marks(demo_server, 1)
    assert abs(saved_marks(demo_server)[0] - t1) < 1
    expect(main.get_by_test_id("stHeading").filter(has_text="Your rating (draft, saved as you go)")).to_have_count(1)
    # the mark's time fills the form's time, for a mark with an item and a note (the first mark starts the
    # draft and re-keys the form: wait for the rerun to drop the unstarted form's field before reading it)
    time_field = page.get_by_role("spinbutton", name="Time (seconds)")
    expect(time_field).to_have_count(1)
    expect(time_field).to_have_value(re.compile(rf"^{round(t1, 1):g}"))

    items = page.locator("[class*='st-key-item_']")
    # keyboard only (issue 17, accessibility): Tab from the session selector passes the player's controls
    # and one stop for the whole transcript, then reaches the first item's score; every stop shows an outline
    page.get_by_role("combobox", name="Session").focus()
    stops = []
    for _ in range(30):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUSED)
        stops.append(stop)
        if stop["role"] == "radio":
            break
    names = [f"{s['where']}:{s['name']}" for s in stops]
    assert {"frame:Play", "frame:Mark this moment"} <= set(names) and any(n.startswith("frame:0.75") for n in names), names
    assert sum(1 for s in stops if s["where"] == "frame" and re.match(r"^\d+:\d\d", s["name"])) == 1, names
    assert stops[-1]["role"] == "radio" and stops[-1]["item"] == 1, names
    assert all(s["outline"] != "none" for s in stops if s["tag"] != "AUDIO"), stops
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")  # scores item 1 with 2; the focus stays on the control
    expect(items.first.get_by_role("radio", name="2", exact=True)).to_have_attribute("aria-checked", "true")
    settle(page)
    assert page.evaluate(FOCUSED)["name"] == "2"
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

    # keyboard: on the page (not in the player), k plays and pauses, m marks the playback time
    frame = player_frame(page)
    frame.locator("audio").wait_for(state="attached")
    frame.get_by_role("button", name=re.compile(r"^1:29 ")).click()
    wait_time(page, "Math.abs(t - 89.1) < 1")
    page.get_by_role("heading", name="Rating workspace").click()  # focus leaves the player
    page.keyboard.press("k")
    wait_time(page, "t > 90.5", timeout=30_000)
    page.keyboard.press("k")
    page.wait_for_function("() => document.querySelector(\"iframe[src*='rating_player']\").contentDocument"
                           ".querySelector('audio').paused")
    t2 = media_time(page)
    page.keyboard.press("m")
    wait_marks(demo_server, 2)
    assert abs(saved_marks(demo_server)[1] - t2) < 1
    # 1-5 press that score in the item holding the focus
    target = items.nth(half)
    target.get_by_role("radio", name="1", exact=True).focus()
    page.keyboard.press("3")
    expect(target.get_by_role("radio", name="3", exact=True)).to_have_attribute("aria-checked", "true")
    settle(page)

    # an evidence mark at the last mark's time, tied to an item
    choose(page, page, "Item (optional)", re.compile("^Item \\d+: Takes the interpersonal inventory"))
    page.get_by_label("Note", exact=True).fill(NOTE)
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
    expect(page.get_by_role("combobox", name="Session")).to_have_value(re.compile(rf"{re.escape(SESSION)} .*\[submitted\]$"))
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
    assert len(saved_marks(demo_server)) == 3  # the player's, the key's and the form's
