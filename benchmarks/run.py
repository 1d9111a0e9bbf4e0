"""Benchmark runner: ``python -m benchmarks [--scales S M L XL] [--repeat N] [--live] [--concurrency [SECONDS]] [--browsers N ...] [--clients N ...]``.

At each scale it builds the synthetic database (benchmarks/generate.py) and measures, with
repeated runs, the median of:

- the rerun time of every main page through ``AppTest``, signed in as each role that uses it (and its first visit),
  beside the rerun time of an empty Streamlit page measured in the same run (the floor);
- the reliability report for the whole cohort, cold (first call), its statistics alone (the SQL read
  excluded) and a visit served from the shared computation (unchanged submitted data);
- readiness of every trainee for the therapist standard;
- rating saves per second with 20 concurrent writers, and how many writes were lost;
- with ``--live`` (issue 16): each cohort-wide page visited right after a draft save, a rating
  submission (the first of a session), a second rating of a rated session and a trainee's new log
  entry, beside the floor and the home page in the same run, and where the reliability report's
  time goes after a submission (read / statistics / G study / drift / page) (:mod:`benchmarks.live`);
  and the first visit of Home (trainee, admin) and the reliability report (supervisor) after a
  process start, each in a fresh process, cold and after the server's start-up warming
  (:mod:`benchmarks.first_visit`);
- with ``--concurrency [SECONDS]``: 20 real browser sessions (Playwright pages) working at once
  for 60 s on the real server (``streamlit run app.py``): page-visit median/p95 per kind, the
  server's memory, CPU of server and browsers, lost writes (:mod:`benchmarks.browsers`);
  ``--browsers 10 20`` runs it with each number of sessions; ``--clients 20`` the same people as
  WebSocket clients that draw nothing (:mod:`benchmarks.clients`), so that on a small machine
  the visit times are the server's, not the browsers';
- at every scale the generation time, the database's size and this process's memory.

It writes ``benchmarks/results/latest.json`` and prints a markdown table (the README carries
the latest one with the machine it came from). Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
TARGETS = {"page_ms": 150, "reliability_cold_s": 2.0, "readiness_all_s": 1.0, "lost_writes": 0,
           "live_page_ms": 300, "xl_page_ms": 500, "concurrency_rss_mb": 1536}


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _user_for(db, role: str) -> int:
    row = db.conn.execute(
        "SELECT u.id FROM users u JOIN user_roles r ON r.user_id = u.id WHERE r.role = ? ORDER BY u.id LIMIT 1", (role,)
    ).fetchone()
    return row[0]


def measure_pages(db_path: Path, repeat: int) -> dict:
    """Median rerun time of every page, signed in as each role that uses it, and of an empty
    page; the first visit (caches cold for that person) is kept beside it."""
    from benchmarks.live import app_setup, open_page
    from ipt_training.access import PAGES

    db, floor_app = app_setup(db_path)
    floor = _median_ms(floor_app.run, repeat)
    out = {}
    for spec in PAGES:
        for role in sorted(spec.roles, key=["trainee", "rater", "supervisor", "admin"].index):
            label = f"{spec.file.removesuffix('.py')} ({role})"
            t0 = time.perf_counter()
            try:  # signed in as the sign-in page does it: a live server-side session
                at = open_page(db, spec.file, _user_for(db, role))
            except RuntimeError as exc:
                out[label] = {"role": role, "error": str(exc)[:200]}
                continue
            first = (time.perf_counter() - t0) * 1000
            out[label] = {"role": role, "median_ms": round(_median_ms(at.run, repeat), 1), "first_ms": round(first, 1)}
    return {"floor_ms": round(floor, 1), "pages": out}


def measure_core(db_path: Path, repeat: int) -> dict:
    """Reliability report cold/cached, readiness of all trainees, concurrent rating saves."""
    from ipt_training import fidelity
    from ipt_training.credentials import review as credential_review
    from ipt_training.credentials import readiness_cache
    from ipt_training.reliability import report_data as reliability_data, report_live
    from ipt_training.auth import get_user
    from ipt_training.config import PROJECT_ROOT
    from ipt_training.content import load_library
    from ipt_training.store import connect, open_store

    lib = load_library(PROJECT_ROOT)
    db = open_store(db_path)
    today = date.today()
    inst = "ipt-session-fidelity"

    t0 = time.perf_counter()
    reliability_data.reliability_report(db, lib, inst, None, None, None, None)
    cold = time.perf_counter() - t0
    # the statistics alone (issue 11.4: <= 0.3 s at L): the SQL read once, then the report from it;
    # the first call is the cold one, the median of further calls shows the spread
    t0 = time.perf_counter()
    data = reliability_data.read_ratings(db, inst)
    read_s = time.perf_counter() - t0
    filters = {"cohort_id": None, "cohort": "all cohorts", "date_from": None, "date_to": None, "phase": "all phases"}
    stats = []
    for _ in range(max(3, repeat)):
        data.get("memo", {}).clear()  # every call from the data as read (no session scores kept from the last)
        t0 = time.perf_counter()
        reliability_data.report_from_data(lib, lib.instruments[inst], data, filters)
        stats.append(time.perf_counter() - t0)
    # a visit with unchanged submitted data: the shared computation (one per change, for every viewer)
    report_live.shared_report(db, lib, inst)
    cached = _median_ms(lambda: report_live.shared_report(db, lib, inst), repeat)

    readiness, readiness_cpu = [], []
    for _ in range(max(3, repeat)):  # one run alone swung 0.9-1.15 s at L with the load of other work
        readiness_cache.clear()  # cold: the process-wide cache would otherwise answer in ~0 s
        t0, c0 = time.perf_counter(), time.process_time()
        rows = credential_review.cohort_readiness(db, lib, "ipt-therapist-example", None, today)
        readiness.append(time.perf_counter() - t0)
        readiness_cpu.append(time.process_time() - c0)

    # 20 writers, each on its own connection (as 20 browser sessions), saving item scores
    instrument = lib.instruments[inst]
    raters = [r[0] for r in db.conn.execute(
        "SELECT user_id FROM user_roles WHERE role = 'rater' ORDER BY user_id LIMIT 20")]
    admin = get_user(db, _user_for(db, "admin"))
    trainee = _user_for(db, "trainee")
    sessions = []
    for k, rater in enumerate(raters):  # fresh sessions, one per writer, assigned as an admin would
        sid = db.conn.execute(
            """INSERT INTO recorded_sessions (trainee_id, added_by, case_pseudonym, session_number, phase, problem_area,
               consent_confirmed, created_at) VALUES (?, ?, ?, 6, 'middle', 'grief', 1, datetime('now'))""",
            (trainee, admin.id, f"Bench case {k}")).lastrowid
        fidelity.assign(db, admin, sid, rater, None, "rating")
        sessions.append(sid)
    per_writer = 50
    errors: list[str] = []
    done = []

    def writer(k: int) -> None:
        conn = connect(db_path)
        user = get_user(conn, raters[k])
        rating = fidelity.get_or_create_draft(conn, user, sessions[k], "rater", library=lib)
        phase, area = conn.conn.execute("SELECT phase, problem_area FROM recorded_sessions WHERE id = ?",
                                        (sessions[k],)).fetchone()
        items = instrument.applicable_items(phase, area)
        n = 0
        for i in range(per_writer):
            try:
                fidelity.save_item(conn, user, rating["id"], items[i % len(items)].id, 1 + i % 5, False, library=lib)
                n += 1
            except Exception as exc:  # counted as a lost write
                errors.append(repr(exc)[:200])
        done.append(n)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(min(20, len(raters), len(sessions)))]
    t0 = time.perf_counter()
    [t.start() for t in threads]
    [t.join() for t in threads]
    elapsed = time.perf_counter() - t0
    attempted = len(threads) * per_writer
    # read every draft back: the last score written to each item must be there
    mismatches = 0
    for k in range(len(threads)):
        items = instrument.applicable_items("middle", "grief")
        expected = {items[i % len(items)].id: 1 + i % 5 for i in range(per_writer)}
        stored = dict(db.conn.execute(
            "SELECT s.item_id, s.score FROM item_scores s JOIN ratings r ON r.id = s.rating_id "
            "WHERE r.session_id = ? AND r.rater_id = ?", (sessions[k], raters[k])).fetchall())
        mismatches += sum(1 for item, score in expected.items() if stored.get(item) != score)
    return {
        "reliability_cold_s": round(cold, 3),
        "reliability_read_s": round(read_s, 3),
        "reliability_stats_cold_s": round(stats[0], 3),
        "reliability_stats_median_s": round(statistics.median(stats[1:]), 3),
        "reliability_cached_ms": round(cached, 2),
        "readiness_all_s": round(statistics.median(readiness), 3),
        "readiness_all_cpu_s": round(statistics.median(readiness_cpu), 3),
        "readiness_trainees": len(rows),
        "writers": len(threads),
        "saves_per_s": round(sum(done) / elapsed, 1),
        "lost_writes": attempted - sum(done) + mismatches,
        "write_errors": errors[:3],
    }


def run(scales: list[str], repeat: int, live: bool = False, concurrency: float = 0, pages: bool = True,
        browsers: tuple[int, ...] = (20,), think_s: float = 2.0, browser_nice: int = 0,
        clients: tuple[int, ...] = (), jitter: float = 0.0) -> dict:
    from benchmarks.browsers import measure_browsers
    from benchmarks.clients import measure_clients
    from benchmarks.first_visit import measure_first_visits
    from benchmarks.generate import generate
    from benchmarks.live import measure_live, memory_mb, reset_peak_memory
    from ipt_training.config import PROJECT_ROOT
    from ipt_training.content import load_library

    RESULTS.mkdir(exist_ok=True)
    report = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                         f"{platform.system()}", "date": date.today().isoformat(), "repeat": repeat, "scales": {}}
    for scale in scales:
        path = RESULTS / f"bench_{scale}.db"
        reset_peak_memory()
        t0 = time.perf_counter()
        counts = generate(path, scale)
        entry = {"counts": counts, "generate_s": round(time.perf_counter() - t0, 1), "generate_memory": memory_mb(),
                 "db_mb": round(sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20, 1),
                 "load_before": os.getloadavg()[0]}
        if pages:
            entry.update(measure_pages(path, repeat))
            entry.update(measure_core(path, repeat))
        if live:
            entry["live"] = measure_live(path, repeat, load_library(PROJECT_ROOT))
            entry["first_visits"] = measure_first_visits(path, repeat)
        if concurrency and browsers:
            entry["concurrency"] = {str(n): measure_browsers(path, concurrency, n, think_s, browser_nice=browser_nice)
                                  for n in browsers}
        if concurrency and clients:
            entry["clients"] = {str(n): measure_clients(path, concurrency, n, think_s, jitter=jitter)
                                 for n in clients}
        entry["memory"] = memory_mb()
        entry["load_after"] = os.getloadavg()[0]
        report["scales"][scale] = entry
        print(f"scale {scale} done", flush=True)
        for name in ("latest.json", f"latest-{'-'.join(scales)}.json"):
            (RESULTS / name).write_text(json.dumps(report, indent=2))
    return report


def markdown(report: dict) -> str:
    scales = list(report["scales"])
    loads = ", ".join(f"{s} {e.get('load_before', '?'):.1f}-{e.get('load_after', '?'):.1f}" for s, e in report["scales"].items())
    lines = [f"Machine: {report['machine']}; {report['date']}; medians of {report['repeat']} runs; "
             f"load average (1 min) before-after each scale: {loads}.", "",
             "| measure | target (L) | " + " | ".join(scales) + " |", "|---|---|" + "---|" * len(scales)]

    def row(label, target, fn):
        cells = []
        for s in scales:
            try:
                cells.append(str(fn(report["scales"][s])))
            except (KeyError, TypeError):
                cells.append("")
        if any(cells):
            lines.append(f"| {label} | {target} | " + " | ".join(cells) + " |")

    row("generation, s", "", lambda e: e["generate_s"])
    row("database size, MB", "", lambda e: e["db_mb"])
    row("item score rows", "", lambda e: f"{e['counts']['item_scores']:,}")
    row("generation memory (RSS after / peak during), MB", "", lambda e: f"{e['generate_memory']['rss_mb']} / "
                                                                          f"{e['generate_memory']['peak_rss_mb']}")
    row("empty page rerun (floor), ms", "", lambda e: e["floor_ms"])
    first = next(iter(report["scales"].values()))
    for p in first.get("pages", {}):
        row(f"page `{p}` rerun (first visit), ms", "≤ 150",
            lambda e, p=p: (f"{e['pages'][p]['median_ms']} ({e['pages'][p]['first_ms']})" if "median_ms" in e["pages"][p]
                            else "error: " + e["pages"][p].get("error", "")))
    row("reliability report, cold, s", "≤ 2", lambda e: e["reliability_cold_s"])
    row("reliability report statistics only (SQL read excluded), cold, s", "≤ 0.3",
        lambda e: f"{e['reliability_stats_cold_s']} (median {e['reliability_stats_median_s']}; read "
                  f"{e['reliability_read_s']})")
    row("reliability report, cached, ms", "", lambda e: e["reliability_cached_ms"])
    row("readiness of all trainees, cold, s (CPU)", "≤ 1",
        lambda e: f"{e['readiness_all_s']} ({e['readiness_all_cpu_s']}) for {e['readiness_trainees']:,}")
    row("rating saves/s, 20 writers", "", lambda e: e["saves_per_s"])
    row("lost writes", "0", lambda e: e["lost_writes"])
    live = next((e["live"] for e in report["scales"].values() if "live" in e), None)
    if live:
        row("live: empty page (floor), ms", "", lambda e: e["live"]["floor_ms"])
        row("live: home (admin) rerun, ms", "", lambda e: e["live"]["home_ms"])
        row("live: readiness of all candidates, cold (CPU), s", "≤ 1",
            lambda e: f"{e['live']['readiness_cold_s']} ({e['live']['readiness_cold_cpu_s']}) "
                      f"for {e['live']['readiness_people']:,}")
        row("live: readiness of all candidates after a session is marked as a calibration session, s (CPU; people "
            "evaluated)", "≤ 1", lambda e: f"{e['live']['readiness_global_s']} ({e['live']['readiness_global_cpu_s']}; "
                                           f"{e['live']['readiness_global_evaluated']:,})")
        row("live: readiness after one trainee's log entry, ms (people evaluated)", "≤ 100",
            lambda e: f"{e['live']['readiness_after_change_ms']} ({e['live']['readiness_evaluated']})")
        for page in live["pages"]:
            for event in live["pages"][page]:
                row(f"live: {page} right after a {event}, ms", "≤ 300, ≤ 25× home",
                    lambda e, page=page, event=event: e["live"]["pages"][page][event])
        if "report_sums_mb" in live:
            row("live: reliability report's kept item sums (every selection), MB", "",
                lambda e: e["live"].get("report_sums_mb", ""))
        if "blind_viewers" in live:
            row("live: reliability report (supervisor) after a second rating, 4 supervisors each blind to 20 "
                "sessions: statistics median / page visit median, slowest, ms; item sums kept (MB); process RSS / "
                "peak, MB", "≤ 500 XL",
                lambda e: (lambda b: f"{b['blind_ms']} / {b.get('visit_ms')}, {b.get('visit_max_ms')}; {b['sums_kept']} "
                                     f"({b['sums_mb']}); {b.get('rss_mb')} / {b.get('peak_rss_mb')}")(e["live"]["blind_viewers"]))
        for event in live.get("report_split", {}):
            row(f"live: reliability_report right after a {event}: read / statistics / G study / drift / page, ms", "",
                lambda e, event=event: " / ".join(str(v) for v in e["live"]["report_split"][event].values()))
    visits = next((e["first_visits"] for e in report["scales"].values() if "first_visits" in e), {})
    for label in visits:
        row(f"first visit after a process start: {label}, ms (CPU s){'; warming: s (CPU s)' if 'warmed' in label else ''}",
            "", lambda e, label=label: f"{e['first_visits'][label]['first_ms']} ({e['first_visits'][label]['first_cpu_s']})"
            + (f"; {e['first_visits'][label]['warm_s']} ({e['first_visits'][label]['warm_cpu_s']})"
               if "warm_s" in e["first_visits"][label] else ""))
    runs = sorted({n for e in report["scales"].values() for n in e.get("concurrency", {})}, key=int)
    for n in runs:
        c = lambda e, n=n: e["concurrency"][n]  # noqa: E731
        first_run = next(e["concurrency"][n] for e in report["scales"].values() if n in e.get("concurrency", {}))
        nice = f", browsers at nice {first_run['browser_nice']}" if first_run.get("browser_nice") else ""
        head = f"{n} browsers for {first_run['seconds_asked']:.0f} s{nice}"
        row(f"{head}: page visits (failed), in s", "", lambda e: f"{c(e)['visits']} ({c(e)['failed']}), {c(e)['seconds']}")
        row(f"{head}: page visit median / p95 / max, ms (server's part: median / p95)", "",
            lambda e: f"{c(e)['median_ms']} / {c(e)['p95_ms']} / {c(e)['max_ms']} ({c(e).get('server_median_ms')} / "
                      f"{c(e).get('server_p95_ms')})")
        for kind in first_run["by_kind"]:
            row(f"{head}: `{kind}` visits, median / p95, ms (server's part)", "",
                lambda e, kind=kind: "{visits}, {median_ms} / {p95_ms} ({server_median_ms} / {server_p95_ms})".format(
                    **{"median_ms": None, "p95_ms": None, "server_median_ms": None, "server_p95_ms": None,
                       **c(e)["by_kind"][kind]}))
        row(f"{head}: server memory (RSS now / peak), MB", "≤ 1,536",
            lambda e: f"{c(e)['server_rss_mb']} / {c(e)['server_peak_rss_mb']}")
        row(f"{head}: CPU s of server / browsers / harness (browsers' memory, PSS MB)", "",
            lambda e: f"{c(e)['server_cpu_s']} / {c(e)['browser_cpu_s']} / {c(e)['harness_cpu_s']} "
                      f"({c(e)['browser_peak_pss_mb']})")
        row(f"{head}: load average at start / end ({first_run['cpus']} cores)", "",
            lambda e: f"{c(e)['load_at_start']} / {c(e)['load_at_end']}")
        row(f"{head}: writes acknowledged / keys found of keys / lost", "0 lost",
            lambda e: f"{c(e)['writes_acknowledged']} / {c(e)['write_keys_found']} of {c(e)['write_keys']} / "
                      f"{c(e)['lost_writes']}")
        row(f"{head}: failed visits, why", "", lambda e: "; ".join(f"{k} ({v})" for k, v in c(e)["failures"].items()))
    for n in sorted({n for e in report["scales"].values() for n in e.get("clients", {})}, key=int):
        c = lambda e, n=n: e["clients"][n]  # noqa: E731
        first_run = next(e["clients"][n] for e in report["scales"].values() if n in e.get("clients", {}))
        head = f"{n} WebSocket clients for {first_run['seconds_asked']:.0f} s" + (
            f", pauses ±{first_run['jitter']:.0%}" if first_run.get("jitter") else "")
        row(f"{head}: page visits (failed), in s", "", lambda e: f"{c(e)['visits']} ({c(e)['failed']}), {c(e)['seconds']}")
        row(f"{head}: page visit median / p95 / max, ms", "", lambda e: f"{c(e)['median_ms']} / {c(e)['p95_ms']} / "
                                                                        f"{c(e)['max_ms']}")
        for kind in first_run["by_kind"]:
            row(f"{head}: `{kind}` visits, median / p95, ms", "",
                lambda e, kind=kind: "{visits}, {median_ms} / {p95_ms}".format(
                    **{"median_ms": None, "p95_ms": None, **c(e)["by_kind"][kind]}))
        row(f"{head}: server memory (RSS now / peak), MB", "≤ 1,536",
            lambda e: f"{c(e)['server_rss_mb']} / {c(e)['server_peak_rss_mb']}")
        row(f"{head}: CPU s of server / clients", "", lambda e: f"{c(e)['server_cpu_s']} / {c(e)['client_cpu_s']}")
        row(f"{head}: load average at start / end ({first_run['cpus']} cores)", "",
            lambda e: f"{c(e)['load_at_start']} / {c(e)['load_at_end']}")
        row(f"{head}: writes acknowledged / keys found of keys / lost", "0 lost",
            lambda e: f"{c(e)['writes_acknowledged']} / {c(e)['write_keys_found']} of {c(e)['write_keys']} / "
                      f"{c(e)['lost_writes']}")
        row(f"{head}: failed visits, why", "", lambda e: "; ".join(f"{k} ({v})" for k, v in c(e)["failures"].items()))
    row("benchmark process memory at the end (RSS / peak), MB", "", lambda e: f"{e['memory']['rss_mb']} / "
                                                                               f"{e['memory']['peak_rss_mb']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--scales", nargs="+", default=["S", "M", "L"], choices=["S", "M", "L", "XL"])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--live", action="store_true", help="cohort-wide pages right after writes (issue 16)")
    parser.add_argument("--concurrency", type=float, nargs="?", const=60.0, default=0.0, metavar="SECONDS",
                        help="browser sessions (Playwright, Chromium) working at once on the real server for SECONDS "
                             "(default 60)")
    parser.add_argument("--browsers", type=int, nargs="+", default=None, metavar="N",
                        help="with --concurrency: the number of browser sessions, one run each (default 20, "
                             "none when --clients is given alone)")
    parser.add_argument("--clients", type=int, nargs="+", default=[], metavar="N",
                        help="the same people as WebSocket clients that draw nothing, one run each (implies "
                             "--concurrency 60 unless given)")
    parser.add_argument("--think", type=float, default=2.0, metavar="SECONDS",
                        help="with --concurrency: each person's pause between actions (default 2)")
    parser.add_argument("--jitter", type=float, default=0.0, metavar="J",
                        help="with --clients: each pause drawn from THINK * [1 - J, 1 + J] and each person's start "
                             "spread over one pause (default 0: everyone acts in step)")
    parser.add_argument("--browser-nice", type=int, default=0, metavar="N",
                        help="with --concurrency: run the browsers at nice N, below the server (default 0: the same)")
    parser.add_argument("--no-pages", action="store_true", help="skip the rerun of every page and the core measures")
    args = parser.parse_args()
    browsers = args.browsers if args.browsers is not None else ([] if args.clients else [20])
    concurrency = args.concurrency or (60.0 if args.clients else 0.0)
    print(markdown(run(args.scales, args.repeat, args.live, concurrency, not args.no_pages, tuple(browsers),
                        args.think, args.browser_nice, tuple(args.clients), args.jitter)))


if __name__ == "__main__":
    main()
