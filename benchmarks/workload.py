"""What the concurrency benchmarks share (issue 16): who works (the plan of roles, the people
and their data), the write ledger and the lost-write lookup, the real server in a subprocess,
the memory and CPU sampler, and the percentiles of the visits.

Two drivers use it: :mod:`benchmarks.browsers` (real Chromium pages, Playwright) and
:mod:`benchmarks.clients` (Streamlit's WebSocket protocol spoken directly, no rendering).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password"  # set on the accounts the harness signs in as (the database is a benchmark copy)
SESSIONS_PER_RATER = 8
APP_ERROR = "Something went wrong and this page could not be shown"
VISIT_TIMEOUT_S = 60  # the run a visit started must end within this

# --- pure parts ------------------------------------------------------------------------------


def run_async(coroutine):
    """``asyncio.run(coroutine)`` in a thread of its own: the calling thread may already run an
    event loop (Playwright's sync API keeps one running in the thread that started it, as the
    browser tests do), and ``asyncio.run`` refuses to start inside one."""
    with ThreadPoolExecutor(1) as worker:
        return worker.submit(asyncio.run, coroutine).result()


async def sign_in_and_warm_up(tabs, warm_up: bool = True) -> float:
    """Sign every tab in, two at a time (the server checks two passwords at once,
    ``IPT_TRAINING_SIGN_IN_CONCURRENCY``), then with ``warm_up`` open each person's pages once
    (``WARM_UP``), not recorded; the seconds the sign-ins took. A tab has ``sign_in()``,
    ``nav(kind, title)`` and ``recording`` (the browser and the WebSocket drivers' tabs)."""
    t0 = time.perf_counter()
    gate = asyncio.Semaphore(2)

    async def sign_in(tab):
        async with gate:
            await tab.sign_in()

    await asyncio.gather(*(sign_in(t) for t in tabs))
    signed = time.perf_counter() - t0

    async def warm(tab):
        tab.recording = False
        for title in WARM_UP[tab.person.role]:
            await tab.nav("warm-up", title)
        tab.recording = True

    if warm_up:
        await asyncio.gather(*(warm(t) for t in tabs))
    return signed


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation between closest ranks (Hyndman
    and Fan's definition 7, numpy's default)."""
    if not values:
        raise ValueError("no values")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass
class Visit:
    kind: str
    ms: float
    error: str | None = None
    server_ms: float | None = None  # rerun request sent -> run finished, seen by the page's WebSocket


def summarize(visits: list[Visit]) -> dict:
    """Visits, failures and median / p95 / max of the visits that succeeded, overall and per kind."""
    def stats(vs: list[Visit]) -> dict:
        ok = [v.ms for v in vs if v.error is None]
        out = {"visits": len(vs), "failed": len(vs) - len(ok)}
        if ok:
            out.update(median_ms=round(statistics.median(ok), 1), p95_ms=round(percentile(ok, 95), 1),
                       max_ms=round(max(ok), 1))
        server = [v.server_ms for v in vs if v.error is None and v.server_ms is not None]
        if server:
            out.update(server_median_ms=round(statistics.median(server), 1),
                       server_p95_ms=round(percentile(server, 95), 1))
        return out

    kinds = sorted({v.kind for v in visits})
    reasons: dict[str, int] = {}
    for v in visits:
        if v.error:
            reasons[f"{v.kind}: {v.error}"] = reasons.get(f"{v.kind}: {v.error}", 0) + 1
    return {**stats(visits), "by_kind": {k: stats([v for v in visits if v.kind == k]) for k in kinds},
            "failures": dict(sorted(reasons.items(), key=lambda kv: -kv[1])[:8])}


def plan(n: int) -> list[str]:
    """The roles of ``n`` browser sessions: of 20, 12 raters, 6 trainees, 1 supervisor, 1 admin;
    the admin and supervisor from 4 sessions on, then 60 % raters (at least one of each)."""
    if n < 1:
        raise ValueError("at least one browser session")
    staff = ["admin", "supervisor"] if n >= 4 else []
    rest = n - len(staff)
    raters = max(1, round(rest * 12 / 18)) if rest > 1 else rest
    return staff + ["rater"] * raters + ["trainee"] * (rest - raters)


class WriteLedger:
    """Writes as the browsers made them: every value attempted per key, in order, and which were
    acknowledged (the page showed them saved)."""

    def __init__(self) -> None:
        self.history: dict[tuple, list[tuple[object, bool]]] = {}
        self.acknowledged = 0
        self._lock = threading.Lock()

    def attempt(self, key: tuple, value) -> None:
        with self._lock:
            self.history.setdefault(key, []).append((value, False))

    def acknowledge(self, key: tuple, value) -> None:
        """Mark the latest attempt of ``value`` at ``key`` acknowledged."""
        with self._lock:
            hist = self.history[key]
            i = max(i for i, (v, _) in enumerate(hist) if v == value)
            hist[i] = (value, True)
            self.acknowledged += 1

    def expected(self) -> dict[tuple, tuple[object, set]]:
        """Per key with an acknowledged write: (last acknowledged value, values attempted after it)."""
        out = {}
        for key, hist in self.history.items():
            acked = [i for i, (_, ok) in enumerate(hist) if ok]
            if acked:
                out[key] = (hist[acked[-1]][0], {v for v, _ in hist[acked[-1] + 1:]})
        return out


def lost_writes(ledger: WriteLedger, found: dict[tuple, set]) -> list[dict]:
    """Keys whose last acknowledged value is not in the database, nor any value written after it.
    ``found`` maps each key to the values the database holds for it (missing: none)."""
    lost = []
    for key, (value, later) in ledger.expected().items():
        stored = found.get(key, set())
        if not stored & ({value} | later):
            lost.append({"key": list(key), "acknowledged": value, "found": sorted(map(str, stored))})
    return lost


def read_found(db_path: Path, keys) -> dict[tuple, set]:
    """What the database holds for each ledger key (see the key kinds in the workers below)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    out: dict[tuple, set] = {}
    try:
        for key in keys:
            kind = key[0]
            if kind == "item":  # (item, rater id, session id, item id) -> score
                rows = conn.execute("""SELECT s.score FROM item_scores s JOIN ratings r ON r.id = s.rating_id
                                       WHERE r.rater_id = ? AND r.session_id = ? AND r.kind = 'rater' AND s.item_id = ?""",
                                    key[1:]).fetchall()
                out[key] = {r[0] for r in rows}
            elif kind == "submitted":  # (submitted, rater id, session id) -> 'submitted'
                rows = conn.execute("SELECT status FROM ratings WHERE rater_id = ? AND session_id = ? AND kind = 'rater'",
                                    key[1:]).fetchall()
                out[key] = {r[0] for r in rows}
            elif kind == "mark":  # (mark, rater id, session id, note) -> True
                n = conn.execute("""SELECT COUNT(*) FROM evidence_marks m JOIN ratings r ON r.id = m.rating_id
                                    WHERE r.rater_id = ? AND r.session_id = ? AND m.note = ?""", key[1:]).fetchone()[0]
                out[key] = {True} if n else set()
            elif kind == "hours":  # (hours, trainee id, setting) -> True
                n = conn.execute("SELECT COUNT(*) FROM clinical_hours WHERE trainee_id = ? AND setting = ?",
                                 key[1:]).fetchone()[0]
                out[key] = {True} if n else set()
            elif kind == "answer":  # (answer, trainee id, vignette id, field label) -> text (anywhere in the answers)
                texts: set = set()
                for (answers,) in conn.execute("SELECT answers FROM vignette_attempts WHERE trainee_id = ? AND vignette_id = ?",
                                               key[1:3]):
                    texts |= set(_strings(json.loads(answers)))
                out[key] = texts
            else:
                raise ValueError(f"unknown write kind {kind!r}")
    finally:
        conn.close()
    return out


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


# --- the people and their data ---------------------------------------------------------------


@dataclass
class Person:
    role: str
    user_id: int
    username: str
    sessions: list[tuple[int, str]] = field(default_factory=list)  # raters: (session id, case pseudonym)
    vignette: str = ""  # trainees


def prepare(db_path: Path, roles: list[str]) -> list[Person]:
    """Choose an account for each role (distinct where the database has enough), give each the
    harness's password, and assign each rater fresh sessions of one trainee, as an admin would."""
    from benchmarks.live import _fresh_sessions, _user_ids
    from ipt_training import auth
    from ipt_training.config import PROJECT_ROOT
    from ipt_training.content import load_library
    from ipt_training.store import open_store

    db = open_store(db_path)
    try:
        supervisors = set(_user_ids(db, "supervisor", 10**6)) | set(_user_ids(db, "admin", 10**6))
        pools = {"admin": _user_ids(db, "admin", 1), "supervisor": _user_ids(db, "supervisor", 1),
                 "rater": [u for u in _user_ids(db, "rater", 10**6) if u not in supervisors]
                 or _user_ids(db, "rater", 10**6),
                 "trainee": _user_ids(db, "trainee", 10**6)}
        owner = pools["trainee"][-1]  # the bench sessions' therapist, not one of the trainees at work
        pools["trainee"] = pools["trainee"][:-1] or [owner]
        vignettes = sorted(load_library(PROJECT_ROOT).vignettes)
        admin = auth.get_user(db, pools["admin"][0])
        people, used = [], {r: 0 for r in pools}
        for role in roles:
            uid = pools[role][used[role] % len(pools[role])]
            used[role] += 1
            name = db.conn.execute("SELECT username FROM users WHERE id = ?", (uid,)).fetchone()[0]
            p = Person(role, uid, name)
            if role == "rater":
                sids = _fresh_sessions(db, admin, uid, owner, SESSIONS_PER_RATER)
                q = ",".join("?" * len(sids))
                p.sessions = db.conn.execute(f"SELECT id, case_pseudonym FROM recorded_sessions WHERE id IN ({q}) "
                                             "ORDER BY id", sids).fetchall()
            if role == "trainee":
                p.vignette = vignettes[(used[role] - 1) % len(vignettes)]
            people.append(p)
        ids = sorted({p.user_id for p in people})
        db.conn.execute(f"UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL "
                        f"WHERE id IN ({','.join('?' * len(ids))})", [auth.hash_password(PASSWORD), *ids])
        db.conn.commit()
    finally:
        db.conn.close()
    return people


# --- the server and the sampler ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``streamlit run app.py`` on ``db_path`` in its own process group, stopped on exit."""

    def __init__(self, db_path: Path, data_dir: Path, log_path: Path):
        self.db_path, self.data_dir, self.log_path = db_path, data_dir, log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Server":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "IPT_TRAINING_DATA_DIR": str(self.data_dir), "IPT_TRAINING_DB": str(self.db_path),
               # every browser signs in from 127.0.0.1: the per-address limit would refuse the 11th
               "IPT_TRAINING_SIGN_IN_PER_CLIENT": "1000"}
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
             "--server.port", str(self.port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.__exit__()
                raise RuntimeError(f"the server stopped at start; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.__exit__()
        raise RuntimeError(f"the server did not answer within 90 s; see {self.log_path}")

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        self._log.close()


class Sampler(threading.Thread):
    """Every ``every`` s: the resident memory (RSS) of the server's process tree and the
    proportional memory (PSS: shared pages split between the processes that share them) of the
    browsers, i.e. this process's other descendants; and every process's CPU time, so that the
    CPU used between ``mark()`` and ``stop()`` is known per group even for processes that ended."""

    def __init__(self, server_pid: int, every: float = 0.5):
        import psutil

        super().__init__(daemon=True)
        self.psutil, self.every = psutil, every
        self.server = psutil.Process(server_pid)
        self.me = psutil.Process()
        self.samples: list[tuple[float, float]] = []  # (server RSS MB, browser PSS MB)
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self.cpu_last: dict[int, tuple[str, float]] = {}  # pid -> (group, CPU seconds last seen)
        self.cpu_base: dict[int, float] | None = None

    def _sample(self) -> None:
        try:
            server = [self.server] + self.server.children(recursive=True)
        except self.psutil.Error:
            server = []
        ids = {p.pid for p in server}
        browser = [p for p in self.me.children(recursive=True) if p.pid not in ids]
        mem = {"server": 0.0, "browser": 0.0}
        with self._lock:
            for group, procs in (("server", server), ("browser", browser), ("harness", [self.me])):
                for p in procs:
                    try:
                        with p.oneshot():
                            self.cpu_last[p.pid] = (group, sum(p.cpu_times()[:2]))
                            if group == "server":
                                mem[group] += p.memory_info().rss / 2**20
                            elif group == "browser":
                                mem[group] += p.memory_full_info().pss / 2**20
                    except self.psutil.Error:  # ended between the listing and the read
                        pass
        if server:
            self.samples.append((mem["server"], mem["browser"]))

    def mark(self) -> None:
        """Start counting CPU time here."""
        self._sample()
        with self._lock:
            self.cpu_base = {pid: cpu for pid, (_, cpu) in self.cpu_last.items()}

    def run(self) -> None:
        while not self._halt.is_set():
            self._sample()
            self._halt.wait(self.every)

    def stop(self) -> dict:
        """Stop sampling (again: the same figures); CPU time counted from ``mark()``."""
        if self._halt.is_set():
            return self.result
        self._sample()
        self._halt.set()
        self.join(timeout=5)
        used = {"server": 0.0, "browser": 0.0, "harness": 0.0}
        base = self.cpu_base or {}
        for pid, (group, cpu) in self.cpu_last.items():
            used[group] += cpu - base.get(pid, 0.0) if self.cpu_base is not None else 0.0
        out = {"samples": len(self.samples), **{f"{k}_cpu_s": round(v, 1) for k, v in used.items()}}
        if self.samples:
            out.update(server_rss_mb=round(self.samples[-1][0], 1),
                       server_peak_rss_mb=round(max(s[0] for s in self.samples), 1),
                       browser_peak_pss_mb=round(max(s[1] for s in self.samples), 1))
        self.result = out
        return out


# pages each person opens once before the clock starts (a server that has been up has built its caches)
WARM_UP = {"admin": ["Credential review", "Reliability report"], "supervisor": ["Supervisees"],
           "rater": ["Rating queue"], "trainee": ["Vignette library", "My training log"]}
