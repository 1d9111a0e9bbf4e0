"""Many people at once in real browsers (issue 16): ``python -m benchmarks --concurrency [SECONDS] [--browsers N ...]``.

The real server (``streamlit run app.py``, as the README runs it) is started in a subprocess on
a benchmark database, and N Playwright pages of one headless Chromium (Debian's
``/usr/bin/chromium``, each page in its own browser context, so its own sign-in cookie) sign in
and work for SECONDS. Out of 20: 12 raters each open a fresh assigned session from the rating
queue (searching it by name), score every item one click at a time, add an evidence mark and
submit, then take the next; 6 trainees answer vignettes (a free-text answer typed and committed)
and log supervised clinical hours; 1 supervisor opens Supervisees and Home in turn; 1
administrator opens Credential review and the Reliability report in turn. Each person pauses
``think_s`` between actions, as a reader would.

A **visit** is timed in the harness from the click (or key press) to the end of the Streamlit
run it started: the app root's ``data-test-script-state`` attribute is watched by a
MutationObserver installed in every page, which counts the runs that finish (``running`` ->
``notRunning``), and a visit ends when that count has moved on and the page-specific element
is visible. A visit fails when it takes over ``VISIT_TIMEOUT_S``, shows the app's error
message, or does not show what the action should have done; the reason is kept.

A write is **acknowledged** when the page showed it saved (the score checked after the run, the
evidence mark listed, "saved." shown, the answer still in its box); after the run each one is
looked up in the database: a key is lost when the database holds neither its last acknowledged
value nor a value written after it (a later write that timed out may still have landed).

The server's memory is the resident set of its process tree, sampled every 0.5 s (psutil); CPU
time is counted apart for the server, the browser (Chromium and Playwright's driver) and this
harness, with the load average before and after: on a 2-core machine the browsers compete with
the server for the same cores.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

# the parts the client driver (benchmarks/clients.py) shares; imported here under their old names too
from benchmarks.workload import (APP_ERROR, PASSWORD, ROOT, SESSIONS_PER_RATER, VISIT_TIMEOUT_S, WARM_UP,  # noqa: F401
                                 Person, Sampler, Server, Visit, WriteLedger, free_port, lost_writes, percentile, plan,
                                 prepare, read_found, run_async, sign_in_and_warm_up, summarize)

CHROMIUM = os.environ.get("IPT_TRAINING_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
READY_TIMEOUT_MS = 30_000  # then the page must show what the action should have done within this

# Counts the Streamlit runs that end in this page, from the server's own word: every message on
# the app's WebSocket is a ForwardMsg (protobuf); one whose field 6 (script_finished) says 0
# (finished) or 3 (a fragment's run finished) ends a run; 2 (stopped early for a rerun) does not.
# The time from the page's rerun request (a BackMsg with field 11, rerun_script) to that end is
# kept too: the server's part of a visit as the page sees it, without drawing the page or
# Playwright's own round trips.
# The app root's data-test-script-state attribute alone can miss a fast run (React may draw
# "running" and "notRunning" in one render). __benchWait(n, ms) resolves true once more than n
# runs have ended and the root says none is running, false after ms; it waits without polling
# (Playwright's own waits poll on every animation frame, which in 20 pages took a good part of
# the two cores).
RUN_WATCH = """
window.__benchRuns = 0;
window.__benchWaiters = [];
const benchIdle = () => document.querySelector("[data-testid='stApp']")?.getAttribute('data-test-script-state')
  !== 'running';
const benchWake = () => {
  window.__benchWaiters = window.__benchWaiters.filter((w) => {
    if (window.__benchRuns > w.n && benchIdle()) { w.resolve(true); return false; }
    return true;
  });
};
const benchFields = (b) => {  // top-level field numbers of one protobuf message -> varint value (or -1)
  const out = new Map();
  let i = 0;
  const varint = () => { let x = 0, s = 0, c; do { c = b[i++]; x += (c & 0x7f) * 2 ** s; s += 7; } while (c & 0x80); return x; };
  while (i < b.length) {
    const tag = varint(), field = Math.floor(tag / 8), wire = tag & 7;
    if (wire === 0) { out.set(field, varint()); }
    else if (wire === 2) { const n = varint(); i += n; out.set(field, -1); }  // (not i += varint(): i is read first)
    else if (wire === 5) { i += 4; } else if (wire === 1) { i += 8; } else { break; }
  }
  return out;
};
window.__benchSentAt = null;
window.__benchServerMs = null;
const benchMessage = (bytes) => {  // a ForwardMsg: field 6 is script_finished
  const status = benchFields(bytes).get(6);
  if (status === 0 || status === 3) {
    window.__benchRuns += 1;
    if (window.__benchSentAt !== null) {
      window.__benchServerMs = performance.now() - window.__benchSentAt;
      window.__benchSentAt = null;
    }
    benchWake();
  }
};
const BenchNativeSocket = window.WebSocket;
window.WebSocket = class extends BenchNativeSocket {
  send(data) {  // a BackMsg: field 11 is rerun_script, the request a click or key press makes
    try {
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data)
        ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
      if (bytes && benchFields(bytes).has(11) && window.__benchSentAt === null) window.__benchSentAt = performance.now();
    } catch (e) { /* never in the app's way */ }
    return super.send(data);
  }
  constructor(...args) {
    super(...args);
    this.addEventListener('message', (e) => {
      if (e.data instanceof ArrayBuffer) benchMessage(new Uint8Array(e.data));
      else if (e.data instanceof Blob) e.data.arrayBuffer().then((b) => benchMessage(new Uint8Array(b)));
    });
  }
};
new MutationObserver(benchWake).observe(document, {attributes: true, subtree: true,
                                                   attributeFilter: ['data-test-script-state']});
window.__benchWait = (n, ms) => new Promise((resolve) => {
  if (window.__benchRuns > n && benchIdle()) { resolve(true); return; }
  window.__benchWaiters.push({n, resolve});
  setTimeout(() => resolve(false), ms);
});
"""


# --- one browser tab ---------------------------------------------------------------------------


class Tab:
    """One person's page: visits timed to the end of the Streamlit run they start."""

    def __init__(self, page, url: str, person: Person, ledger: WriteLedger, visits: list[Visit], think_s: float):
        self.page, self.url, self.person, self.ledger, self.visits, self.think_s = page, url, person, ledger, visits, think_s
        self.recording = True  # False while warming up

    async def runs_ended(self, after: int) -> None:
        """Wait until more than ``after`` runs have ended in this page and none is running."""
        if not await self.page.evaluate("([n, ms]) => window.__benchWait(n, ms)", [after, VISIT_TIMEOUT_S * 1000]):
            raise TimeoutError(f"no Streamlit run ended within {VISIT_TIMEOUT_S} s")

    async def settle(self) -> None:
        await self.page.wait_for_timeout(200)
        await self.runs_ended(-1)

    async def visit(self, kind: str, action, ready=None) -> bool:
        """Run ``action`` (a click, a key press), wait for the run it starts to end and ``ready`` (an
        awaitable check that raises when the page does not show what it should); time it."""
        page = self.page
        before = await page.evaluate("window.__benchSentAt = null, window.__benchServerMs = null, window.__benchRuns")
        t0 = time.perf_counter()
        error = server_ms = None
        try:
            await action()
            await self.runs_ended(before)
            if ready is not None:
                await ready()
                await self.runs_ended(-1)  # a run the first one started
        except Exception as exc:  # noqa: BLE001 - a failed visit is counted with its reason
            if isinstance(exc, TimeoutError):  # ours: the run did not end
                error = f"no run ended within {VISIT_TIMEOUT_S} s"
            elif "Timeout" in type(exc).__name__:  # Playwright's: the page did not show it
                error = f"not shown within {READY_TIMEOUT_MS // 1000} s after the run"
                try:  # widgets whose code never got drawn stay grey placeholders: say so
                    if await page.get_by_test_id("stMain").get_by_test_id("stSkeleton").count():
                        error += " (widgets still placeholders)"
                except Exception:  # noqa: BLE001 - the reason above stands
                    pass
            else:
                error = f"{type(exc).__name__}: {str(exc)[:80]}"
        ms = (time.perf_counter() - t0) * 1000
        if error is None and await page.get_by_text(APP_ERROR).count():
            error = "the app's error message"
        if error is None:
            server_ms = await page.evaluate("window.__benchServerMs")
        if self.recording:
            self.visits.append(Visit(kind, ms, error, server_ms))
        return error is None

    async def think(self) -> None:
        await asyncio.sleep(self.think_s)

    async def sign_in(self) -> None:
        page = self.page
        await page.goto(self.url)
        await page.get_by_label("Sign-in name").fill(self.person.username)
        await page.get_by_label("Password", exact=True).fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_text("Welcome,").first.wait_for(timeout=VISIT_TIMEOUT_S * 1000)
        await self.settle()

    async def recover(self) -> None:
        """After a failed visit: load the app again (the sign-in cookie keeps the person signed in)."""
        try:
            await self.page.goto(self.url)
            await self.page.get_by_text("Welcome,").first.wait_for(timeout=VISIT_TIMEOUT_S * 1000)
            await self.settle()
        except Exception:  # noqa: BLE001 - the next visit will fail and say why
            pass

    async def nav(self, kind: str, title: str, ready_text: str | None = None) -> bool:
        """Open a page from the sidebar menu."""
        page = self.page
        link = page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True)

        async def ready():
            await page.get_by_role("heading", name=ready_text or title).first.wait_for(timeout=READY_TIMEOUT_MS)

        return await self.visit(kind, link.click, ready)


# --- what each person does ------------------------------------------------------------------


async def admin_work(tab: Tab, deadline: float) -> None:
    while time.perf_counter() < deadline:
        for kind, title in (("credential review", "Credential review"), ("reliability report", "Reliability report")):
            if not await tab.nav(kind, title):
                await tab.recover()
            await tab.think()


async def supervisor_work(tab: Tab, deadline: float) -> None:
    while time.perf_counter() < deadline:
        for kind, title, heading in (("supervisees", "Supervisees", None), ("home", "Home", "Welcome,")):
            if not await tab.nav(kind, title, heading):
                await tab.recover()
            await tab.think()


async def rater_work(tab: Tab, deadline: float) -> None:
    """Open each assigned bench session from the queue, score every item, add a mark, submit."""
    page, me = tab.page, tab.person
    main = page.get_by_test_id("stMain")
    for n, (sid, pseudonym) in enumerate(me.sessions):
        while time.perf_counter() < deadline:
            if await rate_one(tab, main, n, sid, pseudonym, deadline):
                break
            await tab.recover()
        if time.perf_counter() >= deadline:
            return


async def rate_one(tab: Tab, main, n: int, sid: int, pseudonym: str, deadline: float) -> bool:
    """One session from queue to submission; False when a visit failed (the caller starts again)."""
    page, me, ledger = tab.page, tab.person, tab.ledger
    if not await tab.nav("rating queue", "Rating queue"):
        return False
    await tab.think()
    box = page.get_by_label("Search session, therapist or number")
    row = page.locator(f".st-key-rq_row_{sid}")

    async def search():
        await box.fill(pseudonym)
        await box.press("Enter")

    if not await tab.visit("queue search", search, lambda: row.wait_for(timeout=READY_TIMEOUT_MS)):
        return False
    await tab.think()
    items = page.locator(f"[class*='st-key-item_{sid}_rater_']")
    # ready when the first item's score buttons are drawn (until then Streamlit shows a placeholder)
    if not await tab.visit("rating workspace", row.get_by_role("button").click,
                           lambda: items.first.get_by_role("radio").first.wait_for(timeout=READY_TIMEOUT_MS)):
        return False
    await tab.think()
    count = await items.count()
    for i in range(count):
        if time.perf_counter() >= deadline:
            return True
        item = items.nth(i)
        if await item.locator("[aria-checked='true']").count():
            continue  # scored before a failed visit
        classes = await item.get_attribute("class")
        item_id = next(c for c in classes.split() if c.startswith(f"st-key-item_{sid}_rater_"))
        item_id = item_id.removeprefix(f"st-key-item_{sid}_rater_")
        score = 2 + (n + i) % 3
        key = ("item", me.user_id, sid, item_id)
        radio = item.get_by_role("radio", name=str(score), exact=True)
        chosen = item.get_by_role("radio", name=str(score), exact=True, checked=True)
        ledger.attempt(key, score)
        if not await tab.visit("score an item", radio.click, lambda: chosen.wait_for(timeout=READY_TIMEOUT_MS)):
            return False
        ledger.acknowledge(key, score)
        await tab.think()
        if i == 0:  # an evidence mark once the draft exists
            note = f"Bench mark by {me.username} on {pseudonym}"
            key = ("mark", me.user_id, sid, note)
            ledger.attempt(key, True)

            async def add_mark():
                await page.get_by_label("Note", exact=True).fill(note)
                await page.get_by_role("button", name="Add evidence mark").click()

            if not await tab.visit("add an evidence mark", add_mark,
                                   lambda: main.get_by_text(note).first.wait_for(timeout=READY_TIMEOUT_MS)):
                return False
            ledger.acknowledge(key, True)
            await tab.think()
    if time.perf_counter() >= deadline:
        return True
    key = ("submitted", me.user_id, sid)
    ledger.attempt(key, "submitted")
    if not await tab.visit("submit a rating", page.get_by_role("button", name="Submit rating").click,
                           lambda: page.get_by_role("heading", name="Your rating (submitted)").wait_for(timeout=READY_TIMEOUT_MS)):
        return False
    ledger.acknowledge(key, "submitted")
    await tab.think()
    return True


async def trainee_work(tab: Tab, deadline: float) -> None:
    """Answer the vignette (three answers per round), then log clinical hours; again."""
    n = 0
    while time.perf_counter() < deadline:
        ok = await answer_vignette(tab, n, deadline)
        n += 3
        if not ok or (time.perf_counter() < deadline and not await log_hours(tab, n)):
            await tab.recover()


async def answer_vignette(tab: Tab, n: int, deadline: float) -> bool:
    """Open the vignette from the library (starting an attempt if none is in progress) and type
    three answers; False when a visit failed."""
    page, me, ledger = tab.page, tab.person, tab.ledger
    if not await tab.nav("vignette library", "Vignette library"):
        return False
    await tab.think()
    card = page.locator(f".st-key-lib_card_{me.vignette}")
    if not await tab.visit("vignette workspace", card.get_by_role("button").click,
                           lambda: page.get_by_role("heading", name="Vignette workspace").wait_for(timeout=READY_TIMEOUT_MS)):
        return False
    await tab.think()
    for label in ("Start this vignette", "Retake this vignette"):
        start = page.get_by_role("button", name=label)
        if await start.count():
            if not await tab.visit("start a vignette", start.click,
                                   lambda: page.get_by_text("draft saved as you go").first.wait_for(timeout=READY_TIMEOUT_MS)):
                return False
            await tab.think()
    boxes = page.get_by_test_id("stMain").locator("textarea:enabled")
    for k in range(n + 1, n + 4):
        if time.perf_counter() >= deadline:
            return True
        if not await boxes.count():
            return True  # nothing left to type in (a committed focus and no moment revealed)
        box = boxes.nth(k % await boxes.count())
        label = await box.get_attribute("aria-label")
        text = f"Bench answer {k} by {me.username}: I would ask how the loss changed her days."
        key = ("answer", me.user_id, me.vignette, label)
        ledger.attempt(key, text)

        async def type_answer(box=box, text=text):
            await box.fill(text)
            await box.press("Tab")

        async def kept(box=box, text=text):
            from playwright.async_api import expect

            await expect(box).to_have_value(text, timeout=READY_TIMEOUT_MS)

        if not await tab.visit("vignette answer", type_answer, kept):
            return False
        ledger.acknowledge(key, text)
        await tab.think()
    return True


async def log_hours(tab: Tab, n: int) -> bool:
    """Log supervised clinical hours on My training log; False when a visit failed."""
    page, me, ledger = tab.page, tab.person, tab.ledger
    if not await tab.nav("training log", "My training log"):
        return False
    await tab.think()
    await page.get_by_role("tab", name="Clinical hours").click()
    await tab.settle()
    setting = page.get_by_label("Setting (optional)")
    if not await setting.is_visible():
        await page.get_by_text("Log supervised clinical hours").click()
        await tab.settle()
    text = f"Bench clinic {n} of {me.username}"
    key = ("hours", me.user_id, text)
    ledger.attempt(key, True)

    async def save():
        await setting.fill(text)
        await page.get_by_role("button", name="Save clinical hours").click()

    if not await tab.visit("log entry", save,
                           lambda: page.get_by_text("of supervised clinical practice saved.").wait_for(timeout=READY_TIMEOUT_MS)):
        return False
    ledger.acknowledge(key, True)
    await tab.think()
    return True


# pages each person opens once before the clock starts (a server that has been up has built its caches)
WORK = {"admin": admin_work, "supervisor": supervisor_work, "rater": rater_work, "trainee": trainee_work}


# --- the run -----------------------------------------------------------------------------------


def renice_browsers(server_pid: int, nice: int) -> int:
    """Lower the priority of this process's descendants but the server's tree (the browser, its
    renderers and zygote, whose later children inherit it, and Playwright's driver); how many."""
    import psutil

    server = psutil.Process(server_pid)
    ids = {server_pid} | {p.pid for p in server.children(recursive=True)}
    n = 0
    for p in psutil.Process().children(recursive=True):
        if p.pid not in ids:
            try:
                p.nice(nice)
                n += 1
            except psutil.Error:
                pass
    return n


async def _drive(url: str, people: list[Person], seconds: float, think_s: float, ledger: WriteLedger,
                 visits: list[Visit], sampler: Sampler, browser_nice: int = 0) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            tabs = []
            for person in people:
                context = await browser.new_context(viewport={"width": 1400, "height": 1000})
                await context.add_init_script(RUN_WATCH)
                page = await context.new_page()
                page.set_default_timeout(VISIT_TIMEOUT_S * 1000)
                tabs.append(Tab(page, url, person, ledger, visits, think_s))
            if browser_nice:
                renice_browsers(sampler.server.pid, browser_nice)
            signed = await sign_in_and_warm_up(tabs)
            sampler.mark()
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            deadline = t0 + seconds
            await asyncio.gather(*(WORK[t.person.role](t, deadline) for t in tabs))
            elapsed = time.perf_counter() - t0
            sampler.stop()  # memory and CPU with every session still open
            return {"sign_in_s": round(signed, 1), "seconds": round(elapsed, 1),
                    "load_at_start": round(load, 2), "load_at_end": round(os.getloadavg()[0], 2)}
        finally:
            await browser.close()


def measure_browsers(db_path: Path, seconds: float = 60, browsers: int = 20, think_s: float = 2.0,
                     data_dir: Path | None = None, browser_nice: int = 0) -> dict:
    """``browsers`` people at work for ``seconds`` on a server of ``db_path`` (see the module).
    ``browser_nice`` > 0 runs the browsers at that lower priority (Unix nice), so that on a small
    machine the server is served first, as it would be were its users' browsers elsewhere."""
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"Chromium not found at {CHROMIUM}: apt-get install chromium (or set IPT_TRAINING_CHROMIUM).")
    roles = plan(browsers)
    people = prepare(db_path, roles)
    data_dir = data_dir or db_path.parent / f"{db_path.stem}_data"
    ledger, visits = WriteLedger(), []
    load_before = os.getloadavg()[0]
    with Server(db_path, data_dir, db_path.parent / f"{db_path.stem}_server.log") as server:
        sampler = Sampler(server.proc.pid)
        sampler.start()
        try:
            run = run_async(_drive(server.url, people, seconds, think_s, ledger, visits, sampler, browser_nice))
        finally:
            resources = sampler.stop()
    expected = ledger.expected()
    lost = lost_writes(ledger, read_found(db_path, expected))
    return {"server_exit_code": server.proc.returncode, "browsers": browsers, "seconds_asked": seconds,
            "roles": {r: roles.count(r) for r in sorted(set(roles))}, "think_s": think_s,
            "browser_nice": browser_nice, "cpus": os.cpu_count(), "load_before": round(load_before, 2), **run,
            **summarize(visits), **resources,
            "writes_acknowledged": ledger.acknowledged, "write_keys": len(expected),
            "write_keys_found": len(expected) - len(lost), "lost_writes": len(lost), "lost_examples": lost[:3]}


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.browsers",
                                     description="Browser sessions at work on a server of an existing benchmark database.")
    parser.add_argument("db", type=Path)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--browsers", type=int, default=20)
    parser.add_argument("--think", type=float, default=2.0, help="seconds each person pauses between actions")
    parser.add_argument("--browser-nice", type=int, default=0, help="run the browsers at this lower priority (nice)")
    args = parser.parse_args()
    print(json.dumps(measure_browsers(args.db, args.seconds, args.browsers, args.think, browser_nice=args.browser_nice),
                     indent=2))


if __name__ == "__main__":
    main()
