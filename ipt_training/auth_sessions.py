"""Sign-in sessions held on the server and referenced by an HttpOnly cookie (issues 15 and 17).

A session is a row of ``auth_sessions``; the browser holds only a random token whose SHA-256
is the row's ``token_hash``, so a copy of the database gives no usable cookie. A session is
over when it was ended (sign-out, revocation), when it has not been used for the idle
timeout, when its absolute lifetime has passed, when the account was deactivated, or when
the account's ``session_version`` moved on: triggers bump it on every password, activation
or role change (store migration 40), whichever code path makes the change.

Streamlit cannot set an HttpOnly cookie from a script run, so sign-in is two steps: the
script creates the session and a one-time *handoff code* (60 s, single use, bound to the
browser's XSRF cookie against login CSRF); the browser is sent to ``/auth/session?code=...``
(:mod:`ipt_training.web`), which redeems the code, sets the cookie and redirects to the page
that was asked for. This module is plain data and SQL: no Streamlit, no HTTP.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from sqlite_utils import Database

from .auth import User, get_user
from .config import Settings
from .store import audit, one, rows, transaction

COOKIE_NAME = "ipt_session"
HANDOFF_SECONDS = 60
# last_seen_at is written at most once a minute: an idle timeout counted in minutes does not
# need a write on every rerun
TOUCH_EVERY = timedelta(seconds=60)
KEEP_ENDED = timedelta(days=30)


@dataclass(frozen=True)
class SignedIn:
    session_id: int
    user: User


def _now(now: Optional[datetime]) -> datetime:
    return (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)


def _iso(t: datetime) -> str:
    return t.isoformat()


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def begin(db: Database, user_id: int, settings: Settings, now: Optional[datetime] = None) -> int:
    """Open a session for ``user_id`` (whose password or institutional sign-in was just
    checked); return its id. The cookie is attached later by :func:`redeem_handoff`."""
    t = _now(now)
    with transaction(db):
        version = db.conn.execute("SELECT session_version FROM users WHERE id = ?", (user_id,)).fetchone()
        if version is None:
            raise ValueError(f"no account {user_id}")
        sid = db.conn.execute(
            """INSERT INTO auth_sessions (user_id, session_version, created_at, last_seen_at, expires_at)
               VALUES (?, ?, ?, ?, ?)""",
            (user_id, version[0], _iso(t), _iso(t), _iso(t + timedelta(hours=settings.session_max_hours))),
        ).lastrowid
        # housekeeping: stale handoff codes, and ended sessions kept a month for review
        db.conn.execute("DELETE FROM auth_handoffs WHERE expires_at < ?", (_iso(t),))
        db.conn.execute("DELETE FROM auth_sessions WHERE ended_at IS NOT NULL AND ended_at < ?",
                        (_iso(t - KEEP_ENDED),))
    return sid


def create_handoff(db: Database, session_id: int, next_path: str, browser_binding: Optional[str],
                   now: Optional[datetime] = None) -> str:
    """A one-time code that lets the browser fetch the cookie of ``session_id`` within 60 s."""
    code = secrets.token_urlsafe(32)
    t = _now(now)
    with transaction(db):
        db.conn.execute(
            "INSERT INTO auth_handoffs (code_hash, session_id, next_path, browser_binding, expires_at) VALUES (?,?,?,?,?)",
            (_hash(code), session_id, next_path, browser_binding, _iso(t + timedelta(seconds=HANDOFF_SECONDS))),
        )
    return code


def redeem_handoff(db: Database, settings: Settings, code: str, browser_binding: Optional[str],
                   now: Optional[datetime] = None) -> Optional[tuple[str, str]]:
    """Use a handoff code once: return ``(cookie token, next path)``, or None when the code is
    unknown, used, expired, made in another browser, or its session is no longer live."""
    if not code or len(code) > 100:
        return None
    t = _now(now)
    with transaction(db):
        row = db.conn.execute(
            "DELETE FROM auth_handoffs WHERE code_hash = ? RETURNING session_id, next_path, browser_binding, expires_at",
            (_hash(code),),
        ).fetchone()
    if row is None:
        return None
    session_id, next_path, binding, expires_at = row
    if datetime.fromisoformat(expires_at) < t or binding != browser_binding:
        return None
    if check(db, settings, session_id=session_id, now=t) is None:
        return None
    token = secrets.token_urlsafe(32)
    with transaction(db):
        # one cookie per session: a second redemption for the same session finds it taken
        done = db.conn.execute("UPDATE auth_sessions SET token_hash = ? WHERE id = ? AND token_hash IS NULL",
                               (_hash(token), session_id)).rowcount
    return (token, next_path) if done else None


def check(db: Database, settings: Settings, *, session_id: Optional[int] = None, token: Optional[str] = None,
          now: Optional[datetime] = None) -> Optional[SignedIn]:
    """The live session named by ``session_id`` or by its cookie ``token``, or None.

    Called on every rerun and every recording fetch. A session found over is ended here with
    the reason (idle, lifetime, account changed, deactivated), so it can never come back.
    """
    if session_id is not None:
        row = one(db, "SELECT s.*, u.active, u.session_version AS current_version FROM auth_sessions s "
                      "JOIN users u ON u.id = s.user_id WHERE s.id = ?", (int(session_id),))
    elif token:
        row = one(db, "SELECT s.*, u.active, u.session_version AS current_version FROM auth_sessions s "
                      "JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?", (_hash(token),))
    else:
        return None
    if row is None or row["ended_at"]:
        return None
    t = _now(now)
    reason = None
    if not row["active"]:
        reason = "deactivated"
    elif row["current_version"] != row["session_version"]:
        reason = "account changed"
    elif t >= datetime.fromisoformat(row["expires_at"]):
        reason = "lifetime"
    elif t - datetime.fromisoformat(row["last_seen_at"]) >= timedelta(minutes=settings.session_idle_minutes):
        reason = "idle"
    if reason:
        end(db, row["id"], reason, now=t)
        return None
    if t - datetime.fromisoformat(row["last_seen_at"]) >= TOUCH_EVERY:
        with transaction(db):
            db.conn.execute("UPDATE auth_sessions SET last_seen_at = ? WHERE id = ? AND ended_at IS NULL",
                            (_iso(t), row["id"]))
    user = get_user(db, row["user_id"])
    return SignedIn(row["id"], user) if user is not None else None


def end(db: Database, session_id: int, reason: str, actor_id: Optional[int] = None,
        now: Optional[datetime] = None) -> bool:
    """End one session (sign-out, revocation, or found over); True when it was live."""
    t = _now(now)
    with transaction(db):
        row = db.conn.execute(
            "UPDATE auth_sessions SET ended_at = ?, ended_reason = ? WHERE id = ? AND ended_at IS NULL RETURNING user_id",
            (_iso(t), reason, int(session_id)),
        ).fetchone()
        if row and reason in ("sign_out", "revoked"):
            audit(db, actor_id if actor_id is not None else row[0], "sign_out" if reason == "sign_out" else "end_session",
                  "user", row[0], {"session": int(session_id)})
    return row is not None


def keep_after_own_change(db: Database, session_id: int) -> None:
    """Keep the session in which a person just changed their own password (proving the old one)
    while the version bump ends every other session of theirs."""
    with transaction(db):
        db.conn.execute("""UPDATE auth_sessions SET session_version =
                               (SELECT session_version FROM users WHERE users.id = auth_sessions.user_id)
                           WHERE id = ? AND ended_at IS NULL""", (int(session_id),))


def end_all(db: Database, user_id: int, actor_id: int) -> int:
    """Sign ``user_id`` out everywhere (an admin's revocation, or "sign out on every device").
    Bumps the account's session version, so sessions still being set up end too."""
    with transaction(db):
        db.conn.execute("UPDATE users SET session_version = session_version + 1 WHERE id = ?", (user_id,))
        n = db.conn.execute(
            "UPDATE auth_sessions SET ended_at = ?, ended_reason = 'revoked' WHERE user_id = ? AND ended_at IS NULL",
            (_iso(_now(None)), user_id),
        ).rowcount
        audit(db, actor_id, "end_sessions", "user", user_id, {"ended": n})
    return n


def live_sessions(db: Database, user_id: int, settings: Settings, now: Optional[datetime] = None) -> list[dict]:
    """A person's sessions still live (not ended, not idle, within their lifetime, version current)."""
    t = _now(now)
    idle = timedelta(minutes=settings.session_idle_minutes)
    out = rows(db, """SELECT s.id, s.created_at, s.last_seen_at, s.expires_at FROM auth_sessions s
                      JOIN users u ON u.id = s.user_id
                      WHERE s.user_id = ? AND s.ended_at IS NULL AND u.active = 1
                        AND s.session_version = u.session_version ORDER BY s.created_at DESC""", (user_id,))
    return [r for r in out if t < datetime.fromisoformat(r["expires_at"])
            and t - datetime.fromisoformat(r["last_seen_at"]) < idle]


def browser_binding(xsrf_cookie: Optional[str]) -> Optional[str]:
    """A digest of the secret inside Streamlit's XSRF cookie (``2|mask|masked|time``, the token
    XOR-ed with a fresh 4-byte mask each time it is set), or None when there is none.

    The same browser presents the same secret to the script (through the WebSocket) and to the
    ``/auth/session`` route, while another browser cannot present it: binding the handoff code
    to it stops a login CSRF (an attacker's code redeemed in the victim's browser).
    """
    if not xsrf_cookie:
        return None
    parts = xsrf_cookie.split("|")
    try:
        if len(parts) != 4 or parts[0] != "2":
            return None
        mask, masked = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
    except ValueError:
        return None
    if len(mask) != 4 or not masked:
        return None
    secret = bytes(b ^ mask[i % 4] for i, b in enumerate(masked))
    return hashlib.sha256(secret).hexdigest()
