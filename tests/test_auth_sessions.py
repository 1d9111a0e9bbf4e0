"""Server-side sign-in sessions: lifetime, idle timeout, revocation on account changes, the
one-time cookie handoff and its browser binding (issues 15 items 8 and 19, issue 17)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from ipt_training import auth, auth_sessions
from ipt_training.config import get_settings

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("IPT_TRAINING_DATA_DIR", str(tmp_path / "data"))
    return replace(get_settings(), session_idle_minutes=60, session_max_hours=12)


@pytest.fixture
def people(db):
    admin = auth.create_user(db, "boss", "admin-pass-12", ["admin"])
    ana = auth.create_user(db, "ana", "correct-horse", ["trainee"])
    return admin, ana


def test_a_new_session_is_live_and_names_its_person(db, settings, people):
    _, ana = people
    sid = auth_sessions.begin(db, ana.id, settings, now=T0)
    signed = auth_sessions.check(db, settings, session_id=sid, now=T0 + timedelta(minutes=5))
    assert signed.session_id == sid and signed.user.username == "ana"


def test_idle_timeout_ends_a_session_and_use_keeps_it_alive(db, settings, people):
    _, ana = people
    sid = auth_sessions.begin(db, ana.id, settings, now=T0)
    # used every 40 minutes for three hours: never idle for 60
    for step in range(1, 5):
        assert auth_sessions.check(db, settings, session_id=sid, now=T0 + timedelta(minutes=40 * step)) is not None
    last_use = T0 + timedelta(minutes=160)
    assert auth_sessions.check(db, settings, session_id=sid, now=last_use + timedelta(minutes=61)) is None
    # once found over it is ended for good, even if asked about at an earlier time
    assert auth_sessions.check(db, settings, session_id=sid, now=last_use + timedelta(minutes=1)) is None
    assert db.conn.execute("SELECT ended_reason FROM auth_sessions WHERE id = ?", (sid,)).fetchone()[0] == "idle"


def test_idle_timeout_is_configurable(db, settings, people):
    _, ana = people
    short = replace(settings, session_idle_minutes=5)
    sid = auth_sessions.begin(db, ana.id, short, now=T0)
    assert auth_sessions.check(db, short, session_id=sid, now=T0 + timedelta(minutes=6)) is None


def test_absolute_lifetime_ends_a_session_in_constant_use(db, settings, people):
    _, ana = people
    sid = auth_sessions.begin(db, ana.id, settings, now=T0)
    t = T0
    while t < T0 + timedelta(hours=11, minutes=50):
        t += timedelta(minutes=10)
        assert auth_sessions.check(db, settings, session_id=sid, now=t) is not None
    assert auth_sessions.check(db, settings, session_id=sid, now=T0 + timedelta(hours=12)) is None
    assert db.conn.execute("SELECT ended_reason FROM auth_sessions WHERE id = ?", (sid,)).fetchone()[0] == "lifetime"


@pytest.mark.parametrize("change", ["reset_password", "set_roles", "deactivate"])
def test_account_changes_end_every_open_session(db, settings, people, change):
    admin, ana = people
    first = auth_sessions.begin(db, ana.id, settings, now=T0)
    second = auth_sessions.begin(db, ana.id, settings, now=T0)
    mine = auth_sessions.begin(db, admin.id, settings, now=T0)
    if change == "reset_password":
        auth.reset_password(db, ana.id, "a-new-password-9", admin.id)
    elif change == "set_roles":
        auth.set_roles(db, ana.id, ["trainee", "rater"], admin.id)
    else:
        auth.set_active(db, ana.id, False, admin.id)
    later = T0 + timedelta(minutes=1)
    assert auth_sessions.check(db, settings, session_id=first, now=later) is None
    assert auth_sessions.check(db, settings, session_id=second, now=later) is None
    assert auth_sessions.check(db, settings, session_id=mine, now=later) is not None  # other people's stay
    # a session begun after the change is live again (unless the account is deactivated)
    fresh = auth_sessions.begin(db, ana.id, settings, now=later)
    assert (auth_sessions.check(db, settings, session_id=fresh, now=later) is None) == (change == "deactivate")


def test_a_password_change_made_by_any_code_path_ends_sessions(db, settings, people):
    # the version is bumped by a trigger, so a direct UPDATE (a future "change my password"
    # function, the CLI) cannot forget to do it
    _, ana = people
    sid = auth_sessions.begin(db, ana.id, settings, now=T0)
    db.conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (auth.hash_password("other-pass-123"), ana.id))
    assert auth_sessions.check(db, settings, session_id=sid, now=T0) is None


def test_a_failed_sign_in_does_not_end_sessions(db, settings, people):
    _, ana = people
    sid = auth_sessions.begin(db, ana.id, settings, now=T0)
    with pytest.raises(auth.AuthError):
        auth.sign_in(db, "ana", "wrong-password")
    auth.sign_in(db, "ana", "correct-horse")
    assert auth_sessions.check(db, settings, session_id=sid, now=T0) is not None


def test_sign_out_ends_one_session_and_is_audited(db, settings, people):
    _, ana = people
    here = auth_sessions.begin(db, ana.id, settings, now=T0)
    elsewhere = auth_sessions.begin(db, ana.id, settings, now=T0)
    assert auth_sessions.end(db, here, "sign_out", now=T0) is True
    assert auth_sessions.end(db, here, "sign_out", now=T0) is False
    assert auth_sessions.check(db, settings, session_id=here, now=T0) is None
    assert auth_sessions.check(db, settings, session_id=elsewhere, now=T0) is not None
    actions = [r[0] for r in db.conn.execute("SELECT action FROM audit_log WHERE object_id = ?", (str(ana.id),))]
    assert actions.count("sign_out") == 1


def test_an_admin_can_revoke_every_session_of_a_person(db, settings, people):
    admin, ana = people
    sids = [auth_sessions.begin(db, ana.id, settings) for _ in range(3)]
    old = auth_sessions.begin(db, ana.id, settings, now=datetime.now(timezone.utc) - timedelta(minutes=61))
    assert {s["id"] for s in auth_sessions.live_sessions(db, ana.id, settings)} == set(sids)  # not the idle one
    assert auth_sessions.end_all(db, ana.id, admin.id) == 4
    assert all(auth_sessions.check(db, settings, session_id=s) is None for s in sids + [old])
    assert auth_sessions.live_sessions(db, ana.id, settings) == []
    row = db.conn.execute("SELECT actor_id, action FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    assert row == (admin.id, "end_sessions")


def test_handoff_gives_one_cookie_once_and_the_database_holds_only_its_hash(db, settings, people):
    _, ana = people
    sid = auth_sessions.begin(db, ana.id, settings, now=T0)
    code = auth_sessions.create_handoff(db, sid, "rating_workspace", "binding-1", now=T0)
    token, next_page = auth_sessions.redeem_handoff(db, settings, code, "binding-1", now=T0 + timedelta(seconds=5))
    assert next_page == "rating_workspace"
    assert auth_sessions.check(db, settings, token=token, now=T0).session_id == sid
    assert auth_sessions.redeem_handoff(db, settings, code, "binding-1", now=T0) is None  # single use
    dump = "\n".join(db.conn.iterdump())
    assert token not in dump and code not in dump
    assert hashlib.sha256(token.encode()).hexdigest() in dump
    # a second code for the same session cannot mint a second cookie
    again = auth_sessions.create_handoff(db, sid, "", "binding-1", now=T0)
    assert auth_sessions.redeem_handoff(db, settings, again, "binding-1", now=T0) is None


def test_handoff_refused_when_expired_from_another_browser_or_for_an_ended_session(db, settings, people):
    _, ana = people
    sid = auth_sessions.begin(db, ana.id, settings, now=T0)
    late = auth_sessions.create_handoff(db, sid, "", "b", now=T0)
    assert auth_sessions.redeem_handoff(db, settings, late, "b", now=T0 + timedelta(seconds=61)) is None
    foreign = auth_sessions.create_handoff(db, sid, "", "attacker-browser", now=T0)
    assert auth_sessions.redeem_handoff(db, settings, foreign, "victim-browser", now=T0) is None
    ended = auth_sessions.create_handoff(db, sid, "", "b", now=T0)
    auth_sessions.end(db, sid, "sign_out", now=T0)
    assert auth_sessions.redeem_handoff(db, settings, ended, "b", now=T0) is None
    assert auth_sessions.redeem_handoff(db, settings, "not-a-code", "b", now=T0) is None


def _xsrf_cookie(secret: bytes, mask: bytes) -> str:
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(secret))
    return f"2|{mask.hex()}|{masked.hex()}|1700000000"


def test_browser_binding_sees_the_secret_through_its_fresh_mask():
    secret = os.urandom(16)
    a = auth_sessions.browser_binding(_xsrf_cookie(secret, b"\x01\x02\x03\x04"))
    b = auth_sessions.browser_binding(_xsrf_cookie(secret, b"\xf0\x0f\xaa\x55"))
    assert a == b == hashlib.sha256(secret).hexdigest()
    assert auth_sessions.browser_binding(_xsrf_cookie(os.urandom(16), b"\x01\x02\x03\x04")) != a
    for broken in (None, "", "1|00|00|0", "2|zz|00|0", "2|0102|0a0b|0", "junk"):
        assert auth_sessions.browser_binding(broken) is None


def test_session_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("IPT_TRAINING_DATA_DIR", str(tmp_path))
    s = get_settings()
    assert (s.session_idle_minutes, s.session_max_hours, s.recording_link_minutes, s.secure_cookie) == (60, 12, 10, "auto")
    monkeypatch.setenv("IPT_TRAINING_SESSION_IDLE_MINUTES", "15")
    monkeypatch.setenv("IPT_TRAINING_SESSION_MAX_HOURS", "8")
    monkeypatch.setenv("IPT_TRAINING_SECURE_COOKIE", "always")
    s = get_settings()
    assert (s.session_idle_minutes, s.session_max_hours, s.secure_cookie) == (15, 8, "always")
    monkeypatch.setenv("IPT_TRAINING_SESSION_IDLE_MINUTES", "soon")
    with pytest.raises(SystemExit, match="IPT_TRAINING_SESSION_IDLE_MINUTES must be a whole number of minutes"):
        get_settings()
    monkeypatch.setenv("IPT_TRAINING_SESSION_IDLE_MINUTES", "15")
    monkeypatch.setenv("IPT_TRAINING_SECURE_COOKIE", "sometimes")
    with pytest.raises(SystemExit, match="'auto' or 'always'"):
        get_settings()
