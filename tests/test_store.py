"""Store: migrations, foreign keys, append-only audit log, concurrent writes, backup."""

import sqlite3
import threading

import pytest

from ipt_training import store
from ipt_training.store import MIGRATIONS, connect, migrate, open_store, schema_version


def test_migrations_from_empty_db_then_rerun_is_idempotent(tmp_path):
    db = connect(tmp_path / "x.db")
    applied = migrate(db)
    assert applied == sorted(v for v, _ in MIGRATIONS)
    tables_before = set(db.table_names())
    assert {"users", "user_roles", "cohorts", "supervision_links", "audit_log", "ratings"} <= tables_before
    assert migrate(db) == []
    assert set(db.table_names()) == tables_before
    assert schema_version(db) == max(v for v, _ in MIGRATIONS)


def test_pragmas_foreign_keys_wal_busy_timeout(tmp_path):
    db = open_store(tmp_path / "x.db")
    assert db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.conn.execute("PRAGMA busy_timeout").fetchone()[0] == store.BUSY_TIMEOUT_MS


def test_foreign_keys_are_enforced(db):
    with pytest.raises(sqlite3.IntegrityError):
        db.conn.execute("INSERT INTO user_roles (user_id, role) VALUES (999, 'trainee')")


def test_audit_log_is_append_only(db):
    store.audit(db, None, "test_action", "thing", 1, {"a": 1})
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.conn.execute("UPDATE audit_log SET action = 'x'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.conn.execute("DELETE FROM audit_log")
    assert store.audit_entries(db)[0]["action"] == "test_action"


def test_concurrent_writes_from_threads_lose_nothing(tmp_path):
    path = tmp_path / "c.db"
    open_store(path)
    n_threads, per_thread = 8, 40
    errors = []

    def work(k):
        db = connect(path)  # one connection per thread, as per browser session
        try:
            for i in range(per_thread):
                with store.transaction(db):
                    store.audit(db, None, "write", "thread", f"{k}-{i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == []
    db = connect(path)
    assert db.conn.execute("SELECT COUNT(*) FROM audit_log WHERE action='write'").fetchone()[0] == n_threads * per_thread


def test_backup_while_writing_restores_consistent_db(tmp_path):
    path = tmp_path / "live.db"
    db = open_store(path)
    stop = threading.Event()

    def writer():
        w = connect(path)
        i = 0
        while not stop.is_set():
            with store.transaction(w):
                store.audit(w, None, "bulk", "n", i)
                store.audit(w, None, "bulk_pair", "n", i)  # both lines or neither
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        for _ in range(3):
            store.backup(db, tmp_path / "backup.db")
    finally:
        stop.set()
        t.join()
    restored = sqlite3.connect(tmp_path / "backup.db")
    assert restored.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    a = restored.execute("SELECT COUNT(*) FROM audit_log WHERE action='bulk'").fetchone()[0]
    b = restored.execute("SELECT COUNT(*) FROM audit_log WHERE action='bulk_pair'").fetchone()[0]
    assert a == b
