"""Many people at once, without browsers (issue 16): ``python -m benchmarks --concurrency [SECONDS] --clients N``.

The same server and the same people as :mod:`benchmarks.browsers` (``streamlit run app.py`` on
the scale's database; of 20: 12 raters, 6 trainees, 1 supervisor, 1 administrator, see
:func:`benchmarks.workload.plan`), but each person's tab is a :class:`benchmarks.stclient.Client`:
Streamlit's WebSocket protocol spoken directly, nothing drawn. On a 2-core machine 20 Chromium
pages take several times the server's CPU, so their visit times measure the browsers; these
clients take little, so the visit times are the server's.

Each person signs in as a browser does: the sign-in form's fields and its button in one run, the
one-time link the page then gives followed over HTTP for the sign-in cookie, and the app loaded
again with it. Then, pausing ``think_s`` between actions (with ``jitter``, each pause is drawn
uniformly from ``think_s * [1 - jitter, 1 + jitter]``, seeded by the person, and each person
starts after a pause drawn from ``[0, think_s]``; without it everyone acts in step, which makes
every rater's visits of one kind arrive at the same moment):

- a **rater** opens the rating queue, searches a fresh session assigned to them by its case
  name, opens it, scores every item (one run per item, as one click each), adds an evidence mark
  after the first score, submits, and takes the next session;
- a **trainee** opens the vignette library, opens their vignette (starting an attempt if none is
  in progress), commits three free-text answers, then logs supervised clinical hours; again;
- the **supervisor** opens Supervisees and Home in turn; the **administrator** Credential review
  and the Reliability report in turn.

A **visit** is timed from the request sent (the BackMsg) to the end of the run it started
(``script_finished``; a run that calls ``st.rerun`` or ``st.switch_page`` ends with the run it
asked for). It fails when no run ends within 60 s, when the page shows the app's error message or
an error, or when it does not show what the action should have done (the heading, the search
result, "saved."); the reason is kept and the person loads the app again. A write is
**acknowledged** when its visit succeeded, and looked up in the database afterwards
(:func:`benchmarks.workload.lost_writes`).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from pathlib import Path
from typing import Awaitable, Callable, Optional

from benchmarks.stclient import Client, Page, RunFailed, choice, http_get, text_value, trigger
from benchmarks.workload import (APP_ERROR, PASSWORD, VISIT_TIMEOUT_S, Person, Sampler, Server, Visit,
                                 WriteLedger, lost_writes, plan, prepare, read_found, run_async,
                                 sign_in_and_warm_up, summarize)


class NotShown(Exception):
    """The run ended but the page does not show what the action should have done."""


class Tab:
    """One person's tab: visits timed from the request to the end of its run."""

    def __init__(self, url: str, person: Person, ledger: WriteLedger, visits: list[Visit], think_s: float,
                 jitter: float = 0.0):
        self.client = Client(url, VISIT_TIMEOUT_S)
        self.person, self.ledger, self.visits, self.think_s = person, ledger, visits, think_s
        self.jitter = jitter
        self.rng = random.Random(person.username)  # the same pauses for the same person in every run
        self.recording = True  # False while warming up

    @property
    def page(self) -> Page:
        return self.client.page

    async def visit(self, kind: str, action: Callable[[], Awaitable[float]],
                    ready: Optional[Callable[[Page], Optional[str]]] = None, errors: bool = False) -> bool:
        """Run ``action`` (one request) and check the page it leaves: ``ready`` returns why the page
        is not as it should be (or None); with ``errors`` an error message the page did not show
        before fails the visit (a save refused)."""
        error = None
        before = set(self.page.errors())
        t0 = time.perf_counter()
        try:
            ms = await action()
        except (RunFailed, LookupError, OSError) as exc:
            ms, error = (time.perf_counter() - t0) * 1000, str(exc) or type(exc).__name__
        if error is None:
            shown = self.page.errors()
            if any(APP_ERROR in e for e in shown):
                error = "the app's error message"
            elif errors and (new := [e for e in shown if e not in before]):
                error = f"an error: {new[0][:80]}"
            elif ready is not None:
                error = ready(self.page)
        if self.recording:
            self.visits.append(Visit(kind, ms, error))
        return error is None

    def pause_s(self) -> float:
        """``think_s``, or with ``jitter`` a pause drawn uniformly from think_s * [1 - jitter, 1 + jitter]."""
        return self.think_s * (1 + self.jitter * self.rng.uniform(-1, 1)) if self.jitter else self.think_s

    async def think(self) -> None:
        await asyncio.sleep(self.pause_s())

    async def sign_in(self) -> None:
        """The sign-in form, the one-time link it gives (the cookie), the app loaded again."""
        c = self.client
        await c.open("")
        name, password = c.page.widget("text_input", "Sign-in name"), c.page.widget("text_input", "Password")
        button = c.page.widget("button", "Sign in")
        if not (name and password and button):
            raise RuntimeError(f"no sign-in form; the page shows {c.page.headings()}")
        await c.rerun(text_value(name.id, self.person.username), text_value(password.id, PASSWORD), trigger(button.id))
        link = next((n.proto.url for n in c.page.walk() if n.kind == "link_button"), None)
        if link is None:
            raise RuntimeError(f"{self.person.username} was not signed in: {c.page.errors() or c.page.headings()}")
        status, headers, cookies = await asyncio.to_thread(http_get, link, c.cookies)
        c.cookies.update(cookies)
        await c.open(headers.get("location", "/").lstrip("/"))
        if not c.page.shows("Welcome,"):
            raise RuntimeError(f"{self.person.username}: no home page after the sign-in link ({status})")

    async def recover(self) -> None:
        """After a failed visit: load the app again (the cookie keeps the person signed in)."""
        try:
            await self.client.open("")
        except Exception:  # noqa: BLE001 - the next visit will fail and say why
            pass

    async def nav(self, kind: str, title: str, heading: Optional[str] = None) -> bool:
        """Open a page of the menu; ready when its heading is shown."""
        heading = heading or title
        return await self.visit(kind, lambda: self.client.navigate(title),
                                lambda page: None if any(h.startswith(heading) for h in page.headings())
                                else f"no heading {heading!r}")


# --- what each person does ------------------------------------------------------------------


async def admin_work(tab: Tab, more: Callable[[], bool]) -> None:
    while more():
        for kind, title in (("credential review", "Credential review"), ("reliability report", "Reliability report")):
            if not await tab.nav(kind, title):
                await tab.recover()
            await tab.think()


async def supervisor_work(tab: Tab, more: Callable[[], bool]) -> None:
    while more():
        for kind, title, heading in (("supervisees", "Supervisees", None), ("home", "Home", "Welcome,")):
            if not await tab.nav(kind, title, heading):
                await tab.recover()
            await tab.think()


async def rater_work(tab: Tab, more: Callable[[], bool]) -> None:
    """Open each assigned bench session from the queue, score every item, add a mark, submit."""
    for n, (sid, pseudonym) in enumerate(tab.person.sessions):
        while more():
            if await rate_one(tab, n, sid, pseudonym, more):
                break
            await tab.recover()
        if not more():
            return


def _item_blocks(page: Page, sid: int):
    prefix = f"item_{sid}_rater_"
    return [(b.key.removeprefix(prefix), b) for b in page.blocks(prefix)]


async def rate_one(tab: Tab, n: int, sid: int, pseudonym: str, more: Callable[[], bool]) -> bool:
    """One session from queue to submission; False when a visit failed (the caller starts again)."""
    c, me, ledger = tab.client, tab.person, tab.ledger
    if not await tab.nav("rating queue", "Rating queue"):
        return False
    await tab.think()
    box = c.page.widget("text_input", "Search session, therapist or number")
    if box is None or not await tab.visit(
            "queue search", lambda: c.rerun(text_value(box.id, pseudonym)),
            lambda page: None if page.block(f"rq_row_{sid}") else "the session is not in the search's result"):
        return False
    await tab.think()
    row = c.page.block(f"rq_row_{sid}")
    button = c.page.widget("button", under=row)
    if button is None or not await tab.visit(
            "rating workspace", lambda: c.rerun(trigger(button.id)),
            lambda page: None if any(page.widget("button_group", under=b) for _, b in _item_blocks(page, sid))
            else "no score buttons"):
        return False
    await tab.think()
    for i, (item_id, _) in enumerate(_item_blocks(c.page, sid)):
        if not more():
            return True
        key = ("item", me.user_id, sid, item_id)
        if key in ledger.expected():
            continue  # scored before a failed visit
        block = c.page.block(f"item_{sid}_rater_{item_id}")
        control = c.page.widget("button_group", under=block) if block else None
        if control is None:
            return False
        score = 2 + (n + i) % 3
        ledger.attempt(key, score)
        if not await tab.visit("score an item", lambda: c.rerun(choice(control.id, str(score))),
                               lambda page: None if page.shows("(draft, saved as you go)") else "not saved as a draft",
                               errors=True):
            return False
        ledger.acknowledge(key, score)
        await tab.think()
        if i == 0:  # an evidence mark once the draft exists
            note = f"Bench mark by {me.username} on {pseudonym}"
            field, submit = c.page.widget("text_input", "Note"), c.page.widget("button", "Add evidence mark")
            if field is None or submit is None:
                return False
            key = ("mark", me.user_id, sid, note)
            ledger.attempt(key, True)
            if not await tab.visit("add an evidence mark", lambda: c.rerun(text_value(field.id, note), trigger(submit.id)),
                                   lambda page: None if page.shows(note) else "the mark is not listed", errors=True):
                return False
            ledger.acknowledge(key, True)
            await tab.think()
    if not more():
        return True
    submit = c.page.widget("button", "Submit rating")
    key = ("submitted", me.user_id, sid)
    ledger.attempt(key, "submitted")
    if submit is None or not await tab.visit(
            "submit a rating", lambda: c.rerun(trigger(submit.id)),
            lambda page: None if "Your rating (submitted)" in page.headings() else "not shown submitted", errors=True):
        return False
    ledger.acknowledge(key, "submitted")
    await tab.think()
    return True


async def trainee_work(tab: Tab, more: Callable[[], bool]) -> None:
    """Answer the vignette (three answers per round), then log clinical hours; again."""
    n = 0
    while more():
        ok = await answer_vignette(tab, n, more)
        n += 3
        if not ok or (more() and not await log_hours(tab, n)):
            await tab.recover()


async def answer_vignette(tab: Tab, n: int, more: Callable[[], bool]) -> bool:
    """Open the vignette from the library (starting an attempt if none is in progress) and commit
    three answers; False when a visit failed."""
    c, me, ledger = tab.client, tab.person, tab.ledger
    if not await tab.nav("vignette library", "Vignette library"):
        return False
    await tab.think()
    card = c.page.block(f"lib_card_{me.vignette}")
    button = c.page.widget("button", under=card) if card else None
    if button is None or not await tab.visit(
            "vignette workspace", lambda: c.rerun(trigger(button.id)),
            lambda page: None if "Vignette workspace" in page.headings() else "no workspace"):
        return False
    await tab.think()
    for label in ("Start this vignette", "Retake this vignette"):
        start = c.page.widget("button", label)
        if start is not None:
            if not await tab.visit("start a vignette", lambda: c.rerun(trigger(start.id)),
                                   lambda page: None if page.shows("draft saved as you go") else "no draft",
                                   errors=True):
                return False
            await tab.think()
    for k in range(n + 1, n + 4):
        if not more():
            return True
        boxes = [w for w in c.page.widgets("text_area", root=0) if not w.proto.disabled]
        if not boxes:
            return True  # nothing left to type in (a committed focus and no moment revealed)
        box = boxes[k % len(boxes)]
        text = f"Bench answer {k} by {me.username}: I would ask how the loss changed her days."
        key = ("answer", me.user_id, me.vignette, box.label)
        ledger.attempt(key, text)

        def kept(page: Page, box_id=box.id, text=text) -> Optional[str]:
            now = next((w for w in page.widgets("text_area") if w.id == box_id), None)
            if now is None:
                return "the answer box is gone"
            return "the box was emptied" if now.proto.set_value and now.proto.value != text else None

        if not await tab.visit("vignette answer", lambda: c.rerun(text_value(box.id, text)), kept, errors=True):
            return False
        ledger.acknowledge(key, text)
        await tab.think()
    return True


async def log_hours(tab: Tab, n: int) -> bool:
    """Log supervised clinical hours on My training log; False when a visit failed."""
    c, me, ledger = tab.client, tab.person, tab.ledger
    if not await tab.nav("training log", "My training log"):
        return False
    await tab.think()
    field, save = c.page.widget("text_input", "Setting (optional)"), c.page.widget("button", "Save clinical hours")
    if field is None or save is None:
        return False
    text = f"Bench clinic {n} of {me.username}"
    key = ("hours", me.user_id, text)
    ledger.attempt(key, True)
    if not await tab.visit("log entry", lambda: c.rerun(text_value(field.id, text), trigger(save.id)),
                           lambda page: None if page.shows("of supervised clinical practice saved.") else "not saved",
                           errors=True):
        return False
    ledger.acknowledge(key, True)
    await tab.think()
    return True


WORK = {"admin": admin_work, "supervisor": supervisor_work, "rater": rater_work, "trainee": trainee_work}


# --- the run -----------------------------------------------------------------------------------


async def drive(url: str, people: list[Person], seconds: float, think_s: float, ledger: WriteLedger,
                visits: list[Visit], sampler: Sampler, warm_up: bool = True, until_writes: int = 0,
                jitter: float = 0.0) -> dict:
    """Sign everyone in (two at a time: the server checks two passwords at once), open each
    person's pages once (``warm_up``), then let everyone work for ``seconds`` (and on, for at
    most a visit's timeout, until ``until_writes`` writes are acknowledged: a smoke test's few
    seconds on a busy machine may end before the first write)."""
    tabs = [Tab(url, p, ledger, visits, think_s, jitter) for p in people]
    try:
        signed = await sign_in_and_warm_up(tabs, warm_up)
        sampler.mark()
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        deadline = t0 + seconds

        def more() -> bool:  # the clock runs; past it only while fewer than until_writes writes are acknowledged
            now = time.perf_counter()
            return now < deadline or (ledger.acknowledged < until_writes and now < deadline + VISIT_TIMEOUT_S)

        async def work(tab: Tab) -> None:
            if jitter:  # people do not all start at the same moment: each after a pause of its own
                await asyncio.sleep(tab.rng.uniform(0, think_s))
            await WORK[tab.person.role](tab, more)

        await asyncio.gather(*(work(t) for t in tabs))
        elapsed = time.perf_counter() - t0
        sampler.stop()  # memory and CPU with every session still open
        return {"sign_in_s": round(signed, 1), "seconds": round(elapsed, 1),
                "cached_refs": sum(t.client.refs for t in tabs), "unknown_refs": sum(t.client.unknown_refs for t in tabs),
                "load_at_start": round(load, 2), "load_at_end": round(os.getloadavg()[0], 2)}
    finally:
        await asyncio.gather(*(t.client.close() for t in tabs), return_exceptions=True)


def run_clients(url: str, server_pid: int, db_path: Path, people: list[Person], seconds: float, think_s: float,
                warm_up: bool = True, until_writes: int = 0, jitter: float = 0.0) -> dict:
    """``people`` (:func:`benchmarks.workload.prepare`) at work for ``seconds`` on the server at
    ``url`` (process ``server_pid``) of ``db_path``: visits, memory and CPU, writes acknowledged
    and found."""
    roles = [p.role for p in people]
    ledger, visits = WriteLedger(), []
    sampler = Sampler(server_pid)
    sampler.start()
    try:
        run = run_async(drive(url, people, seconds, think_s, ledger, visits, sampler, warm_up, until_writes, jitter))
    finally:
        resources = sampler.stop()
    expected = ledger.expected()
    lost = lost_writes(ledger, read_found(db_path, expected))
    resources = {("client_cpu_s" if k == "harness_cpu_s" else k): v for k, v in resources.items()
                 if k not in ("browser_cpu_s", "browser_peak_pss_mb")}  # the clients are this process
    return {"clients": len(roles), "seconds_asked": seconds, "roles": {r: roles.count(r) for r in sorted(set(roles))},
            "think_s": think_s, "jitter": jitter, "cpus": os.cpu_count(), **run, **summarize(visits), **resources,
            "writes_acknowledged": ledger.acknowledged, "write_keys": len(expected),
            "write_kinds": {k: sum(1 for key in expected if key[0] == k) for k in sorted({key[0] for key in expected})},
            "write_keys_found": len(expected) - len(lost), "lost_writes": len(lost), "lost_examples": lost[:3]}


def measure_clients(db_path: Path, seconds: float = 60, clients: int = 20, think_s: float = 2.0,
                    data_dir: Optional[Path] = None, jitter: float = 0.0) -> dict:
    """``clients`` people at work for ``seconds`` on a server of ``db_path`` (see the module)."""
    data_dir = data_dir or db_path.parent / f"{db_path.stem}_data"
    people = prepare(db_path, plan(clients))
    load_before = os.getloadavg()[0]
    with Server(db_path, data_dir, db_path.parent / f"{db_path.stem}_server.log") as server:
        out = run_clients(server.url, server.proc.pid, db_path, people, seconds, think_s, jitter=jitter)
    return {"server_exit_code": server.proc.returncode, "load_before": round(load_before, 2), **out}


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.clients",
                                     description="WebSocket clients at work on a server of an existing benchmark database.")
    parser.add_argument("db", type=Path)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--think", type=float, default=2.0, help="seconds each person pauses between actions")
    parser.add_argument("--jitter", type=float, default=0.0, help="pauses drawn from think * [1 - J, 1 + J] and "
                        "starts spread over one pause (default 0: everyone in step)")
    args = parser.parse_args()
    print(json.dumps(measure_clients(args.db, args.seconds, args.clients, args.think, jitter=args.jitter), indent=2))


if __name__ == "__main__":
    main()
