"""A second, independent test at another level for critical rules that rested on one test
(issue 18): the lockout through the sign-in page, and the append-only decisions and audit log
enforced by the database file itself, for a client that bypasses the store."""

from __future__ import annotations

import sqlite3

import pytest

from ipt_training import auth
from ipt_training.config import get_settings
from ipt_training.store import audit, now_iso, open_store, rows, transaction

from apphelp import app_as, shown

PASSWORD = "Violet-harbour-lantern-42"


def _sign_in(at, username, password):
    at.text_input(key="si_username").input(username)
    at.text_input(key="si_password").input(password)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def test_the_sign_in_page_locks_the_account_after_five_wrong_passwords(app_env):
    db = open_store(get_settings().db_path)
    auth.create_user(db, "admin.one", PASSWORD + "-admin", ["admin"], "Admin One")
    ana = auth.create_user(db, "ana", PASSWORD, ["trainee"], "Ana")
    at = app_as(None)
    for n in range(1, auth.MAX_FAILED_SIGN_INS + 1):
        _sign_in(at, "ana", f"not-her-password-{n}")
        assert [shown(e.value) for e in at.error] == [auth.SIGN_IN_FAILED] and "user_id" not in at.session_state
    locked = rows(db, "SELECT locked_until FROM users WHERE id = ?", (ana.id,))[0]["locked_until"]
    assert locked is not None and locked > now_iso()
    # the right password is now refused on the page, with the same words, and nobody is signed in
    _sign_in(at, "ana", PASSWORD)
    assert [shown(e.value) for e in at.error] == [auth.SIGN_IN_FAILED] and "user_id" not in at.session_state
    logged = rows(db, "SELECT detail FROM audit_log WHERE action = 'sign_in_failed' AND actor_id = ? ORDER BY id",
                  (ana.id,))
    assert len(logged) == auth.MAX_FAILED_SIGN_INS + 1
    assert '"locked": true' in logged[auth.MAX_FAILED_SIGN_INS - 1]["detail"]
    # another account is not affected
    _sign_in(app_as(None), "admin.one", PASSWORD + "-admin")


@pytest.fixture
def decided(tmp_path):
    """A store file with one decision and one audit line, closed again."""
    path = tmp_path / "store.db"
    db = open_store(path)
    admin = auth.create_user(db, "boss", PASSWORD, ["admin"], "Boss")
    t = auth.create_user(db, "tia", PASSWORD, ["trainee"], "Tia")
    with transaction(db):
        db.conn.execute("""INSERT INTO credential_decisions (trainee_id, standard_id, standard_version, standard_hash,
                           decision, reasons, reviewer_id, decided_at, expires_on, evidence_snapshot)
                           VALUES (?, 'std', '1', 'h', 'award', 'met', ?, ?, '2030-01-01', '{}')""",
                        (t.id, admin.id, now_iso()))
        audit(db, admin.id, "credential_award", "user", t.id)
    db.conn.close()
    return path


@pytest.mark.parametrize("sql", [
    "UPDATE credential_decisions SET decision = 'refuse'",
    "UPDATE credential_decisions SET expires_on = '2099-01-01'",
    "DELETE FROM credential_decisions",
    "UPDATE audit_log SET action = 'nothing'",
    "DELETE FROM audit_log",
])
def test_a_plain_sqlite_client_cannot_change_decisions_or_the_audit_log(decided, sql):
    """The triggers live in the database file: a client that never goes through the store (the
    sqlite3 shell, a script, a restored backup opened elsewhere) is refused too."""
    conn = sqlite3.connect(decided)
    before = conn.execute("SELECT * FROM credential_decisions").fetchall() + conn.execute(
        "SELECT * FROM audit_log").fetchall()
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute(sql)
    conn.commit()
    after = conn.execute("SELECT * FROM credential_decisions").fetchall() + conn.execute(
        "SELECT * FROM audit_log").fetchall()
    assert after == before and len(before) >= 2
    conn.close()
