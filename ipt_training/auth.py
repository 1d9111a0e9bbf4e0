"""Accounts, roles, sign-in with lockout; argon2id password hashes (argon2-cffi).

Passwords are only ever held in memory long enough to hash or verify them; neither the
database, the audit log nor an error message ever carries one.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Iterator, Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlite_utils import Database

from . import account_rules
from .config import get_settings
from .finding import PAGE_SIZE, sql_words
from .store import audit, now_iso, one, rows, transaction

ROLES = ("trainee", "rater", "supervisor", "admin")
MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = account_rules.MIN_PASSWORD_LENGTH
# one answer for every failed sign-in (issue 15, finding 11): a wrong name, a wrong password, a
# locked and a deactivated account are told apart neither by the words nor by the work done
SIGN_IN_FAILED = (f"Sign-in failed: the sign-in name or password is wrong, or the account is locked for "
                  f"{int(LOCKOUT.total_seconds() // 60)} minutes after {MAX_FAILED_SIGN_INS} failed sign-ins, or "
                  "deactivated. Check both and try again later, or ask an administrator.")

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


def check_password_rules(password: str, user_inputs: Iterable[str] = ()) -> None:
    """:class:`AuthError` with the reason when the password breaks ``account_rules``
    (at least 12 characters, not easy to guess; issue 15, finding 18)."""
    try:
        account_rules.check_password(password, user_inputs)
    except account_rules.RuleError as exc:
        raise AuthError(str(exc)) from None


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
    row = one(db, "SELECT * FROM users WHERE username = ?", (account_rules.normalise_username(username),))
    return _to_user(db, row) if row else None


def find_user_by_email(db: Database, email: str) -> Optional[User]:
    row = one(db, "SELECT * FROM users WHERE email = ?", (email.strip(),))
    return _to_user(db, row) if row else None


def _to_user(db: Database, row: dict) -> User:
    roles = tuple(r["role"] for r in rows(db, "SELECT role FROM user_roles WHERE user_id = ? ORDER BY role", (row["id"],)))
    return User(row["id"], row["username"], row["display_name"], row["email"], roles, bool(row["active"]))


def _users_where(text: str, role: Optional[str], active: Optional[bool],
                 outside_cohort: Optional[int] = None) -> tuple[str, list]:
    conds, params = [], []
    if outside_cohort is not None:
        conds.append("NOT EXISTS (SELECT 1 FROM cohort_members m WHERE m.user_id = u.id AND m.cohort_id = ?)")
        params.append(int(outside_cohort))
    match, found = sql_words(text, "u.username || char(10) || u.display_name || char(10) || COALESCE(u.email, '')")
    if match:
        conds.append(match)
        params += found
    if role is not None:
        conds.append("EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role = ?)")
        params.append(role)
    if active is not None:
        conds.append("(u.active <> 0) = ?")
        params.append(1 if active else 0)
    return (" WHERE " + " AND ".join(conds)) if conds else "", params


def find_users(db: Database, text: str = "", role: Optional[str] = None, active: Optional[bool] = None,
               limit: Optional[int] = None, offset: int = 0, outside_cohort: Optional[int] = None) -> list[dict]:
    """Accounts with their roles as a comma-separated string (no hashes), by sign-in name, whose
    sign-in name, full name or e-mail hold every word of ``text`` (ignoring case,
    :func:`finding.sql_words`), who hold ``role`` and whose account is active or not (``None``:
    any), and who are not members of cohort ``outside_cohort`` when given; ``limit`` rows from
    ``offset`` (``None``: all). Searched and cut in SQL (issue 16: 10,500 accounts at scale XL)."""
    where, params = _users_where(text, role, active, outside_cohort)
    cut = "" if limit is None else " LIMIT ? OFFSET ?"
    params += [] if limit is None else [int(limit), int(offset)]
    return rows(db, f"""
        SELECT u.id, u.username, u.display_name, u.email, u.active, u.locked_until,
               COALESCE((SELECT group_concat(role, ', ') FROM user_roles r WHERE r.user_id = u.id), '') AS roles
        FROM users u{where} ORDER BY u.username{cut}""", params)


def count_users(db: Database, text: str = "", role: Optional[str] = None, active: Optional[bool] = None) -> int:
    """How many accounts :func:`find_users` finds without a limit."""
    where, params = _users_where(text, role, active)
    return db.conn.execute(f"SELECT COUNT(*) FROM users u{where}", params).fetchone()[0]


def list_users(db: Database) -> list[dict]:
    """Every account with its roles as a comma-separated string (no hashes), by sign-in name."""
    return find_users(db)


def users_with_role(db: Database, role: str) -> list[dict]:
    return rows(db, """SELECT u.id, u.username, u.display_name FROM users u
                       JOIN user_roles r ON r.user_id = u.id
                       WHERE r.role = ? AND u.active = 1 ORDER BY u.display_name""", (role,))


def create_user(db: Database, username: str, password: str, roles: Iterable[str],
                display_name: str = "", email: Optional[str] = None,
                actor_id: Optional[int] = None, is_demo: bool = False) -> User:
    try:  # normalised (NFKC, case-folded); look-alikes refused
        username = account_rules.check_username(username)
    except account_rules.RuleError as exc:
        raise AuthError(str(exc)) from None
    roles = _check_roles(roles)
    check_password_rules(password, (username, display_name, email or ""))
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


# --- sign-in: rate limits, bounded verification, atomic lockout (issue 15, findings 3 and 11) ---


class SignInThrottle:
    """Bounds the work sign-in attempts can cause, before any password is checked.

    A sliding window counts attempts per client (its IP address) and overall; past either
    limit the attempt is refused at once. At most ``concurrency`` argon2 verifications run at
    a time (each takes 64 MiB and about 0.1 s of a core: unbounded, 60 parallel attempts took
    4 GB); an attempt waits up to ``wait`` seconds for a turn, then is refused.
    """

    def __init__(self, per_client: int, overall: int, concurrency: int, window: float = 60.0,
                 wait: float = 10.0, clock: Callable[[], float] = time.monotonic):
        self.per_client, self.overall, self.window, self.wait, self.clock = per_client, overall, window, wait, clock
        self._lock = threading.Lock()
        self._all: deque = deque()
        self._by_client: dict[str, deque] = {}
        self._turns = threading.BoundedSemaphore(concurrency)

    def admit(self, client: Optional[str]) -> None:
        """Count one attempt from ``client`` (None: only the overall limit), or refuse it."""
        now = self.clock()
        with self._lock:
            mine = self._by_client.setdefault(client, deque()) if client else deque()
            for q in (self._all, mine):
                while q and q[0] <= now - self.window:
                    q.popleft()
            if len(self._all) >= self.overall:
                raise AuthError("The platform is receiving too many sign-in attempts just now; wait a minute and try again.")
            if client and len(mine) >= self.per_client:
                seconds = int(self.window - (now - mine[0])) + 1
                raise AuthError(f"Too many sign-in attempts from your connection; wait {seconds} seconds and try again.")
            self._all.append(now)
            if client:
                mine.append(now)
            if len(self._by_client) > 10_000:  # forget clients with no recent attempt
                self._by_client = {k: q for k, q in self._by_client.items() if q and q[-1] > now - self.window}

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold one of the ``concurrency`` verification turns."""
        if not self._turns.acquire(timeout=self.wait):
            raise AuthError("The server is busy checking other sign-ins; try again in a minute.")
        try:
            yield
        finally:
            self._turns.release()


_THROTTLE: Optional[SignInThrottle] = None


def sign_in_throttle() -> SignInThrottle:
    """The process-wide throttle, sized by the settings on first use."""
    global _THROTTLE
    if _THROTTLE is None:
        s = get_settings()
        _THROTTLE = SignInThrottle(s.sign_in_per_client, s.sign_in_per_minute, s.sign_in_concurrency)
    return _THROTTLE


def _is_locked(locked_until: Optional[str], now: datetime) -> bool:
    return bool(locked_until) and datetime.fromisoformat(locked_until) > now


def _lock(db: Database, user_id: int, now: datetime) -> None:
    db.conn.execute("UPDATE users SET failed_logins = 0, locked_until = ? WHERE id = ?",
                    ((now + LOCKOUT).isoformat(), user_id))


def sign_in(db: Database, username: str, password: str, now: Optional[datetime] = None,
            client: Optional[str] = None, throttle: Optional[SignInThrottle] = None) -> User:
    """Check the password; lock the account for 15 minutes after 5 failures in a row.

    ``client`` (the connection's IP address) feeds the per-client rate limit. Every failure
    raises :class:`AuthError` with :data:`SIGN_IN_FAILED`, after one argon2 verification
    (against a dummy hash when there is no usable account), so neither the answer nor its
    time tells an unknown, locked or deactivated account from a wrong password.

    The failure count cannot be raced: each attempt takes a numbered turn with
    ``UPDATE ... SET failed_logins = failed_logins + 1 ... RETURNING`` in the same write
    transaction that checks the lock, *before* verifying. An attempt numbered past the limit
    (parallel guesses) locks the account instead of being verified, the attempt that reaches
    the limit locks it if wrong, and a right password counts only if, in a second write
    transaction, the account is still active and unlocked.
    """
    return _counted_check(db, username, password, now, client, throttle, "sign_in")


def _counted_check(db: Database, username: str, password: str, now: Optional[datetime], client: Optional[str],
                   throttle: Optional[SignInThrottle], action: str) -> User:
    """:func:`sign_in`'s check, auditing a success as ``action``."""
    now = now or datetime.now(timezone.utc)
    throttle = throttle or sign_in_throttle()
    throttle.admit(client)
    name = account_rules.normalise_username(username)
    with transaction(db):
        row = one(db, "SELECT id, password_hash, active, locked_until FROM users WHERE username = ?", (name,))
        turn = None
        if row and row["active"] and not _is_locked(row["locked_until"], now):
            turn = db.conn.execute("UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ? RETURNING failed_logins",
                                   (row["id"],)).fetchone()[0]
            if turn > MAX_FAILED_SIGN_INS:
                _lock(db, row["id"], now)
                turn = None
    with throttle.turn():
        right = verify_password(row["password_hash"] if turn else _DUMMY_HASH, password)
    with transaction(db):
        if turn and right:
            fresh = one(db, "SELECT active, locked_until FROM users WHERE id = ?", (row["id"],))
            if fresh["active"] and not _is_locked(fresh["locked_until"], now):
                db.conn.execute("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?", (row["id"],))
                audit(db, row["id"], action, "user", row["id"])
                return get_user(db, row["id"])
        locked = bool(turn) and not right and turn >= MAX_FAILED_SIGN_INS
        if locked:
            _lock(db, row["id"], now)
        if row:
            audit(db, row["id"], "sign_in_failed", "user", row["id"], {"locked": locked})
    raise AuthError(SIGN_IN_FAILED)


_DUMMY_HASH = _hasher.hash("not-a-real-password")


def change_password(db: Database, user_id: int, current_password: str, new_password: str,
                    now: Optional[datetime] = None, client: Optional[str] = None,
                    throttle: Optional[SignInThrottle] = None) -> None:
    """A signed-in person changes their own password (issue 15, finding 18).

    The new password must meet the rules and differ from the current one; the current one is
    checked like a sign-in (rate-limited, counted toward the lockout), so a session left open
    on a shared computer cannot be used to guess it or to take the account over.
    """
    user = get_user(db, user_id)
    if user is None or not user.active:
        raise AuthError("Sign in again to change your password.")
    if new_password == current_password:
        raise AuthError("The new password is the same as the current one; choose a different one.")
    check_password_rules(new_password, (user.username, user.display_name, user.email or ""))
    try:
        _counted_check(db, user.username, current_password, now, client, throttle, "confirm_password")
    except AuthError as exc:
        if str(exc) != SIGN_IN_FAILED:
            raise
        raise AuthError(f"The current password is wrong; type it again ({MAX_FAILED_SIGN_INS} wrong passwords in a row "
                        f"lock the account for {int(LOCKOUT.total_seconds() // 60)} minutes).") from None
    with (throttle or sign_in_throttle()).turn():
        new_hash = hash_password(new_password)
    with transaction(db):
        db.conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (new_hash, user_id))
        audit(db, user_id, "change_password", "user", user_id)


# --- institutional sign-in (OIDC through st.login; issue 15, finding 20) -----------------


def _claim_true(value) -> bool:
    # OIDC Core 5.1 makes email_verified a JSON boolean; some providers send the string "true"
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def institutional_sign_in(db: Database, claims: dict) -> User:
    """The active account whose e-mail the identity provider vouches for, or :class:`AuthError`.

    ``claims`` are the ID token's claims (``st.user``). The e-mail counts only with
    ``email_verified`` true (OIDC Core 1.0, 5.1): an unverified address could be anyone's.
    Every attempt, accepted or refused, is written to the audit log with the issuer and subject.
    """
    email = str(claims.get("email") or "").strip()
    verified = _claim_true(claims.get("email_verified"))
    user = find_user_by_email(db, email) if email else None
    detail = {"email": email, "email_verified": verified, "issuer": claims.get("iss"), "subject": claims.get("sub")}
    ok = verified and user is not None and user.active
    with transaction(db):
        audit(db, user.id if user else None, "institutional_sign_in" if ok else "institutional_sign_in_refused",
              "user", user.id if user else "", detail)
    if not verified:
        raise AuthError("Your institution did not confirm that this e-mail address is yours (no verified e-mail in "
                        "its answer), so it cannot sign you in here. Sign in with your password, or ask your "
                        "institution's IT to verify the address.")
    if not ok:
        raise AuthError("No active account uses the e-mail of your institutional sign-in. Ask an administrator to add it.")
    return user


def set_active(db: Database, user_id: int, active: bool, actor_id: int) -> None:
    if not active and user_id == actor_id:
        raise AuthError("You cannot deactivate your own account; ask another administrator.")
    with transaction(db):
        db.conn.execute("UPDATE users SET active = ? WHERE id = ?", (int(active), user_id))
        audit(db, actor_id, "reactivate_user" if active else "deactivate_user", "user", user_id)


def reset_password(db: Database, user_id: int, new_password: str, actor_id: int) -> None:
    target = get_user(db, user_id)
    check_password_rules(new_password, (target.username, target.display_name, target.email or "") if target else ())
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


def change_cohort_members(db: Database, cohort_id: int, add: Iterable[int] = (), remove: Iterable[int] = (),
                          actor_id: Optional[int] = None) -> None:
    """Add and remove members, keeping everyone else (the page picks them a search or a page at a
    time: a body of 10,000 trainees cannot be offered in one list, issue 16). Only the rows that
    change are written, in one transaction, so an admin saving at the same moment keeps their
    own change; the audit entry lists who was added and who removed. Only active trainees can
    be added (AuthError otherwise); anyone can be removed."""
    add, remove = sorted({int(u) for u in add}), sorted({int(u) for u in remove})
    with transaction(db):
        marks = ", ".join("?" for _ in add)
        fit = {r[0] for r in db.conn.execute(
            f"""SELECT u.id FROM users u JOIN user_roles r ON r.user_id = u.id AND r.role = 'trainee'
                WHERE u.active = 1 AND u.id IN ({marks})""", add)} if add else set()
        if set(add) - fit:
            raise AuthError("Only active trainees can join a cohort; reload the page and pick again.")
        current = {r[0] for r in db.conn.execute("SELECT user_id FROM cohort_members WHERE cohort_id = ?",
                                                  (int(cohort_id),))}
        added, removed = sorted(set(add) - current), sorted((set(remove) & current) - set(add))
        db.conn.executemany("INSERT INTO cohort_members (cohort_id, user_id) VALUES (?, ?)",
                            [(int(cohort_id), u) for u in added])
        db.conn.executemany("DELETE FROM cohort_members WHERE cohort_id = ? AND user_id = ?",
                            [(int(cohort_id), u) for u in removed])
        if added or removed:
            audit(db, actor_id, "change_cohort_members", "cohort", cohort_id, {"added": added, "removed": removed})


def cohort_members(db: Database, cohort_id: int, limit: Optional[int] = None, offset: int = 0) -> list[dict]:
    """A cohort's members (id, username, display_name) by name; ``limit`` rows from ``offset``
    (``None``: all), cut in SQL."""
    cut = "" if limit is None else " LIMIT ? OFFSET ?"
    return rows(db, f"""SELECT u.id, u.username, u.display_name FROM cohort_members m JOIN users u ON u.id = m.user_id
                       WHERE m.cohort_id = ? ORDER BY u.display_name, u.id{cut}""",
                (int(cohort_id),) + (() if limit is None else (int(limit), int(offset))))


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


def find_visible_trainees(db: Database, user: User, text: str = "", limit: Optional[int] = PAGE_SIZE) -> list[dict]:
    """The trainees of :func:`visible_trainee_ids` other than ``user`` whose full or sign-in name
    holds every word of ``text`` (ignoring ASCII case), by name, at most ``limit``: a picker
    searched in SQL, so 10,000 trainees are never all sent to the browser."""
    if user.has("admin"):
        conds, params = ["u.active = 1", "u.id IN (SELECT user_id FROM user_roles WHERE role = 'trainee')"], []
    elif user.has("supervisor"):
        conds, params = ["u.id IN (SELECT trainee_id FROM supervision_links WHERE supervisor_id = ?)"], [user.id]
    else:
        conds, params = ["0"], []
    conds.append("u.id <> ?")
    params.append(user.id)
    match, found = sql_words(text, "u.display_name || char(10) || u.username")
    if match:
        conds.append(match)
        params += found
    cut = "" if limit is None else f" LIMIT {int(limit)}"
    return rows(db, f"SELECT u.id, u.display_name FROM users u WHERE {' AND '.join(conds)} "
                    f"ORDER BY u.display_name, u.id{cut}", params)
