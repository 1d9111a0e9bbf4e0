"""Accounts, roles, sign-in with lockout; argon2id password hashes (argon2-cffi).

Passwords are only ever held in memory long enough to hash or verify them; neither the
database, the audit log nor an error message ever carries one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable, Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlite_utils import Database

from .store import audit, now_iso, one, rows, transaction

ROLES = ("trainee", "rater", "supervisor", "admin")
MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()


class AuthError(Exception):
    """A sign-in or account operation the user can fix; the message says how."""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    email: Optional[str]
    roles: tuple[str, ...]
    active: bool

    def has(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters; choose a longer one.")


def _check_roles(roles: Iterable[str]) -> tuple[str, ...]:
    roles = tuple(dict.fromkeys(roles))
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise AuthError(f"Unknown role {bad[0]!r}; choose from {', '.join(ROLES)}.")
    if not roles:
        raise AuthError("Give the account at least one role.")
    return roles


def get_user(db: Database, user_id: int) -> Optional[User]:
    row = one(db, "SELECT * FROM users WHERE id = ?", (user_id,))
    return _to_user(db, row) if row else None


def find_user(db: Database, username: str) -> Optional[User]:
    row = one(db, "SELECT * FROM users WHERE username = ?", (username.strip(),))
    return _to_user(db, row) if row else None


def find_user_by_email(db: Database, email: str) -> Optional[User]:
    row = one(db, "SELECT * FROM users WHERE email = ?", (email.strip(),))
    return _to_user(db, row) if row else None


def _to_user(db: Database, row: dict) -> User:
    roles = tuple(r["role"] for r in rows(db, "SELECT role FROM user_roles WHERE user_id = ? ORDER BY role", (row["id"],)))
    return User(row["id"], row["username"], row["display_name"], row["email"], roles, bool(row["active"]))


def list_users(db: Database) -> list[dict]:
    """Every account with its roles as a comma-separated string (no hashes)."""
    return rows(db, """
        SELECT u.id, u.username, u.display_name, u.email, u.active, u.locked_until,
               COALESCE((SELECT group_concat(role, ', ') FROM user_roles r WHERE r.user_id = u.id), '') AS roles
        FROM users u ORDER BY u.username""")


def users_with_role(db: Database, role: str) -> list[dict]:
    return rows(db, """SELECT u.id, u.username, u.display_name FROM users u
                       JOIN user_roles r ON r.user_id = u.id
                       WHERE r.role = ? AND u.active = 1 ORDER BY u.display_name""", (role,))


def create_user(db: Database, username: str, password: str, roles: Iterable[str],
                display_name: str = "", email: Optional[str] = None,
                actor_id: Optional[int] = None, is_demo: bool = False) -> User:
    username = username.strip()
    if not username or any(c.isspace() for c in username):
        raise AuthError("The sign-in name must be one word with no spaces.")
    roles = _check_roles(roles)
    check_password_rules(password)
    if find_user(db, username):
        raise AuthError(f"The sign-in name {username!r} is taken; choose another.")
    if email and find_user_by_email(db, email):
        raise AuthError(f"The e-mail {email!r} already belongs to an account.")
    with transaction(db):
        cur = db.conn.execute(
            "INSERT INTO users (username, display_name, email, password_hash, is_demo, created_at) VALUES (?,?,?,?,?,?)",
            (username, display_name.strip() or username, email or None, hash_password(password), int(is_demo), now_iso()),
        )
        uid = cur.lastrowid
        db.conn.executemany("INSERT INTO user_roles (user_id, role) VALUES (?, ?)", [(uid, r) for r in roles])
        audit(db, actor_id, "create_user", "user", uid, {"username": username, "roles": list(roles)})
    return get_user(db, uid)


def sign_in(db: Database, username: str, password: str, now: Optional[datetime] = None) -> User:
    """Check the password; lock the account for 15 minutes after 5 failures in a row."""
    now = now or datetime.now(timezone.utc)
    row = one(db, "SELECT * FROM users WHERE username = ?", (username.strip(),))
    generic = "The sign-in name or password is wrong. Check both and try again."
    if row is None:
        # spend the same time as a real check, so a missing name is not revealed by timing
        verify_password(_DUMMY_HASH, password)
        raise AuthError(generic)
    if not row["active"]:
        raise AuthError("This account is deactivated. Ask an administrator to reactivate it.")
    if row["locked_until"]:
        until = datetime.fromisoformat(row["locked_until"])
        if until > now:
            minutes = max(1, int((until - now).total_seconds() // 60) + 1)
            raise AuthError(
                f"This account is locked after {MAX_FAILED_SIGN_INS} failed sign-ins. "
                f"Try again in {minutes} minute(s), or ask an administrator to reset the password."
            )
    if not verify_password(row["password_hash"], password):
        failures = row["failed_logins"] + 1
        locked_until = (now + LOCKOUT).isoformat() if failures >= MAX_FAILED_SIGN_INS else None
        with transaction(db):
            db.conn.execute(
                "UPDATE users SET failed_logins = ?, locked_until = ? WHERE id = ?",
                (0 if locked_until else failures, locked_until, row["id"]),
            )
            audit(db, row["id"], "sign_in_failed", "user", row["id"], {"locked": bool(locked_until)})
        if locked_until:
            raise AuthError(
                f"Too many failed sign-ins: this account is locked for {int(LOCKOUT.total_seconds() // 60)} minutes. "
                "Try again later, or ask an administrator to reset the password."
            )
        raise AuthError(generic)
    with transaction(db):
        db.conn.execute("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?", (row["id"],))
        audit(db, row["id"], "sign_in", "user", row["id"])
    return get_user(db, row["id"])


_DUMMY_HASH = _hasher.hash("not-a-real-password")


def set_active(db: Database, user_id: int, active: bool, actor_id: int) -> None:
    if not active and user_id == actor_id:
        raise AuthError("You cannot deactivate your own account; ask another administrator.")
    with transaction(db):
        db.conn.execute("UPDATE users SET active = ? WHERE id = ?", (int(active), user_id))
        audit(db, actor_id, "reactivate_user" if active else "deactivate_user", "user", user_id)


def reset_password(db: Database, user_id: int, new_password: str, actor_id: int) -> None:
    check_password_rules(new_password)
    with transaction(db):
        db.conn.execute(
            "UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL WHERE id = ?",
            (hash_password(new_password), user_id),
        )
        audit(db, actor_id, "reset_password", "user", user_id)


def set_roles(db: Database, user_id: int, roles: Iterable[str], actor_id: int) -> None:
    roles = _check_roles(roles)
    if user_id == actor_id and "admin" not in roles:
        raise AuthError("You cannot remove your own admin role; ask another administrator.")
    with transaction(db):
        db.conn.execute("DELETE FROM user_roles WHERE user_id = ?", (user_id,))
        db.conn.executemany("INSERT INTO user_roles (user_id, role) VALUES (?, ?)", [(user_id, r) for r in roles])
        audit(db, actor_id, "set_roles", "user", user_id, {"roles": list(roles)})


def has_real_accounts(db: Database) -> bool:
    """True once any account exists that the demo loader did not create."""
    return one(db, "SELECT 1 AS x FROM users WHERE is_demo = 0 LIMIT 1") is not None


def has_any_account(db: Database) -> bool:
    return one(db, "SELECT 1 AS x FROM users LIMIT 1") is not None


# --- cohorts and supervision -------------------------------------------------------------


def create_cohort(db: Database, name: str, actor_id: Optional[int]) -> int:
    name = name.strip()
    if not name:
        raise AuthError("Give the cohort a name.")
    if one(db, "SELECT 1 AS x FROM cohorts WHERE name = ?", (name,)):
        raise AuthError(f"A cohort named {name!r} exists already; choose another name.")
    with transaction(db):
        cid = db.conn.execute("INSERT INTO cohorts (name, created_at) VALUES (?, ?)", (name, now_iso())).lastrowid
        audit(db, actor_id, "create_cohort", "cohort", cid, {"name": name})
    return cid


def list_cohorts(db: Database) -> list[dict]:
    return rows(db, """SELECT c.id, c.name, COUNT(m.user_id) AS members FROM cohorts c
                       LEFT JOIN cohort_members m ON m.cohort_id = c.id GROUP BY c.id ORDER BY c.name""")


def set_cohort_members(db: Database, cohort_id: int, user_ids: Iterable[int], actor_id: Optional[int]) -> None:
    ids = sorted(set(user_ids))
    with transaction(db):
        db.conn.execute("DELETE FROM cohort_members WHERE cohort_id = ?", (cohort_id,))
        db.conn.executemany("INSERT INTO cohort_members (cohort_id, user_id) VALUES (?, ?)", [(cohort_id, u) for u in ids])
        audit(db, actor_id, "set_cohort_members", "cohort", cohort_id, {"members": ids})


def cohort_member_ids(db: Database, cohort_id: int) -> list[int]:
    return [r["user_id"] for r in rows(db, "SELECT user_id FROM cohort_members WHERE cohort_id = ?", (cohort_id,))]


def link_supervisor(db: Database, supervisor_id: int, trainee_id: int, actor_id: Optional[int]) -> None:
    if supervisor_id == trainee_id:
        raise AuthError("A person cannot supervise themselves; pick a different supervisor.")
    with transaction(db):
        db.conn.execute("INSERT OR IGNORE INTO supervision_links (supervisor_id, trainee_id) VALUES (?, ?)",
                        (supervisor_id, trainee_id))
        audit(db, actor_id, "link_supervisor", "user", trainee_id, {"supervisor_id": supervisor_id})


def unlink_supervisor(db: Database, supervisor_id: int, trainee_id: int, actor_id: Optional[int]) -> None:
    with transaction(db):
        db.conn.execute("DELETE FROM supervision_links WHERE supervisor_id = ? AND trainee_id = ?", (supervisor_id, trainee_id))
        audit(db, actor_id, "unlink_supervisor", "user", trainee_id, {"supervisor_id": supervisor_id})


def supervision_links(db: Database) -> list[dict]:
    return rows(db, """SELECT l.supervisor_id, s.display_name AS supervisor, l.trainee_id, t.display_name AS trainee
                       FROM supervision_links l JOIN users s ON s.id = l.supervisor_id JOIN users t ON t.id = l.trainee_id
                       ORDER BY s.display_name, t.display_name""")


def supervisee_ids(db: Database, supervisor_id: int) -> list[int]:
    return [r["trainee_id"] for r in rows(db, "SELECT trainee_id FROM supervision_links WHERE supervisor_id = ?", (supervisor_id,))]


def visible_trainee_ids(db: Database, user: User) -> list[int]:
    """Trainees whose work this user may see: all for admins, supervisees for supervisors, self for trainees."""
    if user.has("admin"):
        return [r["id"] for r in users_with_role(db, "trainee")]
    ids = set()
    if user.has("supervisor"):
        ids.update(supervisee_ids(db, user.id))
    if user.has("trainee"):
        ids.add(user.id)
    return sorted(ids)
