"""Warming the shared caches at server start (issue 16, ipt_training/ui/warm.py): what it fills
is what the pages then read, equal to a computation without warming and shared by nobody's own
view; it never creates or migrates a database, and a failure never reaches a page."""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from ipt_training import auth, auth_sessions, store
from ipt_training.config import get_settings
from ipt_training.credentials import readiness_cache, review
from ipt_training.fidelity.blind import blind_session_ids
from ipt_training.ui import warm

TODAY = _dt.date.today()


def _texts(at) -> list[str]:
    return [e.value for e in at.markdown] + [e.value for e in at.caption] + [e.value for e in at.info]


def _home(db, user_id: int):
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "streamlit_app.py"), default_timeout=60)
    at.session_state["auth_session_id"] = auth_sessions.begin(db, user_id, get_settings())
    at.run()
    assert not at.exception
    return at


def test_warming_fills_what_the_pages_read_with_the_same_figures(app_demo, demo_db, library):
    readiness_cache.clear()
    steps = warm.warm()
    assert {"imports", "readiness", "reliability"} <= set(steps)
    warmed = {sid: review.cohort_readiness(demo_db, library, sid, None, TODAY) for sid in library.standards}
    before = readiness_cache.evaluations
    for sid in library.standards:  # served from what warming kept: nobody evaluated again
        assert review.cohort_readiness(demo_db, library, sid, None, TODAY) == warmed[sid]
    assert readiness_cache.evaluations == before
    readiness_cache.clear()
    for sid in library.standards:  # the same rows as without warming
        assert review.cohort_readiness(demo_db, library, sid, None, TODAY) == warmed[sid]


def test_a_viewers_blind_set_still_applies_after_warming(app_demo, demo_db, library):
    """Warming keeps the assessments without any blind set; a supervisor blind to a session of
    the cohort sees what they saw without warming."""
    from ipt_training import fidelity

    admin = auth.get_user(demo_db, demo_db.conn.execute("SELECT user_id FROM user_roles WHERE role = 'admin'").fetchone()[0])
    viewer = auth.get_user(demo_db, demo_db.conn.execute(
        "SELECT user_id FROM user_roles WHERE role = 'supervisor' ORDER BY user_id").fetchone()[0])
    rated = demo_db.conn.execute(
        """SELECT s.id FROM recorded_sessions s WHERE s.is_gold_standard = 0 AND s.trainee_id IN
           (SELECT value FROM json_each(?)) AND EXISTS (SELECT 1 FROM ratings r WHERE r.session_id = s.id
           AND r.kind = 'rater' AND r.status = 'submitted' AND r.rater_id <> ?)
           AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.session_id = s.id AND r.rater_id = ?) ORDER BY s.id""",
        (json.dumps(auth.visible_trainee_ids(demo_db, viewer)), viewer.id, viewer.id)).fetchone()[0]
    fidelity.assign(demo_db, admin, rated, viewer.id, None, "second_rating")  # now blind to its ratings
    assert rated in blind_session_ids(demo_db, viewer)
    sid = "ipt-therapist-example"
    readiness_cache.clear()
    unwarmed = review.cohort_readiness(demo_db, library, sid, None, TODAY, viewer=viewer)
    readiness_cache.clear()
    warm.warm()
    assert review.cohort_readiness(demo_db, library, sid, None, TODAY, viewer=viewer) == unwarmed


def test_home_after_warming_shows_what_it_shows_cold(app_demo, demo_db):
    trainee = demo_db.conn.execute("SELECT user_id FROM user_roles WHERE role = 'trainee' ORDER BY user_id").fetchone()[0]
    admin = demo_db.conn.execute("SELECT user_id FROM user_roles WHERE role = 'admin' ORDER BY user_id").fetchone()[0]
    readiness_cache.clear()
    cold = [_texts(_home(demo_db, u)) for u in (trainee, admin)]
    readiness_cache.clear()
    warm.warm()
    assert [_texts(_home(demo_db, u)) for u in (trainee, admin)] == cold


def test_warming_never_makes_or_migrates_a_database(app_env):
    path = get_settings().db_path
    assert not path.exists()
    steps = warm.warm()
    assert not path.exists() and "readiness" not in steps
    # a file the first page has just made, not migrated yet, or one migrated part way: left alone
    import sqlite3

    path.parent.mkdir(parents=True, exist_ok=True)
    sqlite3.connect(path).close()
    assert "readiness" not in warm.warm() and store.schema_version(store.connect(path)) == 0
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
        conn.execute("INSERT INTO schema_migrations VALUES (1, '2026-01-01')")
    assert "readiness" not in warm.warm()
    assert [t for (t,) in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type = 'table'")] \
        == ["schema_migrations"]


def test_a_failure_is_logged_never_raised_and_the_thread_starts_once(app_demo, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the store is locked")

    monkeypatch.setattr(warm, "_readiness", broken)
    monkeypatch.setattr(warm, "_thread", None)
    thread = warm.start()
    assert thread is not None and warm.start() is None  # once per process
    thread.join(timeout=120)
    assert "the store is locked" in warm.last["error"]
    monkeypatch.setenv("IPT_TRAINING_WARM", "off")
    monkeypatch.setattr(warm, "_thread", None)
    assert warm.start() is None
