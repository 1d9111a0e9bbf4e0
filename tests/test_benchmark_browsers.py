"""The concurrency benchmarks' shared pure parts (benchmarks/workload.py, issue 16): percentiles, the plan of
who works, and the write accounting that says whether an acknowledged write reached the database."""

import random
import sqlite3

import numpy as np
import pytest

from benchmarks.workload import Visit, WriteLedger, lost_writes, percentile, plan, read_found, summarize


@pytest.mark.parametrize("n", [1, 2, 5, 20, 101])
def test_percentile_matches_numpy(n):
    rng = random.Random(n)
    values = [rng.uniform(1, 5000) for _ in range(n)]
    for q in (0, 50, 90, 95, 99, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        percentile([], 95)


def test_summary_counts_failures_apart_and_per_kind():
    visits = [Visit("score an item", ms) for ms in (100, 200, 300, 400)] + [
        Visit("score an item", 60_000, "timed out"), Visit("reliability report", 900),
        Visit("reliability report", 1_000, "the app's error message")]
    s = summarize(visits)
    assert (s["visits"], s["failed"]) == (7, 2)
    # the failed visits' times are not in the figures
    assert s["max_ms"] == 900 and s["median_ms"] == 300
    assert s["by_kind"]["score an item"] == {"visits": 5, "failed": 1, "median_ms": 250, "p95_ms": 385, "max_ms": 400}
    assert s["failures"] == {"score an item: timed out": 1, "reliability report: the app's error message": 1}


def test_summary_gives_the_servers_part_of_the_visits_that_have_it():
    visits = [Visit("home", 500, None, 40), Visit("home", 700, None, 60), Visit("home", 900),
              Visit("home", 60_000, "timed out", 10)]
    s = summarize(visits)
    assert (s["server_median_ms"], s["server_p95_ms"]) == (50, 59)
    assert s["by_kind"]["home"]["median_ms"] == 700


def test_plan_of_twenty_and_of_fewer():
    twenty = plan(20)
    assert {r: twenty.count(r) for r in set(twenty)} == {"rater": 12, "trainee": 6, "supervisor": 1, "admin": 1}
    assert sorted(plan(2)) == ["rater", "trainee"]
    assert len(plan(10)) == 10 and {"admin", "supervisor", "rater", "trainee"} == set(plan(10))
    with pytest.raises(ValueError):
        plan(0)


def test_ledger_expects_the_last_acknowledged_value_or_a_later_attempt():
    ledger = WriteLedger()
    ledger.attempt(("item", 1, 2, "a"), 3)
    ledger.acknowledge(("item", 1, 2, "a"), 3)
    ledger.attempt(("item", 1, 2, "a"), 4)  # timed out: may or may not have landed
    ledger.attempt(("item", 1, 2, "b"), 5)  # never acknowledged: not expected
    assert ledger.acknowledged == 1
    assert ledger.expected() == {("item", 1, 2, "a"): (3, {4})}
    assert lost_writes(ledger, {("item", 1, 2, "a"): {3}}) == []
    assert lost_writes(ledger, {("item", 1, 2, "a"): {4}}) == []  # the later write landed
    # an older value, or nothing at all, is a lost write
    assert lost_writes(ledger, {("item", 1, 2, "a"): {2}})[0]["acknowledged"] == 3
    assert len(lost_writes(ledger, {})) == 1


def _rating_with_scores(db_path):
    """A submitted demo rating and its scored items, read with sqlite3 (independent of the harness)."""
    with sqlite3.connect(db_path) as conn:
        rid, rater, session = conn.execute(
            "SELECT id, rater_id, session_id FROM ratings WHERE kind = 'rater' AND status = 'submitted' "
            "ORDER BY id LIMIT 1").fetchone()
        scores = conn.execute("SELECT item_id, score FROM item_scores WHERE rating_id = ? AND score IS NOT NULL",
                              (rid,)).fetchall()
    return rid, rater, session, scores


def test_every_acknowledged_write_found_in_the_database_is_not_lost(demo_db_path):
    rid, rater, session, scores = _rating_with_scores(demo_db_path)
    ledger = WriteLedger()
    for item, score in scores:
        ledger.attempt(("item", rater, session, item), score)
        ledger.acknowledge(("item", rater, session, item), score)
    ledger.attempt(("submitted", rater, session), "submitted")
    ledger.acknowledge(("submitted", rater, session), "submitted")
    assert len(scores) >= 5
    assert lost_writes(ledger, read_found(demo_db_path, ledger.expected())) == []


def test_a_missing_row_and_a_changed_score_are_lost_writes(demo_db_path):
    rid, rater, session, scores = _rating_with_scores(demo_db_path)
    ledger = WriteLedger()
    for item, score in scores:
        ledger.attempt(("item", rater, session, item), score)
        ledger.acknowledge(("item", rater, session, item), score)
    note = "A mark the page showed saved"
    ledger.attempt(("mark", rater, session, note), True)
    ledger.acknowledge(("mark", rater, session, note), True)
    ledger.attempt(("hours", rater, "Outpatient clinic 7"), True)
    ledger.acknowledge(("hours", rater, "Outpatient clinic 7"), True)
    (gone, _), (changed, old) = scores[0], scores[1]
    with sqlite3.connect(demo_db_path) as conn:
        conn.execute("DELETE FROM item_scores WHERE rating_id = ? AND item_id = ?", (rid, gone))
        conn.execute("UPDATE item_scores SET score = ? WHERE rating_id = ? AND item_id = ?", (old % 5 + 1, rid, changed))
    lost = lost_writes(ledger, read_found(demo_db_path, ledger.expected()))
    # the deleted score, the changed score, and the mark and the hours that were never written
    assert sorted(tuple(x["key"][:1] + x["key"][-1:]) for x in lost) == sorted(
        [("item", gone), ("item", changed), ("mark", note), ("hours", "Outpatient clinic 7")])
    # once they are there, nothing is lost
    with sqlite3.connect(demo_db_path) as conn:
        conn.execute("INSERT INTO item_scores (rating_id, item_id, score) VALUES (?, ?, ?)", (rid, gone, scores[0][1]))
        conn.execute("UPDATE item_scores SET score = ? WHERE rating_id = ? AND item_id = ?", (old, rid, changed))
        conn.execute("INSERT INTO evidence_marks (rating_id, time_s, note, created_at) VALUES (?, 1, ?, '2026-01-01')",
                     (rid, note))
        conn.execute("INSERT INTO clinical_hours (trainee_id, date, hours, setting, created_at) "
                     "VALUES (?, '2026-01-01', 2, 'Outpatient clinic 7', '2026-01-01')", (rater,))
    assert lost_writes(ledger, read_found(demo_db_path, ledger.expected())) == []


def test_a_vignette_answer_is_found_anywhere_in_the_attempts_answers(demo_db_path):
    with sqlite3.connect(demo_db_path) as conn:
        trainee, vignette, answers = conn.execute(
            "SELECT trainee_id, vignette_id, answers FROM vignette_attempts WHERE answers LIKE '%moments%' LIMIT 1"
        ).fetchone()
    import json

    response = next(m["response"] for m in json.loads(answers)["moments"].values() if m.get("response"))
    ledger = WriteLedger()
    key = ("answer", trainee, vignette, "What you would say at moment 1")
    ledger.attempt(key, response)
    ledger.acknowledge(key, response)
    assert lost_writes(ledger, read_found(demo_db_path, ledger.expected())) == []
    ledger.attempt(key, "A newer answer the database never got")
    ledger.acknowledge(key, "A newer answer the database never got")
    assert len(lost_writes(ledger, read_found(demo_db_path, ledger.expected()))) == 1
