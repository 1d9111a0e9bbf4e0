"""The browser benchmark (benchmarks/browsers.py, issue 16) end to end, briefly: two browser
sessions (a rater and a trainee) work for 8 seconds on a real server of a demo database copy;
their visits are timed, their writes are found in the database, and nothing is left running."""

import shutil
import sqlite3

import pytest

from benchmarks import browsers

pytestmark = pytest.mark.e2e


def test_two_browser_sessions_work_on_a_real_server(tmp_path, demo_template):
    from pathlib import Path

    if not Path(browsers.CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {browsers.CHROMIUM}; install Debian's 'chromium' package (.ci/run does)")
    psutil = pytest.importorskip("psutil")
    db = tmp_path / "bench.db"
    shutil.copy(demo_template, db)
    if (demo_template.parent / "issuer").exists():  # the issuer's keys, beside the database
        shutil.copytree(demo_template.parent / "issuer", tmp_path / "issuer")
    before = {p.pid for p in psutil.Process().children(recursive=True)}

    # the harness runs its loop in a thread of its own (workload.run_async): Playwright's sync
    # API of the other browser tests in this process keeps one running in the main thread
    out = browsers.measure_browsers(db, seconds=8, browsers=2, think_s=0.1, data_dir=tmp_path / "data")

    assert out["roles"] == {"rater": 1, "trainee": 1}
    assert out["failed"] == 0, out["failures"]
    kinds = set(out["by_kind"])
    assert {"rating queue", "vignette library"} <= kinds, kinds
    assert out["visits"] >= 4 and 0 < out["median_ms"] <= out["p95_ms"] <= out["max_ms"]
    # the server's memory was sampled, and both the server and the browsers used CPU
    assert out["samples"] >= 5 and 50 < out["server_peak_rss_mb"] and out["server_rss_mb"] <= out["server_peak_rss_mb"]
    assert out["server_cpu_s"] > 0 and out["browser_cpu_s"] > 0
    # writes: the rater's scores and the trainee's answers, every one found in the database
    assert out["writes_acknowledged"] >= 1 and out["write_keys"] >= 1
    assert out["lost_writes"] == 0 and out["write_keys_found"] == out["write_keys"]
    with sqlite3.connect(db) as conn:  # and they are there: scores of the bench sessions, typed answers
        scored = conn.execute("""SELECT COUNT(*) FROM item_scores s JOIN ratings r ON r.id = s.rating_id
                                 JOIN recorded_sessions x ON x.id = r.session_id
                                 WHERE x.case_pseudonym LIKE 'Live case %' AND s.score IS NOT NULL""").fetchone()[0]
        answered = conn.execute("SELECT COUNT(*) FROM vignette_attempts WHERE answers LIKE '%Bench answer%'").fetchone()[0]
    assert scored + answered >= 1
    # nothing left running: the server stopped, no browser process of the run remains
    assert out["server_exit_code"] is not None
    left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    assert not left, [p.name() for p in left]
