"""The first visit after a process start (issue 16): each measured in a fresh Python process, so
that it pays what a real first visitor pays (imports, the content, the shared caches).

- ``cold``: the page visited at once (``AppTest``), nothing warmed (Streamlit's discovery of the
  installed components, which the server makes when it starts, made before);
- ``warmed``: the server's start-up warming (:func:`ipt_training.ui.warm.warm`, which ``app.py``
  runs in a background thread when the server starts) run to its end first, then the page
  visited; its own time is reported beside.

Each child prints one JSON line: the visit's wall and CPU time, and the warming's steps.
``python -m benchmarks.first_visit DB PAGE ROLE MODE`` runs one child.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VISITS = [("home.py", "trainee"), ("home.py", "admin"), ("reliability_report.py", "supervisor")]


def child(db_path: Path, page: str, role: str, mode: str) -> dict:
    from benchmarks.live import app_setup, installed_components, open_page, _user_ids

    out: dict = {"page": page, "role": role, "mode": mode}
    db, _ = app_setup(db_path, floor=False)
    installed_components()  # part of the server's start, before anyone visits (see installed_components)
    if mode == "warmed":
        from ipt_training.ui import warm

        t, c = time.perf_counter(), time.process_time()
        out["warm_steps"] = warm.warm()
        out["warm_s"], out["warm_cpu_s"] = round(time.perf_counter() - t, 3), round(time.process_time() - c, 3)
    uid = _user_ids(db, role, 1)[0]
    t, c = time.perf_counter(), time.process_time()
    open_page(db, page, uid)
    out["first_ms"], out["first_cpu_s"] = round((time.perf_counter() - t) * 1000, 1), round(time.process_time() - c, 3)
    return out


def measure_first_visits(db_path: Path, repeat: int) -> dict:
    """Median first visit (wall ms, CPU s) of each page in :data:`VISITS`, cold and warmed, each in
    a fresh process (at most 3 runs each: every run starts Python and Streamlit afresh)."""
    out = {}
    for page, role in VISITS:
        for mode in ("cold", "warmed"):
            runs = []
            for _ in range(min(3, repeat)):
                proc = subprocess.run([sys.executable, "-m", "benchmarks.first_visit", str(db_path), page, role, mode],
                                      cwd=ROOT, capture_output=True, text=True, timeout=600)
                lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
                if proc.returncode or not lines:
                    raise RuntimeError(f"first visit {page} ({role}, {mode}): {proc.stderr[-500:]}")
                runs.append(json.loads(lines[-1]))
            entry = {"first_ms": round(statistics.median(r["first_ms"] for r in runs), 1),
                     "first_cpu_s": round(statistics.median(r["first_cpu_s"] for r in runs), 3)}
            if mode == "warmed":
                entry["warm_s"] = round(statistics.median(r["warm_s"] for r in runs), 3)
                entry["warm_cpu_s"] = round(statistics.median(r["warm_cpu_s"] for r in runs), 3)
                entry["warm_steps"] = runs[-1]["warm_steps"]
            out[f"{page.removesuffix('.py')} ({role}), {mode}"] = entry
    return out


if __name__ == "__main__":
    db_arg, page_arg, role_arg, mode_arg = sys.argv[1:5]
    print(json.dumps(child(Path(db_arg), page_arg, role_arg, mode_arg)), flush=True)
