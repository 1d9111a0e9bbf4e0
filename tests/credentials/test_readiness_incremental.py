"""Incremental readiness (issue 16): per-person evidence tokens kept by triggers, assessments
cached under them. After any sequence of writes the cached cohort equals a from-scratch
evaluation; one trainee's change re-evaluates that trainee only; draft saves change nothing."""

from __future__ import annotations

import datetime as _dt
import json
import random

import pytest

from ipt_training import auth, fidelity
from ipt_training.credentials import evidence, readiness_cache, review
from ipt_training.credentials.holding import assess
from ipt_training.credentials.readiness import format_missing
from ipt_training.fidelity.blind import blind_session_ids
from ipt_training.store import now_iso

TODAY = _dt.date.today()
THERAPIST = "ipt-therapist-example"


def _reference(db, library, standard, ids, hidden=frozenset()):
    """The non-incremental evaluation: evidence built afresh for everybody, then assessed."""
    ev = evidence.build_evidence_many(db, library, ids, TODAY, hide_sessions=hidden)
    out = {}
    for p in ids:
        r, holding, status = assess(standard, ev[p], TODAY, readiness_cache.calibration.count_uncertified_ratings(db, library))
        out[p] = (r, holding, status, tuple(format_missing(r)))
    return out


def _ids(db, sql, params=()):
    return [r[0] for r in db.conn.execute(sql, params).fetchall()]


def _random_write(db, rng, people, admin_id):
    """One write of a kind readiness reads (or, for drafts, does not), in raw SQL: the triggers
    must notice whichever code path writes."""
    x = db.conn.execute
    t = rng.choice(people)
    now = now_iso()
    kind = rng.randrange(21)
    if kind == 0:
        x("INSERT INTO clinical_hours (trainee_id, date, hours, created_at, confirmed_by, confirmed_at) VALUES (?,?,?,?,?,?)",
          (t, "2025-02-0%d" % rng.randint(1, 9), rng.choice([5, 40, 200]), now,
           rng.choice([None, admin_id]), now))
    elif kind == 1:
        table = rng.choice(["training_events", "clinical_hours", "clinical_cases", "supervision_sessions"])
        ids = _ids(db, f"SELECT id FROM {table} WHERE confirmed_by IS NULL")
        if ids:
            x(f"UPDATE {table} SET confirmed_by = ?, confirmed_at = ? WHERE id = ?", (admin_id, now, rng.choice(ids)))
    elif kind == 2:
        table = rng.choice(["training_events", "clinical_hours"])
        ids = _ids(db, f"SELECT id FROM {table}")
        if ids:
            x(f"DELETE FROM {table} WHERE id = ?", (rng.choice(ids),))
    elif kind == 3:
        cases = _ids(db, "SELECT id FROM clinical_cases")
        if cases:
            x("INSERT OR IGNORE INTO symptom_scores (case_id, session_number, measure, score) VALUES (?,?,?,?)",
              (rng.choice(cases), rng.randint(1, 8), rng.choice(["PHQ-9", "EPDS"]), rng.randint(0, 27)))
    elif kind == 4:
        cases = _ids(db, "SELECT id FROM clinical_cases")
        if cases:
            x("UPDATE clinical_cases SET n_sessions = ? WHERE id = ?", (rng.randint(4, 16), rng.choice(cases)))
    elif kind == 5:  # a submitted rating of a random session by a random rater
        sessions = _ids(db, "SELECT id FROM recorded_sessions")
        raters = _ids(db, "SELECT user_id FROM user_roles WHERE role IN ('rater', 'supervisor')")
        mean = rng.choice([2.5, 3.5, 4.5])
        x("""INSERT OR IGNORE INTO ratings (session_id, rater_id, kind, instrument_id, instrument_hash, status, mean,
             passed, created_at, updated_at, submitted_at) VALUES (?,?,'rater','ipt-session-fidelity','x','submitted',?,?,?,?,?)""",
          (rng.choice(sessions), rng.choice(raters), mean, int(mean >= 3), now, now, now))
    elif kind == 6:
        ids = _ids(db, "SELECT id FROM ratings WHERE status = 'submitted'")
        if ids:
            x("UPDATE ratings SET mean = ?, passed = ? WHERE id = ?", (1.5, 0, rng.choice(ids)))
    elif kind == 7:  # a draft and its item scores: nothing readiness reads
        sessions = _ids(db, "SELECT id FROM recorded_sessions")
        raters = _ids(db, "SELECT user_id FROM user_roles WHERE role = 'rater'")
        rid = x("""INSERT OR IGNORE INTO ratings (session_id, rater_id, kind, instrument_id, instrument_hash, status,
                   created_at, updated_at) VALUES (?,?,'rater','ipt-session-fidelity','x','draft',?,?)""",
                (rng.choice(sessions), rng.choice(raters), now, now)).lastrowid
        if rid:
            x("INSERT OR REPLACE INTO item_scores (rating_id, item_id, score) VALUES (?, 'x1', ?)", (rid, rng.randint(1, 5)))
    elif kind == 8:
        vid = rng.choice(["v-a", "v-b", "v-c"])
        status = rng.choice(["submitted", "graded"])
        x("""INSERT INTO vignette_attempts (trainee_id, vignette_id, vignette_hash, rubric_id, rubric_hash, status, score,
             passed, primary_area, created_at, updated_at, submitted_at) VALUES (?,?,'h','r','h',?,?,?,?,?,?,?)""",
          (t, vid, status, rng.random(), rng.randint(0, 1), rng.choice(["grief", "role_disputes"]), now, now, now))
    elif kind == 9:
        ids = _ids(db, "SELECT id FROM vignette_attempts WHERE status <> 'draft'")
        if ids:
            x("UPDATE vignette_attempts SET score = ?, status = 'graded' WHERE id = ?", (rng.random(), rng.choice(ids)))
    elif kind == 10:
        std = rng.choice([THERAPIST, "ipt-supervisor-example"])
        x("""INSERT INTO credential_decisions (trainee_id, standard_id, standard_version, standard_hash, decision, reviewer_id,
             decided_at, expires_on, evidence_snapshot) VALUES (?,?,'1','h',?,?,?,?,?)""",
          (t, std, rng.choice(["award", "refuse", "defer"]), admin_id, now, "2029-01-01",
           json.dumps({"evaluated_on": TODAY.isoformat()})))
    elif kind == 11:
        ids = _ids(db, """SELECT id FROM credential_decisions WHERE decision = 'award'
                          AND id NOT IN (SELECT decision_id FROM credential_revocations)""")
        if ids:
            x("INSERT INTO credential_revocations (decision_id, reason, revoked_at) VALUES (?, 'test', ?)", (rng.choice(ids), now))
    elif kind == 12:
        x("INSERT INTO settings (key, value) VALUES ('count_uncertified_ratings', ?) "
          "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (rng.choice(["0", "1"]),))
    elif kind == 13:
        x("UPDATE users SET display_name = ? WHERE id = ?", (f"Renamed {rng.randint(1, 99)}", rng.choice(people + [admin_id])))
    elif kind == 14:
        cases = _ids(db, "SELECT id FROM clinical_cases WHERE trainee_id = ?", (t,))
        sup = rng.choice(_ids(db, "SELECT user_id FROM user_roles WHERE role = 'supervisor'"))
        x("""INSERT INTO supervision_sessions (trainee_id, supervisor_name, date, hours, case_id, confirmed_by, confirmed_at,
             created_at) VALUES (?, 'S', '2025-03-01', ?, ?, ?, ?, ?)""",
          (t, rng.choice([1, 4, 10]), rng.choice(cases) if cases else None, rng.choice([None, sup]), now, now))
    elif kind == 15:
        ids = _ids(db, "SELECT id FROM recorded_sessions WHERE is_gold_standard = 0")
        if ids:
            x("UPDATE recorded_sessions SET phase = ?, case_id = NULL WHERE id = ?",
              (rng.choice(["initial", "middle", "termination"]), rng.choice(ids)))
    elif kind == 17:  # who is listed: an account (de)activated
        x("UPDATE users SET active = 1 - active WHERE id = ?", (t,))
    elif kind == 18:  # a cohort joined or left
        cohort = _ids(db, "SELECT id FROM cohorts ORDER BY id LIMIT 1") or \
            [x("INSERT INTO cohorts (name, created_at) VALUES ('Random cohort', ?)", (now,)).lastrowid]
        if x("DELETE FROM cohort_members WHERE cohort_id = ? AND user_id = ?", (cohort[0], t)).rowcount == 0:
            x("INSERT INTO cohort_members (cohort_id, user_id) VALUES (?, ?)", (cohort[0], t))
    elif kind == 19:  # a supervision link made or removed
        sup = rng.choice(_ids(db, "SELECT user_id FROM user_roles WHERE role = 'supervisor'"))
        if sup != t and x("DELETE FROM supervision_links WHERE supervisor_id = ? AND trainee_id = ?",
                          (sup, t)).rowcount == 0:
            x("INSERT INTO supervision_links (supervisor_id, trainee_id) VALUES (?, ?)", (sup, t))
    elif kind == 20:  # an assignment made or removed: the assigned rater's blind set changes
        rater = _ids(db, "SELECT user_id FROM user_roles WHERE role = 'supervisor' ORDER BY user_id LIMIT 1")[0]
        session = rng.choice(_ids(db, "SELECT id FROM recorded_sessions WHERE is_gold_standard = 0"))
        if x("DELETE FROM assignments WHERE session_id = ? AND rater_id = ?", (session, rater)).rowcount == 0:
            x("INSERT INTO assignments (session_id, rater_id, created_at) VALUES (?, ?, ?)", (session, rater, now))
    else:  # a rater's calibration on a gold-standard session: certification may change
        gold = _ids(db, "SELECT id FROM recorded_sessions WHERE is_gold_standard = 1")
        drafts = _ids(db, """SELECT r.id FROM ratings r JOIN recorded_sessions s ON s.id = r.session_id
                             WHERE s.is_gold_standard = 1 AND r.status = 'submitted'""")
        if drafts:
            x("UPDATE item_scores SET score = ? WHERE rating_id = ? AND score IS NOT NULL",
              (rng.randint(1, 5), rng.choice(drafts)))
        elif gold:
            x("UPDATE recorded_sessions SET case_pseudonym = 'Gold ' || id WHERE id = ?", (rng.choice(gold),))


def test_random_writes_incremental_equals_from_scratch(demo_db, library):
    db = demo_db
    rng = random.Random(16)
    admin_id = _ids(db, "SELECT user_id FROM user_roles WHERE role = 'admin'")[0]
    sup = auth.get_user(db, _ids(db, "SELECT user_id FROM user_roles WHERE role = 'supervisor'")[0])
    standards = [library.standards[THERAPIST], library.standards["ipt-supervisor-example"]]
    readiness_cache.clear()
    changed = 0
    for step in range(80):
        _random_write(db, rng, _ids(db, "SELECT id FROM users WHERE id > 0"), admin_id)
        std = standards[step % 2]
        people = [p["id"] for p in review.candidates(db, std)]
        got = readiness_cache.assess_many(db, library, std, people, TODAY)
        assert got == _reference(db, library, std, people), f"step {step}"
        hidden = frozenset(blind_session_ids(db, sup))  # a viewer with a blind set: filtered per person
        assert readiness_cache.assess_many(db, library, std, people, TODAY, hide_sessions=hidden) == \
            _reference(db, library, std, people, hidden), f"step {step} (supervisor's view)"
        for viewer in (None, sup):  # the rows kept by the evidence stamp, against rows made now
            assert review.cohort_readiness(db, library, std.id, None, TODAY, viewer=viewer) == \
                review._cohort_readiness(db, library, std, None, TODAY, viewer, None, patch=False), f"step {step} (rows)"
        changed += 1
    # and the page-level function agrees with a cold evaluation of itself
    warm = review.cohort_readiness(db, library, THERAPIST, None, TODAY)
    readiness_cache.clear()
    assert review.cohort_readiness(db, library, THERAPIST, None, TODAY) == warm


def test_one_trainees_log_entry_costs_one_evaluation(demo_db, library):
    db = demo_db
    admin = auth.get_user(db, _ids(db, "SELECT user_id FROM user_roles WHERE role = 'admin'")[0])
    readiness_cache.clear()
    before = {r["trainee_id"]: r for r in review.cohort_readiness(db, library, THERAPIST, None, TODAY)}
    assert len(before) >= 3
    a, b = sorted(before)[:2]
    n = readiness_cache.evaluations
    again = {r["trainee_id"]: r for r in review.cohort_readiness(db, library, THERAPIST, None, TODAY)}
    assert readiness_cache.evaluations == n  # nothing changed: nobody evaluated
    assert again[b]["readiness"] is before[b]["readiness"]

    evidence.record_clinical_hours(db, admin, a, "2025-05-01", 12, "clinic")
    after = {r["trainee_id"]: r for r in review.cohort_readiness(db, library, THERAPIST, None, TODAY)}
    assert readiness_cache.evaluations == n + 1  # A only
    assert after[b]["readiness"] is before[b]["readiness"]  # B's assessment was reused, not re-made
    assert after[b] is again[b] and after[a] is not again[a]  # and only A's row was built again
    hours = next(q for q in after[a]["readiness"].requirements if q.type == "supervised_clinical_hours")
    assert any("12 hours" in e.label for e in hours.not_counted)  # A's new (unconfirmed) entry is seen


def test_draft_saves_leave_the_stamp_and_the_cohort_alone(demo_db, library):
    db = demo_db
    admin = auth.get_user(db, _ids(db, "SELECT user_id FROM user_roles WHERE role = 'admin'")[0])
    row = db.conn.execute("""SELECT s.id, r.user_id FROM recorded_sessions s, user_roles r
                             WHERE s.is_gold_standard = 0 AND s.deleted_at IS NULL AND r.role = 'rater'
                             AND NOT EXISTS (SELECT 1 FROM ratings x WHERE x.session_id = s.id AND x.rater_id = r.user_id)
                             AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.session_id = s.id AND a.rater_id = r.user_id)
                             AND NOT EXISTS (SELECT 1 FROM ratings_seen v WHERE v.session_id = s.id AND v.user_id = r.user_id)
                             AND s.trainee_id <> r.user_id LIMIT 1""").fetchone()
    session_id, rater_id = row
    fidelity.assign(db, admin, session_id, rater_id, None, "rating")
    rater = auth.get_user(db, rater_id)
    draft = fidelity.get_or_create_draft(db, rater, session_id, "rater", library=library)
    review.cohort_readiness(db, library, THERAPIST, None, TODAY)
    stamp, n = review.evidence_stamp(db), readiness_cache.evaluations
    session = db.conn.execute("SELECT phase, problem_area FROM recorded_sessions WHERE id = ?", (session_id,)).fetchone()
    items = library.instruments["ipt-session-fidelity"].applicable_items(*session)
    for item in items:
        fidelity.save_item(db, rater, draft["id"], item.id, 4, False, library=library)
    assert review.evidence_stamp(db) == stamp
    review.cohort_readiness(db, library, THERAPIST, None, TODAY)
    assert readiness_cache.evaluations == n

    owner = db.conn.execute("SELECT trainee_id FROM recorded_sessions WHERE id = ?", (session_id,)).fetchone()[0]
    fidelity.submit_rating(db, rater, draft["id"], library=library)
    assert review.evidence_stamp(db) != stamp
    rows_ = review.cohort_readiness(db, library, THERAPIST, None, TODAY)
    owners_listed = owner in {r["trainee_id"] for r in rows_}
    assert readiness_cache.evaluations == n + int(owners_listed)  # the session's trainee, nobody else


@pytest.mark.parametrize("statement", [
    "INSERT INTO clinical_hours (trainee_id, date, hours, created_at) VALUES ({t}, '2025-01-01', 3, 'now')",
    "UPDATE users SET display_name = 'New name' WHERE id = {t}",
    "INSERT INTO cohorts (name, created_at) VALUES ('A new cohort', 'now')",
    "DELETE FROM cohort_members WHERE user_id = {t}",
    "DELETE FROM supervision_links WHERE trainee_id = {t}",
    "UPDATE users SET active = 0 WHERE id = {t}",
])
def test_the_stamp_follows_what_the_cohort_table_shows(demo_db, statement):
    t = _ids(demo_db, "SELECT user_id FROM user_roles WHERE role = 'trainee'")[0]
    before = review.evidence_stamp(demo_db)
    demo_db.conn.execute(statement.format(t=t))
    assert review.evidence_stamp(demo_db) != before


def test_a_large_batch_is_frozen_out_of_the_collector_and_clear_hands_it_back(demo_db, library, monkeypatch):
    """Issue 16: after a batch of FREEZE_AT people or more the heap is frozen (no catch-up scan of
    the kept assessments); the results are the same, and clear() unfreezes."""
    import gc

    std = library.standards[THERAPIST]
    people = [p["id"] for p in review.candidates(demo_db, std)]
    readiness_cache.clear()
    assert gc.get_freeze_count() == 0
    monkeypatch.setattr(readiness_cache, "FREEZE_AT", len(people) + 1)
    small = readiness_cache.assess_many(demo_db, library, std, people, TODAY)
    assert gc.get_freeze_count() == 0 and gc.isenabled()  # below the threshold: nothing frozen
    readiness_cache.clear()
    monkeypatch.setattr(readiness_cache, "FREEZE_AT", len(people))
    import weakref

    class Node:
        pass

    cycle = Node()
    cycle.me = cycle  # cyclic garbage pending when the batch starts: collected, never frozen
    pending = weakref.ref(cycle)
    del cycle
    thresholds = gc.get_threshold()
    gc.set_threshold(10**9)  # no automatic collection: it stays pending until the batch
    try:
        large = readiness_cache.assess_many(demo_db, library, std, people, TODAY)
    finally:
        gc.set_threshold(*thresholds)
    assert gc.get_freeze_count() > 0 and gc.isenabled()
    assert pending() is None
    assert large == small == _reference(demo_db, library, std, people)
    readiness_cache.clear()
    assert gc.get_freeze_count() == 0


def _old_cycle():
    """A cycle that has reached the oldest generation and then become garbage: only a full
    collection (or none, once frozen) finds it. Returns a weak reference to it."""
    import gc
    import weakref

    class Node:
        pass

    node = Node()
    node.me = node
    gc.collect(1)  # the survivors of the young generations move to the oldest one
    gc.collect(1)
    assert any(o is node for o in gc.get_objects(generation=2))
    ref = weakref.ref(node)
    del node
    return ref


def test_the_collection_before_a_freeze_is_full_once_something_is_frozen(demo_db, library, monkeypatch):
    """Issue 16: the process's first freeze collects only the young generations (a full collection
    would scan the whole start-up heap), so a garbage cycle already in the oldest generation is
    frozen, until clear() hands it back; every later large batch collects fully first, so nothing
    pending is frozen."""
    import gc

    std = library.standards[THERAPIST]
    people = [p["id"] for p in review.candidates(demo_db, std)]
    monkeypatch.setattr(readiness_cache, "FREEZE_AT", len(people))
    collected = []

    def watch(phase, info):
        if phase == "start":
            collected.append(info["generation"])

    thresholds = gc.get_threshold()
    gc.set_threshold(10**9)  # no automatic collection during the test: only the ones asked for
    gc.callbacks.append(watch)
    try:
        readiness_cache.clear()
        first_cycle = _old_cycle()
        collected.clear()
        first = readiness_cache.assess_many(demo_db, library, std, people, TODAY)
        assert collected == [1] and gc.get_freeze_count() > 0
        assert first_cycle() is not None  # frozen with the heap, not collected
        second_cycle = _old_cycle()
        collected.clear()
        day = TODAY + _dt.timedelta(days=1)  # another day: every person is evaluated again
        second = readiness_cache.assess_many(demo_db, library, std, people, day)
        assert collected == [2]
        assert second_cycle() is None  # collected before the second freeze
        readiness_cache.clear()
        assert gc.get_freeze_count() == 0
        gc.collect()
        assert first_cycle() is None  # handed back by clear() and collected
    finally:
        gc.callbacks.remove(watch)
        gc.set_threshold(*thresholds)
        readiness_cache.clear()
    assert first == _reference(demo_db, library, std, people)
    assert set(second) == set(people)


def test_a_failing_batch_leaves_the_collector_on_and_nothing_frozen(demo_db, library, monkeypatch):
    import gc

    std = library.standards[THERAPIST]
    people = [p["id"] for p in review.candidates(demo_db, std)]
    readiness_cache.clear()
    monkeypatch.setattr(readiness_cache, "FREEZE_AT", 1)

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(readiness_cache, "build_evidence_many", broken)
    with pytest.raises(RuntimeError):
        readiness_cache.assess_many(demo_db, library, std, people, TODAY)
    assert gc.isenabled() and gc.get_freeze_count() == 0
