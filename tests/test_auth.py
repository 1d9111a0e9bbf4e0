"""Accounts: argon2 hashing, wrong password, lockout and unlock, deactivation, roles."""

from datetime import datetime, timedelta, timezone

import pytest

from ipt_training import auth


def test_password_is_stored_as_argon2_hash_never_plaintext(db):
    auth.create_user(db, "ana", "correct-horse", ["trainee"])
    row = db.conn.execute("SELECT password_hash FROM users WHERE username='ana'").fetchone()
    assert row[0].startswith("$argon2id$")
    assert "correct-horse" not in row[0]
    dump = "\n".join(db.conn.iterdump())
    assert "correct-horse" not in dump  # nowhere: not in the audit log either


def test_sign_in_ok_and_wrong_password(db):
    auth.create_user(db, "ana", "correct-horse", ["trainee", "rater"])
    user = auth.sign_in(db, "ana", "correct-horse")
    assert user.roles == ("rater", "trainee")
    with pytest.raises(auth.AuthError, match="wrong"):
        auth.sign_in(db, "ana", "wrong-password")
    with pytest.raises(auth.AuthError, match="wrong"):
        auth.sign_in(db, "nobody", "whatever-pw")


def test_lockout_after_five_failures_and_unlock_after_window(db):
    auth.create_user(db, "ana", "correct-horse", ["trainee"])
    t0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    for _ in range(4):
        with pytest.raises(auth.AuthError, match="wrong"):
            auth.sign_in(db, "ana", "bad-password", now=t0)
    with pytest.raises(auth.AuthError, match="locked for 15 minutes"):
        auth.sign_in(db, "ana", "bad-password", now=t0)
    # even the right password is refused inside the window, with a message that says so
    with pytest.raises(auth.AuthError, match="locked"):
        auth.sign_in(db, "ana", "correct-horse", now=t0 + timedelta(minutes=14))
    assert auth.sign_in(db, "ana", "correct-horse", now=t0 + timedelta(minutes=16)).username == "ana"


def test_deactivated_account_is_refused_and_reactivation_works(db):
    admin = auth.create_user(db, "boss", "admin-pass-1", ["admin"])
    u = auth.create_user(db, "ana", "correct-horse", ["trainee"])
    auth.set_active(db, u.id, False, admin.id)
    with pytest.raises(auth.AuthError, match="deactivated"):
        auth.sign_in(db, "ana", "correct-horse")
    auth.set_active(db, u.id, True, admin.id)
    assert auth.sign_in(db, "ana", "correct-horse").id == u.id


def test_reset_password_unlocks_and_roles_are_checked(db):
    admin = auth.create_user(db, "boss", "admin-pass-1", ["admin"])
    u = auth.create_user(db, "ana", "correct-horse", ["trainee"])
    for _ in range(5):
        with pytest.raises(auth.AuthError):
            auth.sign_in(db, "ana", "bad-password")
    auth.reset_password(db, u.id, "new-password-1", admin.id)
    assert auth.sign_in(db, "ana", "new-password-1").id == u.id
    with pytest.raises(auth.AuthError, match="Unknown role"):
        auth.set_roles(db, u.id, ["wizard"], admin.id)
    with pytest.raises(auth.AuthError, match="own admin role"):
        auth.set_roles(db, admin.id, ["trainee"], admin.id)
    with pytest.raises(auth.AuthError, match="at least 12"):
        auth.create_user(db, "short", "abc", ["trainee"])
    with pytest.raises(auth.AuthError, match="taken"):
        auth.create_user(db, "ANA", "another-Birch-Pylon-9", ["trainee"])


def test_supervision_and_visibility(db):
    admin = auth.create_user(db, "boss", "admin-pass-1", ["admin"])
    sup = auth.create_user(db, "sup", "sup-Velvet-Gorge-12", ["supervisor"])
    t1 = auth.create_user(db, "t1", "t1-Marble-Thistle-3", ["trainee"])
    t2 = auth.create_user(db, "t2", "t2-Cobalt-Meadow-5", ["trainee"])
    auth.link_supervisor(db, sup.id, t1.id, admin.id)
    assert auth.visible_trainee_ids(db, sup) == [t1.id]
    assert auth.visible_trainee_ids(db, t2) == [t2.id]
    assert set(auth.visible_trainee_ids(db, admin)) == {t1.id, t2.id}
    with pytest.raises(auth.AuthError):
        auth.link_supervisor(db, sup.id, sup.id, admin.id)
