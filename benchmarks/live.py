"""Live measures (issue 16): cohort-wide pages visited right after writes.

- ``measure_live``: each cohort-wide page (reliability report, credential review, supervisees,
  assignments, rating queue, home of admin and of supervisor) is opened through ``AppTest``
  and warmed; then, repeatedly, one write is made on another connection, as another person's
  browser session would, and every page is visited (rerun) once right after it. The writes:
  (a) a rater saves one item score of a draft rating, (b) a rater submits a rating (the first
  of a new session), (c) a rater submits a second rating of a session others rated (it changes
  every agreement figure and the G study), (d) a trainee's supervisor logs clinical hours for
  the trainee (a new log entry). The empty page (the floor) and the admin's home page with no
  write are measured in the same run.
- ``measure_blind_viewers``: four supervisors each blind to 20 rated sessions (assigned as second
  rater) and the admin visit the reliability report after each of two second ratings: the blind
  viewers' statistics time and whole page visit, the kept item sums and the process's memory.
- ``measure_report_split``: after a submission and after a second rating, where the
  reliability report's time goes: bringing the kept data up to date (the read), the report's
  statistics, the G study, the drift view, and the page's own rendering with all of them ready.

Many sessions at once are measured in real browsers on the real server: :mod:`benchmarks.browsers`.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COHORT_PAGES = [("reliability_report.py", "admin"), ("credential_review.py", "admin"), ("supervisees.py", "supervisor"),
                ("assignments.py", "admin"), ("rating_queue.py", "rater"), ("home.py", "admin"),
                ("home.py", "supervisor"),
                # the long lists of scale XL (issue 16): searched and paged in SQL
                ("assignments.py", "supervisor"), ("grading_queue.py", "admin"), ("rating_workspace.py", "admin"),
                ("gold_standard.py", "admin"), ("recordings_admin.py", "admin"), ("users.py", "admin"),
                ("cohorts.py", "admin"), ("audit_log.py", "admin")]
EVENTS = ("draft save", "submission", "second rating", "log entry")


def memory_mb() -> dict:
    """This process's resident memory now and at its peak (Linux /proc), in MB."""
    out = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                out["rss_mb" if line.startswith("VmRSS") else "peak_rss_mb"] = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return out


def sums_mb() -> float:
    """Memory of the reliability report's kept item sums (every selection and blind set kept), MB."""
    from ipt_training.reliability import report_live

    return round(sum(state.sums.nbytes() for state in list(report_live._sums.values())) / 2**20, 1)


def reset_peak_memory() -> None:
    """Start this process's peak-memory count afresh (Linux: writing 5 to clear_refs resets VmHWM),
    so that the next :func:`memory_mb` peak belongs to what ran in between."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def app_setup(db_path: Path, floor: bool = True):
    """Point the app at ``db_path`` with every Streamlit cache empty, as a fresh server would be;
    return the store and, with ``floor``, an empty page already run once (the floor's reference)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from ipt_training.store import open_store

    os.environ["IPT_TRAINING_DB"] = str(db_path)
    st.cache_resource.clear()
    st.cache_data.clear()
    db = open_store(db_path)
    floor_app = None
    if floor:
        floor_app = AppTest.from_string("import streamlit as st\nst.write('floor')")
        floor_app.run()
    return db, floor_app


def _user_ids(db, role: str, n: int, offset: int = 0) -> list[int]:
    return [r[0] for r in db.conn.execute(
        "SELECT u.id FROM users u JOIN user_roles r ON r.user_id = u.id WHERE r.role = ? AND u.active = 1 "
        "ORDER BY u.id LIMIT ? OFFSET ?", (role, n, offset))]


_components = None


def installed_components():
    """Streamlit's registry of installed components, discovered once per process: the server does
    it once when it starts (``Runtime.__init__``), but each ``AppTest`` would scan every installed
    package's metadata again on its first run (0.45-0.55 s here), which no visitor pays."""
    global _components
    if _components is None:
        from streamlit.components.v2.component_manager import BidiComponentManager

        _components = BidiComponentManager()
        _components.discover_and_register_components(start_file_watching=False)
    return _components


def open_page(db, page: str, user_id: int):
    """An AppTest session signed in as ``user_id`` on ``page``, visited once (caches warm)."""
    from streamlit.testing.v1 import AppTest

    from ipt_training import auth_sessions
    from ipt_training.config import get_settings

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300)
    at._bidi_component_manager = installed_components()  # as the server's, discovered at its start
    at.session_state["auth_session_id"] = auth_sessions.begin(db, user_id, get_settings())
    at.run()
    at.switch_page(f"ipt_training/app_pages/{page}")
    at.run()
    if at.exception:
        raise RuntimeError(f"{page}: {at.exception[0].message}")
    return at


def visit_ms(at) -> float:
    t0 = time.perf_counter()
    at.run()
    ms = (time.perf_counter() - t0) * 1000
    if at.exception:
        raise RuntimeError(str(at.exception[0].message)[:200])
    return ms


def _fresh_sessions(db, admin, rater_id: int, trainee_id: int, n: int) -> list[int]:
    """``n`` new recorded sessions of ``trainee_id`` assigned to ``rater_id`` (as an admin would)."""
    from ipt_training import fidelity

    out = []
    for k in range(n):
        sid = db.conn.execute(
            """INSERT INTO recorded_sessions (trainee_id, added_by, case_pseudonym, session_number, phase, problem_area,
               consent_confirmed, created_at) VALUES (?, ?, ?, 6, 'middle', 'grief', 1, datetime('now'))""",
            (trainee_id, admin.id, f"Live case {rater_id}-{k}-{time.time_ns()}")).lastrowid
        fidelity.assign(db, admin, sid, rater_id, None, "rating")
        out.append(sid)
    return out


class _Writer:
    """The writes of other people's browser sessions, on a connection of their own."""

    def __init__(self, db_path: Path, library, repeat: int):
        from ipt_training.auth import get_user
        from ipt_training.store import connect

        self.db, self.lib = connect(db_path), library
        self.inst = library.instruments["ipt-session-fidelity"]
        self.admin = get_user(self.db, _user_ids(self.db, "admin", 1)[0])
        # a rater who is not the measured one, on sessions of a trainee
        self.rater = get_user(self.db, _user_ids(self.db, "rater", 1, offset=1)[0])
        trainees = _user_ids(self.db, "trainee", 50)
        self.trainees = trainees
        self.sessions = _fresh_sessions(self.db, self.admin, self.rater.id, trainees[0], 2 * repeat + 1)  # live, split
        self.items = self.inst.applicable_items("middle", "grief")
        self.rated: list[int] = []
        self.k = 0
        self.gold = False  # whether sessions[-1] is marked as a calibration session

    def draft_save(self) -> None:
        from ipt_training import fidelity

        draft = fidelity.get_or_create_draft(self.db, self.rater, self.sessions[-1], "rater", library=self.lib)
        self.k += 1
        fidelity.save_item(self.db, self.rater, draft["id"], self.items[self.k % len(self.items)].id, 1 + self.k % 5,
                           False, library=self.lib)

    def submission(self) -> None:
        from ipt_training import fidelity

        sid = self.sessions.pop(0)
        draft = fidelity.get_or_create_draft(self.db, self.rater, sid, "rater", library=self.lib)
        for i, item in enumerate(self.items):
            fidelity.save_item(self.db, self.rater, draft["id"], item.id, 2 + i % 4, False, library=self.lib)
        fidelity.submit_rating(self.db, self.rater, draft["id"], library=self.lib)

    def second_rating(self) -> None:
        """A second rating of a generated session that other raters rated (assigned as a second rating)."""
        from ipt_training import fidelity

        if not self.rated:
            self.rated = [r[0] for r in self.db.conn.execute(
                """SELECT s.id FROM recorded_sessions s WHERE s.phase = 'middle' AND s.problem_area = 'grief'
                   AND s.is_gold_standard = 0 AND s.deleted_at IS NULL
                   AND EXISTS (SELECT 1 FROM ratings r WHERE r.session_id = s.id AND r.status = 'submitted')
                   AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.session_id = s.id AND r.rater_id = ?)
                   ORDER BY s.id DESC LIMIT 50""", (self.rater.id,))]
        sid = self.rated.pop(0)
        fidelity.assign(self.db, self.admin, sid, self.rater.id, None, "second_rating")
        draft = fidelity.get_or_create_draft(self.db, self.rater, sid, "rater", library=self.lib)
        for i, item in enumerate(self.items):
            fidelity.save_item(self.db, self.rater, draft["id"], item.id, 1 if item.proscribed else 2 + i % 4, False,
                               library=self.lib)
        fidelity.submit_rating(self.db, self.rater, draft["id"], library=self.lib)

    def calibration_change(self) -> None:
        """An administrator marks one of the writer's sessions as a calibration (gold-standard)
        session, or back: every rater's calibration set changes (the GLOBAL token), so every
        person's readiness and every rater's certification are evaluated again."""
        from ipt_training import fidelity

        self.gold = not self.gold
        fidelity.mark_gold_standard(self.db, self.admin, self.sessions[-1], on=self.gold)

    def log_entry(self) -> None:
        from ipt_training.credentials import evidence

        self.k += 1
        evidence.record_clinical_hours(self.db, self.admin, self.trainees[self.k % len(self.trainees)], "2025-09-01",
                                       2.5, "clinic")


def measure_live(db_path: Path, repeat: int, library) -> dict:
    """Median visit time of each cohort-wide page right after each kind of write (see module)."""
    db, floor_app = app_setup(db_path)
    people = {"admin": _user_ids(db, "admin", 1)[0], "supervisor": _user_ids(db, "supervisor", 1)[0],
              "rater": _user_ids(db, "rater", 1)[0]}
    t0 = time.perf_counter()
    apps = {f"{page.removesuffix('.py')} ({role})": open_page(db, page, people[role]) for page, role in COHORT_PAGES}
    first_visits_s = round(time.perf_counter() - t0, 1)
    home = apps["home (admin)"]
    writer = _Writer(db_path, library, repeat)
    events = {"draft save": writer.draft_save, "submission": writer.submission, "second rating": writer.second_rating,
              "log entry": writer.log_entry}
    times: dict[str, dict[str, list[float]]] = {label: {e: [] for e in EVENTS} for label in apps}
    floor, home_ms = [], []
    for _ in range(repeat):
        for event in EVENTS:
            events[event]()
            for label, at in apps.items():
                times[label][event].append(visit_ms(at))
        t = time.perf_counter()
        floor_app.run()
        floor.append((time.perf_counter() - t) * 1000)
        home_ms.append(visit_ms(home))
    readiness = measure_readiness(db, writer, library, repeat)
    split = measure_report_split(db, writer, library, repeat, apps["reliability_report (admin)"], people["admin"])
    kept_mb = sums_mb()  # the admin's selection only: before the blind viewers below add theirs
    blind = measure_blind_viewers(db, writer, library)
    return {"floor_ms": round(statistics.median(floor), 1), "home_ms": round(statistics.median(home_ms), 1),
            "first_visits_s": first_visits_s, **readiness, "report_split": split, "report_sums_mb": kept_mb, "blind_viewers": blind,
            "pages": {label: {e: round(statistics.median(v), 1) for e, v in ev.items()} for label, ev in times.items()},
            **memory_mb()}


def measure_readiness(db, writer: "_Writer", library, repeat: int) -> dict:
    """Readiness of every candidate for the therapist standard from cold (the per-person cache
    emptied, :func:`readiness_cache.clear`, which also hands the heap a large batch froze back to
    the collector), after a change every person's readiness depends on (a session marked as a
    calibration session: the rater certifications and all 2,000 people evaluated again, in a
    server that has served before), and after one trainee's new log entry (one person evaluated
    again); CPU time too."""
    from datetime import date

    from ipt_training.credentials import readiness_cache, review

    cold, cold_cpu, after, evaluated = [], [], [], []
    everyone, everyone_cpu, everyone_n = [], [], []
    review.cohort_readiness(db, library, "ipt-therapist-example", None, date.today())
    for _ in range(repeat):
        writer.calibration_change()
        before = readiness_cache.evaluations
        t, c = time.perf_counter(), time.process_time()
        review.cohort_readiness(db, library, "ipt-therapist-example", None, date.today())
        everyone.append(time.perf_counter() - t)
        everyone_cpu.append(time.process_time() - c)
        everyone_n.append(readiness_cache.evaluations - before)
    if writer.gold:
        writer.calibration_change()  # marked back: the measures after this one read the data as before
    for _ in range(repeat):
        readiness_cache.clear()
        t, c = time.perf_counter(), time.process_time()
        n = len(review.cohort_readiness(db, library, "ipt-therapist-example", None, date.today()))
        cold.append(time.perf_counter() - t)
        cold_cpu.append(time.process_time() - c)
        before = readiness_cache.evaluations
        writer.log_entry()
        t = time.perf_counter()
        review.cohort_readiness(db, library, "ipt-therapist-example", None, date.today())
        after.append((time.perf_counter() - t) * 1000)
        evaluated.append(readiness_cache.evaluations - before)
    return {"readiness_people": n, "readiness_cold_s": round(statistics.median(cold), 3),
            "readiness_cold_cpu_s": round(statistics.median(cold_cpu), 3),
            "readiness_after_change_ms": round(statistics.median(after), 1), "readiness_evaluated": max(evaluated),
            "readiness_global_s": round(statistics.median(everyone), 3),
            "readiness_global_cpu_s": round(statistics.median(everyone_cpu), 3),
            "readiness_global_evaluated": min(everyone_n)}


def measure_report_split(db, writer: "_Writer", library, repeat: int, at, admin_id: int) -> dict:
    """Where the reliability report's time goes right after a submission and after a second
    rating (see module): each part timed as the page calls it (the admin's filters: the default
    instrument and date range, every cohort and phase; the admin's blind set), medians in ms."""
    from datetime import date

    from ipt_training import fidelity
    from ipt_training.auth import get_user
    from ipt_training.reliability import calibration, report_data, report_live

    admin = get_user(db, admin_id)
    policy = library.certification_policy
    instrument = policy.instrument if policy else "ipt-session-fidelity"
    out = {}
    for event, write in (("submission", writer.submission), ("second rating", writer.second_rating)):
        parts: dict[str, list[float]] = {k: [] for k in ("read", "stats", "g_study", "drift", "page")}
        for _ in range(repeat):
            write()
            t = time.perf_counter()
            lo, hi = report_data.rating_period(db)
            filters = (instrument, None, lo.isoformat(), hi.isoformat(), None)
            blind = frozenset(fidelity.blind_session_ids(db, admin))
            report_live.kept_rows(db, library, *filters)
            parts["read"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            report = report_live.shared_report(db, library, *filters, blind=blind)
            parts["stats"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            if report["n_double_rated"]:
                report_live.shared_generalizability(db, library, *filters, blind=blind)
            parts["g_study"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            calibration.shared_drift_view(db, library, date.today(), admin)
            parts["drift"].append((time.perf_counter() - t) * 1000)
            parts["page"].append(visit_ms(at))
        out[event] = {k: round(statistics.median(v), 1) for k, v in parts.items()}
    return out


def measure_blind_viewers(db, writer: "_Writer", library, viewers: int = 4, per_viewer: int = 20) -> dict:
    """The reliability report of ``viewers`` supervisors who are each assigned ``per_viewer`` rated
    sessions as second rater (so each is blind to them: a blind set of their own) and of the
    admin (blind to nothing), every one visiting after each of two second ratings. Each blind
    supervisor's visit: the report's statistics (``shared_report``, as the page calls it) and then
    the page itself (its G study, drift and rendering; AppTest, opened beforehand); the medians
    of the statistics and of the whole visit, the slowest visit, the kept sums' memory and the
    process's memory after them."""
    from ipt_training import fidelity
    from ipt_training.auth import get_user
    from ipt_training.reliability import report_data, report_live

    lo, hi = report_data.rating_period(db)
    filters = ("ipt-session-fidelity", None, lo.isoformat(), hi.isoformat(), None)
    people = [get_user(db, s) for s in _user_ids(db, "supervisor", viewers, offset=1)]  # not measure_live's (offset 0)
    rated = [r[0] for r in db.conn.execute(
        "SELECT DISTINCT session_id FROM ratings WHERE status = 'submitted' AND kind = 'rater' ORDER BY session_id "
        "LIMIT ?", (viewers * per_viewer * 2,))]
    for n, person in enumerate(people):
        for sid in rated[n * per_viewer * 2:(n + 1) * per_viewer * 2][:per_viewer]:
            if not db.conn.execute("SELECT 1 FROM ratings WHERE session_id = ? AND rater_id = ?", (sid, person.id)).fetchone():
                fidelity.assign(db, writer.admin, sid, person.id, None, "second_rating")
    blinds = [frozenset(fidelity.blind_session_ids(db, p)) for p in people]
    pages = [open_page(db, "reliability_report.py", p.id) for p in people]
    report_live.shared_report(db, library, *filters)  # the admin's
    stats, visits = [], []
    for _ in range(2):
        writer.second_rating()
        report_live.shared_report(db, library, *filters)  # the admin visits first: the kept sums brought up to date
        for blind, at in zip(blinds, pages):
            t = time.perf_counter()
            report_live.shared_report(db, library, *filters, blind=blind)
            stats.append((time.perf_counter() - t) * 1000)
            visits.append(stats[-1] + visit_ms(at))
    return {"viewers": len(blinds), "blind_ms": round(statistics.median(stats), 1),
            "visit_ms": round(statistics.median(visits), 1), "visit_max_ms": round(max(visits), 1),
            "blind_sizes": sorted(len(b) for b in blinds), "sums_mb": sums_mb(), "sums_kept": len(report_live._sums),
            **memory_mb()}
