"""Issue 16: the cohort's batch evidence read (one query per kind, tuples by person) and the cached
assessments give exactly what evaluating each person on their own gives: every field of every
person's evidence and of every assessment, on the demo data and on a generated cohort after
random writes of every kind the engine reads."""

from __future__ import annotations

import datetime as _dt
import random
import sqlite3

import pytest

from ipt_training.credentials import evidence, readiness_cache, review
from ipt_training.credentials.holding import assess
from ipt_training.credentials.readiness import format_missing
from ipt_training.reliability import calibration
from ipt_training.store import open_store

from evidence_reference import reference_evidence_many
from test_readiness_incremental import _ids, _random_write

TODAY = _dt.date.today()


def _per_person(db, library, standard, ids):
    """Each person read alone with the pre-batch reader, then assessed."""
    certified = calibration.certified_raters(db, library, TODAY)
    count = calibration.count_uncertified_ratings(db, library)
    out = {}
    for p in ids:
        ev = reference_evidence_many(db, library, [p], TODAY, certified)[p]
        r, holding, status = assess(standard, ev, TODAY, count)
        out[p] = (r, holding, status, tuple(format_missing(r)))
    return out


def _check_everyone(db, library):
    people = _ids(db, "SELECT id FROM users ORDER BY id")
    batch = evidence.build_evidence_many(db, library, people, TODAY)
    for p in people:
        assert batch[p] == reference_evidence_many(db, library, [p], TODAY)[p], f"evidence of person {p}"
    checked = 0
    for standard in library.standards.values():
        ids = [c["id"] for c in review.candidates(db, standard)]
        readiness_cache.clear()
        got = readiness_cache.assess_many(db, library, standard, ids, TODAY)
        want = _per_person(db, library, standard, ids)
        for p in ids:
            assert got[p] == want[p], f"{standard.id}, person {p}"
        checked += len(ids)
    return checked


def test_demo_data_batch_equals_per_person(demo_db, library):
    assert _check_everyone(demo_db, library) > 10


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from benchmarks.generate import generate

    path = tmp_path_factory.mktemp("gen") / "S.db"
    generate(path, "S", seed=16)
    return path


def test_generated_cohort_after_random_writes_batch_equals_per_person(generated, library):
    db = open_store(generated)
    rng = random.Random(1616)
    admin_id = _ids(db, "SELECT user_id FROM user_roles WHERE role = 'admin'")[0]
    people = _ids(db, "SELECT id FROM users WHERE id > 0")
    for _ in range(150):  # decisions, revocations, renames, calibration changes, unlinked cases ...
        try:
            _random_write(db, rng, people, admin_id)
        except sqlite3.IntegrityError:  # a draft write on a session the rater already holds a draft of
            pass
    # rated sessions linked to a case by their pseudonym (spaces, capitals): without a case id, and
    # with the id of another person's case
    cases = db.conn.execute("""SELECT c.id, c.trainee_id, c.pseudonym FROM clinical_cases c WHERE c.trainee_id IN
                               (SELECT trainee_id FROM recorded_sessions WHERE is_gold_standard = 0)
                               ORDER BY c.id LIMIT 2""").fetchall()
    other = db.conn.execute("SELECT id FROM clinical_cases WHERE trainee_id <> ? LIMIT 1", (cases[1][1],)).fetchone()[0]
    for (_, tid, pseudonym), case_id in zip(cases, (None, other)):
        db.conn.execute("UPDATE recorded_sessions SET case_id = ?, case_pseudonym = ? WHERE trainee_id = ?",
                        (case_id, f"  {pseudonym.upper()} ", tid))
    # awards evaluated on another day than recorded, and one whose snapshot is not an object
    for n, snapshot in enumerate(('{"evaluated_on": "2024-02-03"}', '["x"]', 'not json', '{}')):
        db.conn.execute("""INSERT INTO credential_decisions (trainee_id, standard_id, standard_version, standard_hash,
                           decision, reviewer_id, decided_at, expires_on, evidence_snapshot)
                           VALUES (?, 'ipt-therapist-example', '1', 'h', 'award', ?, ?, '2030-01-01', ?)""",
                        (people[n], admin_id, f"2024-0{n + 4}-01T10:00:00", snapshot))
    assert _check_everyone(db, library) >= 50


def test_one_persons_reminders_equal_theirs_in_the_whole_list(generated, library):
    """Issue 16: Home asks for one person's renewal reminders in SQL; they are the ones the
    whole list holds for that person."""
    db = open_store(generated)
    admin_id = _ids(db, "SELECT user_id FROM user_roles WHERE role = 'admin'")[0]
    people = _ids(db, "SELECT id FROM users WHERE id NOT IN (SELECT trainee_id FROM credential_decisions) ORDER BY id")
    for n, p in enumerate(people[:6]):
        db.conn.execute("""INSERT INTO credential_decisions (trainee_id, standard_id, standard_version, standard_hash,
                           decision, reviewer_id, decided_at, expires_on, evidence_snapshot)
                           VALUES (?, 'ipt-therapist-example', '1', 'h', 'award', ?, '2024-01-01T10:00:00', ?, '{}')""",
                        (p, admin_id, (TODAY + _dt.timedelta(days=40 * n - 100)).isoformat()))
    everyone = review.renewal_reminders(db, library, TODAY, 120)
    assert len(everyone) >= 3
    for p in people[:8]:
        assert review.renewal_reminders(db, library, TODAY, 120, user_id=p) == \
            [r for r in everyone if r["trainee_id"] == p]


@pytest.mark.parametrize("data", ["demo", "generated"])
def test_the_rules_never_assign_to_their_inputs(data, demo_db, generated, library, monkeypatch):
    """Issue 16: the evidence entries are plain dataclasses (building frozen ones cost 60 ms of the
    cold cohort at L), read-only by convention: evaluating every standard, renewals included,
    assigns to none of them and leaves every person's evidence as it was read."""
    import copy
    import dataclasses

    from ipt_training.credentials import readiness_base

    db = demo_db if data == "demo" else open_store(generated)
    people = _ids(db, "SELECT id FROM users ORDER BY id")
    batch = evidence.build_evidence_many(db, library, people, TODAY)
    before = copy.deepcopy(batch)

    def forbid(self, name, value):
        raise AssertionError(f"a rule assigned {type(self).__name__}.{name}")

    entries = [c for c in vars(readiness_base).values()
               if isinstance(c, type) and dataclasses.is_dataclass(c) and c.__module__ == readiness_base.__name__
               and not c.__name__.startswith("_") and c.__name__ not in ("EvidenceRef", "RequirementResult", "Readiness")]
    assert {"VignetteResult", "RatedSession", "ClinicalCase", "Evidence"} <= {c.__name__ for c in entries}
    for cls in entries:
        monkeypatch.setattr(cls, "__setattr__", forbid)
    count = calibration.count_uncertified_ratings(db, library)
    evaluated = 0
    for standard in library.standards.values():
        for p in people:
            assess(standard, batch[p], TODAY, count)
            evaluated += 1
    assert evaluated > 10 and batch == before
