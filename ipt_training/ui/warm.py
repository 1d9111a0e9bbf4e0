"""Warming the shared caches when the server starts (issue 16): the first visit after a process
start paid for the imports, the content and the readiness of every standard (2-3 s at scale L).

``app.py`` hands :func:`lifespan` to ``st.App`` (its start-up hook): when the server starts,
one daemon thread (:func:`start`) imports the modules the pages use, loads the content into the
cache the pages read (:func:`.common.get_library`), evaluates every standard's readiness for
the whole body and reads the reliability report's data with its default selection. Everything
it fills is shared by every viewer and holds nothing of one viewer: the readiness of each person
without any blind set, and the report's rows (a viewer's blind set is still applied on top, per
viewer, as before).

It never blocks or breaks a page: the server serves at once; a page that needs something
before the thread has it computes it itself, as without warming; the thread reads on a
connection of its own, only a database that exists and is migrated (the first page makes and
migrates a new one), and any failure is logged and ends the warming. ``IPT_TRAINING_WARM=off``
turns it off.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import importlib
import logging
import os
import threading
import time
from typing import Optional

_log = logging.getLogger(__name__)
# the domain packages and libraries the pages import: loaded once, before anybody waits for them
# (pandas' Styler, for the tables with shaded cells, imports matplotlib: 0.35 s on its first use)
MODULES = ("pandas", "pandas.io.formats.style", "altair", "ipt_training.credentials", "ipt_training.reliability", "ipt_training.fidelity",
           "ipt_training.vignettes", "ipt_training.reports", "ipt_training.dashboard", "ipt_training.ui.charts")

_guard = threading.Lock()
_thread: Optional[threading.Thread] = None
_stop = threading.Event()
last: dict = {}  # seconds per step of the last warming, and "error" if it failed (benchmarks, tests)


def enabled() -> bool:
    return os.environ.get("IPT_TRAINING_WARM", "on").strip().lower() not in ("off", "0", "false", "no")


def warm(stop: Optional[threading.Event] = None) -> dict:
    """Fill the shared caches (see the module); return the seconds each step took."""
    from ..config import get_settings
    from ..store import MIGRATIONS, connect, schema_version
    from .common import get_library

    stop = stop or threading.Event()
    steps: dict = {}

    def step(name: str, fn) -> None:
        if stop.is_set():
            return
        t = time.perf_counter()
        fn()
        steps[name] = round(time.perf_counter() - t, 3)

    step("imports", lambda: [importlib.import_module(m) for m in MODULES])
    library = get_library()
    settings = get_settings()
    if stop.is_set() or not settings.db_path.exists():
        return steps
    db = connect(settings.db_path)
    try:
        if schema_version(db) != max(v for v, _ in MIGRATIONS):
            return steps  # a new or older database: the first page migrates it
        today = _dt.date.today()
        step("readiness", lambda: _readiness(db, library, today))
        step("reliability", lambda: _reliability(db, library))
    finally:
        db.conn.close()
    return steps


def _readiness(db, library, today: _dt.date) -> None:
    """Every standard's readiness of the whole body: the view administrators share (Home, credential
    review), and every person's own assessment, which their own pages reuse."""
    from ..credentials import review

    for sid in sorted(library.standards):
        review.cohort_readiness(db, library, sid, None, today)


def _reliability(db, library) -> None:
    """The reliability report's rows for the page's default selection (the policy's instrument, every
    cohort and phase, the whole rating period) and its statistics without any blind set."""
    from ..reliability import report_data, report_live

    policy = library.certification_policy
    instrument = policy.instrument if policy and policy.instrument in library.instruments else \
        min(library.instruments, default=None, key=lambda i: library.instruments[i].name)
    if instrument is None:
        return
    lo, hi = report_data.rating_period(db)
    report_live.shared_report(db, library, instrument, None, lo.isoformat(), hi.isoformat(), None)


def _run() -> None:
    global last
    t = time.perf_counter()
    try:
        steps = warm(_stop)
        steps["total"] = round(time.perf_counter() - t, 3)
        last = steps
        _log.info("shared caches warmed: %s", steps)
    except Exception as exc:  # never a page's problem: the pages compute what they need themselves
        last = {"error": repr(exc)[:300]}
        _log.warning("warming the shared caches failed: %r", exc)


def start() -> Optional[threading.Thread]:
    """Start the warming thread once per process (None when turned off or already started)."""
    global _thread
    if not enabled():
        return None
    with _guard:
        if _thread is not None:
            return None
        _stop.clear()
        _thread = threading.Thread(target=_run, name="ipt-warm-caches", daemon=True)
        _thread.start()
        return _thread


@contextlib.asynccontextmanager
async def lifespan(app):
    """``st.App``'s start-up hook: start warming, serve at once; at shut-down ask the thread to stop."""
    start()
    try:
        yield None
    finally:
        _stop.set()
