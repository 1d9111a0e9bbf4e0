"""Synthetic data at training-body scale for the benchmarks (not part of the test run).

Scales (DESIGN: one SQLite file per training body; this says how far that goes):

=====  ========  ======  ==========  ========  ==============  ==================
scale  trainees  raters  vignettes   attempts  rated sessions  ratings per session
=====  ========  ======  ==========  ========  ==============  ==================
S      50        5       all shipped 1,250     150             2-3
M      500       25      all shipped 12,500    1,500           2-3
L      2,000     100     all shipped 50,000    6,000           2-3 (~308,000 item scores)
XL     10,000    300     all shipped 250,000   30,000          2-3 (~1.5 M item scores)
=====  ========  ======  ==========  ========  ==============  ==================

Rows are written straight into the tables with ``executemany`` (the app's write paths
are measured separately by the runner). Every synthetic account shares one argon2 hash,
since hashing 2,000 passwords would only measure argon2. The evidence-token triggers
(:mod:`ipt_training.store_changes`) and the submitted-ratings log (:mod:`ipt_training.store_submissions`)
are dropped for the bulk insert and made again after it, with a fresh token for everybody (what
they would hold had they fired row by row; the log starts empty, as a reader of the finished data
needs nothing of it). The shipped vignettes are reused
for the attempts (the library holds 16; at scale L the issue's 40 would only add rows to
the same table, which the attempts count already covers).
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import date, timedelta
from pathlib import Path

from ipt_training import auth, vignettes as vig
from ipt_training.config import PROJECT_ROOT
from ipt_training.content import PROBLEM_AREAS, load_library
from ipt_training.fidelity.ratings import score_rating
from ipt_training.store import _split_sql, now_iso, open_store, transaction
from ipt_training.store_changes import migration_sql
from ipt_training.store_submissions import migration_sql as submissions_sql

SCALES = {
    "S": dict(trainees=50, raters=5, supervisors=3, attempts=1_250, sessions=150),
    "M": dict(trainees=500, raters=25, supervisors=20, attempts=12_500, sessions=1_500),
    "L": dict(trainees=2_000, raters=100, supervisors=60, attempts=50_000, sessions=6_000),
    "XL": dict(trainees=10_000, raters=300, supervisors=200, attempts=250_000, sessions=30_000),
}
PASSWORD = "bench-password"


def generate(path: Path, scale: str, seed: int = 7) -> dict:
    """Create a database at ``path`` holding the synthetic data of ``scale``; return counts."""
    spec = SCALES[scale]
    rng = random.Random(seed)
    if path.exists():
        path.unlink()
    db = open_store(path)
    lib = load_library(PROJECT_ROOT)
    instrument = lib.instruments["ipt-session-fidelity"]
    vignettes = list(lib.vignettes.values())
    pw_hash = auth.hash_password(PASSWORD)
    created = now_iso()
    today = date.today()

    def add_users(prefix: str, n: int, roles: tuple[str, ...]) -> list[int]:
        first = db.conn.execute("SELECT COALESCE(MAX(id), 0) FROM users").fetchone()[0] + 1
        db.conn.executemany(
            "INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES (?,?,?,?,?)",
            [(first + i, f"{prefix}{i:04d}", f"{prefix.title()} {i:04d}", pw_hash, created) for i in range(n)])
        db.conn.executemany("INSERT INTO user_roles (user_id, role) VALUES (?, ?)",
                            [(first + i, r) for i in range(n) for r in roles])
        return list(range(first, first + n))

    triggers = [t for t in _split_sql(migration_sql() + submissions_sql()) if t.startswith("CREATE TRIGGER")]
    with transaction(db):
        for t in triggers:
            db.conn.execute(f"DROP TRIGGER {t.split()[2]}")
    with transaction(db):
        add_users("admin", 2, ("admin",))
        trainees = add_users("trainee", spec["trainees"], ("trainee",))
        raters = add_users("rater", spec["raters"], ("rater",))
        supervisors = add_users("supervisor", spec["supervisors"], ("supervisor", "rater"))
        n_cohorts = max(1, spec["trainees"] // 50)
        db.conn.executemany("INSERT INTO cohorts (id, name, created_at) VALUES (?,?,?)",
                            [(c + 1, f"Cohort {c + 1:03d}", created) for c in range(n_cohorts)])
        db.conn.executemany("INSERT INTO cohort_members (cohort_id, user_id) VALUES (?,?)",
                            [(i % n_cohorts + 1, t) for i, t in enumerate(trainees)])
        db.conn.executemany("INSERT INTO supervision_links (supervisor_id, trainee_id) VALUES (?,?)",
                            [(supervisors[i % len(supervisors)], t) for i, t in enumerate(trainees)])

        # vignette attempts: mostly graded, some submitted, a few drafts, scored by the real scorer
        # on a few answer patterns per case (as vignettes.submit_attempt / grade_attempt store them)
        patterns = {}
        for v in vignettes:
            rubric = lib.rubrics[v.rubric]
            vig.keep_version(db, v)
            vig.keep_version(db, rubric)
            variants = []
            for k, areas in enumerate(([v.primary_area], [a for a in PROBLEM_AREAS if a != v.primary_area][:1],
                                       [a.area for a in v.key.problem_areas])):
                answers = {"areas": areas, "ranking": {a: i + 1 for i, a in enumerate(areas)},
                           "formulation": "The depression began when ...",
                           "moments": {m.id: {"technique": v.key.moments[m.id].techniques[0] if k != 1
                                              else "directive_techniques", "response": "What happened then?"}
                                       for m in v.moments}}
                result = vig.score_attempt(v, rubric, answers)
                grades = {c.id: {"level": (2 + k) % 4, "comment": "See the model formulation."}
                          for c in rubric.criteria if c.type == "supervisor_graded"}
                graded = vig.apply_grades(result, rubric, grades)
                variants.append((json.dumps(answers), json.dumps({"result": result}), result, json.dumps(grades),
                                 json.dumps({"result": graded}), graded))
            patterns[v.id] = variants
        attempts, drafts = [], set()
        for i in range(spec["attempts"]):
            v = vignettes[i % len(vignettes)]
            t = trainees[rng.randrange(len(trainees))]
            status = rng.choices(["graded", "submitted", "draft"], [0.8, 0.15, 0.05])[0]
            if status == "draft":  # at most one draft per trainee and vignette (migration 20)
                status = "graded" if (t, v.id) in drafts else status
                drafts.add((t, v.id))
            answers, auto, result, grades, auto_graded, graded = patterns[v.id][rng.randrange(3)]
            day = (today - timedelta(days=rng.randrange(720))).isoformat()
            if status == "draft":
                row = (answers, None, None, None, None, None, None)
            elif status == "submitted":
                row = (answers, auto, None, result["score"], None, day, None)
            else:
                row = (answers, auto_graded, grades, graded["score"], int(graded["passed"]), day, day)
            ans, auto_s, grades_s, score, passed, submitted, graded_at = row
            attempts.append((t, v.id, v.content_hash, v.rubric, lib.rubrics[v.rubric].content_hash, status,
                             ans, 4, auto_s, grades_s, score, passed, v.primary_area, day, day, submitted, graded_at))
        db.conn.executemany(
            """INSERT INTO vignette_attempts (trainee_id, vignette_id, vignette_hash, rubric_id, rubric_hash, status,
               answers, stages_revealed, auto_scores, grades, score, passed, primary_area, created_at, updated_at,
               submitted_at, graded_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""", attempts)

        # recorded sessions (metadata only: the files are not what is measured), 2-3 ratings each
        phases = ["initial", "middle", "middle", "termination"]
        areas = list(PROBLEM_AREAS)
        all_raters = raters + supervisors
        sessions, ratings, scores = [], [], []
        rating_id = 0
        for s in range(1, spec["sessions"] + 1):
            t = trainees[(s - 1) % len(trainees)]
            phase = phases[s % 4]
            area = areas[rng.randrange(4)]
            day = today - timedelta(days=rng.randrange(720))
            sessions.append((s, t, t, f"Case {t}-{s % 3}", s % 16 + 1, phase, area, None, 1, 0, day.isoformat()))
            skill = rng.gauss(3.4, 0.6)  # the trainee's true fidelity on this session
            items = instrument.applicable_items(phase, area)
            for r in rng.sample(all_raters, rng.choice([2, 2, 3])):
                rating_id += 1
                severity = (r % 7 - 3) * 0.08
                vals = {}
                for it in items:
                    if it.proscribed:  # another therapy's move: mostly none (1), now and then a little
                        v = 1 if rng.random() < 0.85 else rng.choice([2, 2, 3])
                    else:
                        v = min(5, max(1, round(skill + severity + rng.gauss(0, 0.6))))
                    vals[it.id] = {"score": v, "not_applicable": 0}
                    scores.append((rating_id, it.id, v, 0))
                # the instrument's other items are stored as not applicable, as the workspace does
                applicable = {it.id for it in items}
                scores.extend((rating_id, it.id, None, 1) for it in instrument.items if it.id not in applicable)
                # the session score and decision of the instrument's pass rule, as submit_rating stores them
                result = score_rating(instrument, {"phase": phase, "problem_area": area}, vals)
                ratings.append((rating_id, s, r, "rater", instrument.id, instrument.content_hash, "submitted", "",
                                result["mean"], int(result["passed"]), day.isoformat(), day.isoformat(),
                                day.isoformat()))
        db.conn.executemany(
            """INSERT INTO recorded_sessions (id, trainee_id, added_by, case_pseudonym, session_number, phase,
               problem_area, recording_file, consent_confirmed, is_gold_standard, created_at)
               VALUES (?,?,?,?,?,?,?,?,?,?,?)""", sessions)
        db.conn.executemany(
            """INSERT INTO assignments (session_id, rater_id, purpose, created_at)
               SELECT ?, ?, 'rating', ?""", [(r[1], r[2], created) for r in ratings])
        db.conn.executemany(
            """INSERT INTO ratings (id, session_id, rater_id, kind, instrument_id, instrument_hash, status, comment,
               mean, passed, created_at, updated_at, submitted_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)""", ratings)
        db.conn.executemany("INSERT INTO item_scores (rating_id, item_id, score, not_applicable) VALUES (?,?,?,?)",
                            scores)
        # credential evidence: training, clinical hours, cases with PHQ-9, supervision
        events, hours, cases, phq, sup = [], [], [], [], []
        case_id = 0
        for t in trainees:
            sup_id = supervisors[t % len(supervisors)]
            events.append((t, "2025-03-01", 16.0, "Introductory IPT course", "Example trainer", sup_id, created, created))
            hours.append((t, "2025-06-01", float(rng.choice([80, 120, 160])), "clinic", sup_id, created, created))
            for c in range(3):
                case_id += 1
                n = rng.choice([8, 12, 16])
                cases.append((case_id, t, f"Case {t}-{c}", areas[c], "2025-01-01", None, n, sup_id, created, created))
                phq.extend((case_id, k, "PHQ-9", float(max(0, 20 - k))) for k in range(1, n + 1, 4))
                sup.append((t, "Supervisor", "2025-07-01", 4.0, case_id, "", sup_id, created, created))
        db.conn.executemany("""INSERT INTO training_events (trainee_id, date, hours, title, trainer, confirmed_by,
                               confirmed_at, created_at, category) VALUES (?,?,?,?,?,?,?,?,'introductory')""", events)
        db.conn.executemany("""INSERT INTO clinical_hours (trainee_id, date, hours, setting, confirmed_by, confirmed_at,
                               created_at) VALUES (?,?,?,?,?,?,?)""", hours)
        db.conn.executemany("""INSERT INTO clinical_cases (id, trainee_id, pseudonym, problem_area, start_date, end_date,
                               n_sessions, confirmed_by, confirmed_at, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)""", cases)
        db.conn.executemany("INSERT INTO symptom_scores (case_id, session_number, measure, score) VALUES (?,?,?,?)", phq)
        db.conn.executemany("""INSERT INTO supervision_sessions (trainee_id, supervisor_name, date, hours, case_id, notes,
                               confirmed_by, confirmed_at, created_at) VALUES (?,?,?,?,?,?,?,?,?)""", sup)
    with transaction(db):
        for t in triggers:
            db.conn.execute(t)
        db.conn.execute("INSERT OR REPLACE INTO evidence_changes (user_id, seq, token) "
                        "SELECT id, 2, random() FROM users UNION ALL SELECT 0, 2, random() UNION ALL SELECT -1, 2, random()")
    db.conn.execute("ANALYZE")
    counts = {t: db.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
              for t in ("users", "vignette_attempts", "recorded_sessions", "ratings", "item_scores")}
    db.conn.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description="Generate a synthetic benchmark database.")
    parser.add_argument("scale", choices=list(SCALES))
    parser.add_argument("path", type=Path)
    args = parser.parse_args()
    print(json.dumps(generate(args.path, args.scale)))


if __name__ == "__main__":
    main()
