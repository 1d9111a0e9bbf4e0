"""The SQLite store: connection, pragmas, versioned migrations, small helpers.

One connection per browser session, opened with ``check_same_thread=False`` because
Streamlit runs each rerun on a new thread. Foreign keys are on for every connection, the
journal is WAL, and a busy timeout makes a locked database wait instead of failing.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Optional

from sqlite_utils import Database

from .files import private_dir, private_file
from .finding import sql_day_range, sql_words
from .store_changes import assignments_migration_sql as _assignments_changes_sql, migration_sql as _evidence_changes_sql
from .store_submissions import migration_sql as _submitted_changes_sql

BUSY_TIMEOUT_MS = 10_000


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def connect(path: Path | str) -> Database:
    """Open (and create) the database at ``path`` with the project's pragmas.

    A new database (and its folder) is made readable by the server's user only: 0600 file,
    0700 folder; SQLite gives its -wal and -shm files the database file's mode.
    """
    if str(path) != ":memory:":
        private_dir(Path(path).parent)
        for suffix in ("", "-wal", "-shm"):
            if not suffix or Path(f"{path}{suffix}").exists():
                private_file(Path(f"{path}{suffix}"))
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000,
                           isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if str(path) != ":memory:":
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if mode.lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.create_function("casefold", 1, _casefold, deterministic=True)
    return Database(conn)


def _casefold(value):
    """SQL ``casefold(x)``: Python's full Unicode case folding (``str.casefold``), which SQLite's
    ``lower()`` lacks beyond ASCII; searches use it so "ö" finds "Ö" (:func:`finding.sql_words`)."""
    return None if value is None else str(value).casefold()


@contextmanager
def read_snapshot(db: Database) -> Iterator[None]:
    """One read transaction (a WAL snapshot): change tokens and the rows read after them agree."""
    if db.conn.in_transaction:
        yield
        return
    db.conn.execute("BEGIN")
    try:
        yield
    finally:
        db.conn.execute("COMMIT")


@contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` with a retry when another writer holds the lock.

    Taking the write lock up front avoids the deadlock-prone upgrade from a read lock;
    the busy timeout already waits, and a rare ``database is locked`` is retried.
    """
    for attempt in range(5):
        try:
            db.conn.execute("BEGIN IMMEDIATE")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))
    try:
        yield db
    except BaseException:
        db.conn.execute("ROLLBACK")
        _AFTER_COMMIT.pop(id(db.conn), None)
        raise
    else:
        db.conn.execute("COMMIT")
        _run_after_commit(db)


# work that must wait until the current transaction has committed (an e-mail about an event
# is sent only once the event is on record), per connection
_AFTER_COMMIT: dict[int, list] = {}


def after_commit(db: Database, fn) -> None:
    """Run ``fn()`` once the transaction now open on ``db`` commits (at once when none is open);
    dropped when it rolls back. A failure of ``fn`` is logged, never raised: the event stands."""
    if db.conn.in_transaction:
        _AFTER_COMMIT.setdefault(id(db.conn), []).append(fn)
    else:
        _call(fn)


def _run_after_commit(db: Database) -> None:
    for fn in _AFTER_COMMIT.pop(id(db.conn), []):
        _call(fn)


def _call(fn) -> None:
    try:
        fn()
    except Exception:  # noqa: BLE001 - see after_commit
        import logging

        logging.getLogger("ipt_training").exception("work after a commit failed")


# --- migrations --------------------------------------------------------------------------
# Each migration is (version, SQL). They run in order inside a transaction and are recorded
# in ``schema_migrations``; running them again applies nothing.

MIGRATIONS: list[tuple[int, str]] = [
    (1, """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        display_name TEXT NOT NULL,
        email TEXT UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        failed_logins INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT,
        is_demo INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE TABLE user_roles (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('trainee','rater','supervisor','admin')),
        PRIMARY KEY (user_id, role)
    );
    CREATE TABLE cohorts (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
    );
    CREATE TABLE cohort_members (
        cohort_id INTEGER NOT NULL REFERENCES cohorts(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        PRIMARY KEY (cohort_id, user_id)
    );
    CREATE TABLE supervision_links (
        supervisor_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        trainee_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        PRIMARY KEY (supervisor_id, trainee_id),
        CHECK (supervisor_id <> trainee_id)
    );
    CREATE INDEX idx_supervision_trainee ON supervision_links(trainee_id);
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor_id INTEGER REFERENCES users(id),
        action TEXT NOT NULL,
        object_type TEXT,
        object_id TEXT,
        detail TEXT
    );
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    """),
    (2, """
    CREATE TABLE vignette_attempts (
        id INTEGER PRIMARY KEY,
        trainee_id INTEGER NOT NULL REFERENCES users(id),
        vignette_id TEXT NOT NULL,
        vignette_hash TEXT NOT NULL,
        rubric_id TEXT NOT NULL,
        rubric_hash TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('draft','submitted','graded')),
        answers TEXT NOT NULL DEFAULT '{}',
        stages_revealed INTEGER NOT NULL DEFAULT 1,
        auto_scores TEXT,
        grades TEXT,
        score REAL,
        passed INTEGER,
        primary_area TEXT,
        grader_id INTEGER REFERENCES users(id),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        submitted_at TEXT,
        graded_at TEXT
    );
    CREATE INDEX idx_attempts_trainee ON vignette_attempts(trainee_id, vignette_id);
    CREATE INDEX idx_attempts_status ON vignette_attempts(status);
    """),
    (3, """
    CREATE TABLE recorded_sessions (
        id INTEGER PRIMARY KEY,
        trainee_id INTEGER NOT NULL REFERENCES users(id),
        added_by INTEGER NOT NULL REFERENCES users(id),
        case_pseudonym TEXT NOT NULL,
        case_id INTEGER,
        session_number INTEGER NOT NULL CHECK (session_number >= 1),
        phase TEXT NOT NULL CHECK (phase IN ('initial','middle','termination')),
        problem_area TEXT NOT NULL,
        recording_file TEXT,
        recording_sha256 TEXT,
        media_type TEXT,
        original_name TEXT,
        size_bytes INTEGER,
        transcript TEXT,
        consent_confirmed INTEGER NOT NULL CHECK (consent_confirmed = 1),
        is_gold_standard INTEGER NOT NULL DEFAULT 0,
        notes TEXT,
        created_at TEXT NOT NULL,
        deleted_at TEXT,
        deleted_by INTEGER REFERENCES users(id)
    );
    CREATE INDEX idx_sessions_trainee ON recorded_sessions(trainee_id);
    CREATE TABLE assignments (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES recorded_sessions(id),
        rater_id INTEGER NOT NULL REFERENCES users(id),
        assigned_by INTEGER REFERENCES users(id),
        due_date TEXT,
        purpose TEXT NOT NULL DEFAULT 'rating' CHECK (purpose IN ('rating','second_rating','calibration')),
        created_at TEXT NOT NULL,
        UNIQUE (session_id, rater_id)
    );
    CREATE INDEX idx_assignments_rater ON assignments(rater_id);
    CREATE TABLE ratings (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES recorded_sessions(id),
        rater_id INTEGER NOT NULL REFERENCES users(id),
        kind TEXT NOT NULL CHECK (kind IN ('rater','self','gold')),
        instrument_id TEXT NOT NULL,
        instrument_hash TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('draft','submitted')),
        comment TEXT NOT NULL DEFAULT '',
        mean REAL,
        passed INTEGER,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        submitted_at TEXT,
        UNIQUE (session_id, rater_id, kind)
    );
    CREATE INDEX idx_ratings_session ON ratings(session_id, status);
    CREATE INDEX idx_ratings_rater ON ratings(rater_id, status);
    CREATE TABLE item_scores (
        rating_id INTEGER NOT NULL REFERENCES ratings(id) ON DELETE CASCADE,
        item_id TEXT NOT NULL,
        score INTEGER,
        not_applicable INTEGER NOT NULL DEFAULT 0,
        reason TEXT,
        PRIMARY KEY (rating_id, item_id),
        CHECK (NOT (score IS NOT NULL AND not_applicable = 1))
    );
    CREATE TABLE evidence_marks (
        id INTEGER PRIMARY KEY,
        rating_id INTEGER NOT NULL REFERENCES ratings(id) ON DELETE CASCADE,
        time_s REAL NOT NULL CHECK (time_s >= 0),
        item_id TEXT,
        note TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    );
    CREATE INDEX idx_evidence_rating ON evidence_marks(rating_id);
    """),
    (4, """
    CREATE TABLE training_events (
        id INTEGER PRIMARY KEY,
        trainee_id INTEGER NOT NULL REFERENCES users(id),
        date TEXT NOT NULL,
        hours REAL NOT NULL CHECK (hours > 0),
        title TEXT NOT NULL,
        trainer TEXT NOT NULL,
        certificate_file TEXT,
        confirmed_by INTEGER REFERENCES users(id),
        confirmed_at TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE clinical_hours (
        id INTEGER PRIMARY KEY,
        trainee_id INTEGER NOT NULL REFERENCES users(id),
        date TEXT NOT NULL,
        hours REAL NOT NULL CHECK (hours > 0),
        setting TEXT NOT NULL DEFAULT '',
        confirmed_by INTEGER REFERENCES users(id),
        confirmed_at TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE clinical_cases (
        id INTEGER PRIMARY KEY,
        trainee_id INTEGER NOT NULL REFERENCES users(id),
        pseudonym TEXT NOT NULL,
        problem_area TEXT NOT NULL,
        start_date TEXT NOT NULL,
        end_date TEXT,
        n_sessions INTEGER NOT NULL DEFAULT 0 CHECK (n_sessions >= 0),
        confirmed_by INTEGER REFERENCES users(id),
        confirmed_at TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (trainee_id, pseudonym)
    );
    CREATE TABLE symptom_scores (
        id INTEGER PRIMARY KEY,
        case_id INTEGER NOT NULL REFERENCES clinical_cases(id) ON DELETE CASCADE,
        session_number INTEGER NOT NULL CHECK (session_number >= 1),
        measure TEXT NOT NULL,
        score REAL NOT NULL,
        UNIQUE (case_id, session_number, measure)
    );
    CREATE TABLE supervision_sessions (
        id INTEGER PRIMARY KEY,
        trainee_id INTEGER NOT NULL REFERENCES users(id),
        supervisor_name TEXT NOT NULL,
        date TEXT NOT NULL,
        hours REAL NOT NULL CHECK (hours > 0),
        case_id INTEGER REFERENCES clinical_cases(id),
        notes TEXT NOT NULL DEFAULT '',
        confirmed_by INTEGER REFERENCES users(id),
        confirmed_at TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE credential_decisions (
        id INTEGER PRIMARY KEY,
        trainee_id INTEGER NOT NULL REFERENCES users(id),
        standard_id TEXT NOT NULL,
        standard_version TEXT NOT NULL,
        standard_hash TEXT NOT NULL,
        decision TEXT NOT NULL CHECK (decision IN ('award','defer','refuse')),
        reasons TEXT NOT NULL DEFAULT '',
        reviewer_id INTEGER NOT NULL REFERENCES users(id),
        decided_at TEXT NOT NULL,
        expires_on TEXT,
        evidence_snapshot TEXT NOT NULL
    );
    CREATE INDEX idx_decisions_trainee ON credential_decisions(trainee_id, standard_id);
    CREATE TRIGGER decisions_no_update BEFORE UPDATE ON credential_decisions
        BEGIN SELECT RAISE(ABORT, 'decisions are append-only: record a new decision instead'); END;
    CREATE TRIGGER decisions_no_delete BEFORE DELETE ON credential_decisions
        BEGIN SELECT RAISE(ABORT, 'decisions are append-only: record a new decision instead'); END;
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """),
    # issue 3: at most one draft per trainee and vignette, even with two tabs open at once
    (20, """
    CREATE UNIQUE INDEX idx_attempts_one_draft ON vignette_attempts(trainee_id, vignette_id) WHERE status = 'draft';
    """),
    # issue 3: each vignette/rubric version an attempt was scored against, stored once by content hash
    (21, """
    CREATE TABLE content_versions (
        hash TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        content_id TEXT NOT NULL,
        body TEXT NOT NULL
    );
    """),
    # issue 7: the readiness cache stamp reads MAX(updated_at) from the index, not 50,000 rows
    (22, """
    CREATE INDEX idx_attempts_updated ON vignette_attempts(updated_at);
    """),
    # issue 12: the problem areas, ranking and formulation are committed (locked) before the
    # later stages of the case are revealed
    (30, """
    ALTER TABLE vignette_attempts ADD COLUMN focus_committed_at TEXT;
    """),
    # issues 15 (items 8, 19) and 17: server-side sign-in sessions behind an HttpOnly cookie.
    # users.session_version is bumped by triggers on every password, activation or role change,
    # whichever code path makes it, and a session whose version is stale is over.
    (40, """
    ALTER TABLE users ADD COLUMN session_version INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE auth_sessions (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        token_hash TEXT UNIQUE,
        session_version INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        ended_at TEXT,
        ended_reason TEXT
    );
    CREATE INDEX idx_auth_sessions_live ON auth_sessions(user_id) WHERE ended_at IS NULL;
    CREATE TABLE auth_handoffs (
        code_hash TEXT PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES auth_sessions(id) ON DELETE CASCADE,
        next_path TEXT NOT NULL,
        browser_binding TEXT,
        expires_at TEXT NOT NULL
    );
    CREATE TRIGGER users_version_on_password AFTER UPDATE OF password_hash ON users
        WHEN NEW.password_hash IS NOT OLD.password_hash
        BEGIN UPDATE users SET session_version = session_version + 1 WHERE id = NEW.id; END;
    CREATE TRIGGER users_version_on_active AFTER UPDATE OF active ON users
        WHEN NEW.active IS NOT OLD.active
        BEGIN UPDATE users SET session_version = session_version + 1 WHERE id = NEW.id; END;
    CREATE TRIGGER users_version_on_role_added AFTER INSERT ON user_roles
        BEGIN UPDATE users SET session_version = session_version + 1 WHERE id = NEW.user_id; END;
    CREATE TRIGGER users_version_on_role_removed AFTER DELETE ON user_roles
        BEGIN UPDATE users SET session_version = session_version + 1 WHERE id = OLD.user_id; END;
    """),
    # issue 15, finding 2: who has been shown other people's ratings of a session; such a person
    # can no longer give that session an independent (or calibration) rating
    (44, """
    CREATE TABLE ratings_seen (
        session_id INTEGER NOT NULL REFERENCES recorded_sessions(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        first_seen_at TEXT NOT NULL,
        PRIMARY KEY (session_id, user_id)
    );
    """),
    # issue 14: the signed credential of each award, and revocations; both append-only
    (50, """
    CREATE TABLE issued_credentials (
        decision_id INTEGER PRIMARY KEY REFERENCES credential_decisions(id),
        credential_id TEXT NOT NULL UNIQUE,
        kid TEXT NOT NULL,
        token TEXT NOT NULL,
        issued_at TEXT NOT NULL
    );
    CREATE TRIGGER issued_no_update BEFORE UPDATE ON issued_credentials
        BEGIN SELECT RAISE(ABORT, 'issued credentials are append-only: revoke instead'); END;
    CREATE TRIGGER issued_no_delete BEFORE DELETE ON issued_credentials
        BEGIN SELECT RAISE(ABORT, 'issued credentials are append-only: revoke instead'); END;
    CREATE TABLE credential_revocations (
        id INTEGER PRIMARY KEY,
        decision_id INTEGER NOT NULL UNIQUE REFERENCES credential_decisions(id),
        reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
        revoked_by INTEGER REFERENCES users(id),
        revoked_at TEXT NOT NULL
    );
    CREATE TRIGGER revocations_no_update BEFORE UPDATE ON credential_revocations
        BEGIN SELECT RAISE(ABORT, 'revocations are append-only'); END;
    CREATE TRIGGER revocations_no_delete BEFORE DELETE ON credential_revocations
        BEGIN SELECT RAISE(ABORT, 'revocations are append-only'); END;
    """),
    # issue 13: training categories, case populations (the outcome measure), random draws of the
    # sessions to be rated (append-only), case reports graded on levels, signed attestations
    (46, """
    ALTER TABLE training_events ADD COLUMN category TEXT NOT NULL DEFAULT 'other';
    ALTER TABLE clinical_cases ADD COLUMN population TEXT NOT NULL DEFAULT 'adult';
    CREATE TABLE session_draws (
        id INTEGER PRIMARY KEY,
        trainee_id INTEGER NOT NULL REFERENCES users(id),
        standard_id TEXT NOT NULL,
        requirement_id TEXT NOT NULL,
        case_key TEXT NOT NULL,
        case_pseudonym TEXT NOT NULL,
        phase TEXT NOT NULL CHECK (phase IN ('initial','middle','termination')),
        seq INTEGER NOT NULL CHECK (seq >= 1),
        session_id INTEGER NOT NULL REFERENCES recorded_sessions(id),
        candidates TEXT NOT NULL,
        drawn_by INTEGER NOT NULL REFERENCES users(id),
        drawn_at TEXT NOT NULL,
        UNIQUE (trainee_id, standard_id, requirement_id, case_key, phase, seq)
    );
    CREATE TRIGGER session_draws_no_update BEFORE UPDATE ON session_draws
        BEGIN SELECT RAISE(ABORT, 'draws are append-only: make a further draw instead'); END;
    CREATE TRIGGER session_draws_no_delete BEFORE DELETE ON session_draws
        BEGIN SELECT RAISE(ABORT, 'draws are append-only: make a further draw instead'); END;
    CREATE TABLE case_reports (
        id INTEGER PRIMARY KEY,
        trainee_id INTEGER NOT NULL REFERENCES users(id),
        case_id INTEGER NOT NULL REFERENCES clinical_cases(id) ON DELETE CASCADE,
        report TEXT NOT NULL,
        submitted_at TEXT NOT NULL,
        level TEXT CHECK (level IN ('revise','adequate','good','excellent')),
        comment TEXT NOT NULL DEFAULT '',
        graded_by INTEGER REFERENCES users(id),
        graded_at TEXT
    );
    CREATE INDEX idx_case_reports_trainee ON case_reports(trainee_id);
    CREATE TABLE attestations (
        id INTEGER PRIMARY KEY,
        trainee_id INTEGER NOT NULL REFERENCES users(id),
        standard_id TEXT NOT NULL,
        attester TEXT NOT NULL CHECK (attester IN ('supervisor','observer')),
        signed_by INTEGER NOT NULL REFERENCES users(id),
        statement TEXT NOT NULL,
        signed_at TEXT NOT NULL
    );
    CREATE TRIGGER attestations_no_update BEFORE UPDATE ON attestations
        BEGIN SELECT RAISE(ABORT, 'attestations are append-only: sign a new statement instead'); END;
    """),
    # issue 17: the audit log is searched by day and by person; recordings by the day they were added
    (90, """
    CREATE INDEX IF NOT EXISTS idx_audit_log_at ON audit_log(at);
    CREATE INDEX IF NOT EXISTS idx_audit_log_actor ON audit_log(actor_id);
    """),
    # issue 17: opening a session no longer starts a draft (it starts at the first score, mark or
    # comment); drafts that opening made and nobody wrote in are not ratings, so they go
    (80, """
    DELETE FROM ratings WHERE status = 'draft' AND comment = ''
        AND NOT EXISTS (SELECT 1 FROM item_scores i WHERE i.rating_id = ratings.id)
        AND NOT EXISTS (SELECT 1 FROM evidence_marks m WHERE m.rating_id = ratings.id);
    """),
    # issue 16: per-person evidence tokens kept by triggers (store_changes), so readiness is
    # re-evaluated only for the people whose evidence changed, and never on a draft save
    (70, _evidence_changes_sql()),
    # issue 16 (scale XL): long lists are ordered and cut in SQL; these indexes give the order
    # (newest first) without sorting every row, so a page of 50 reads about 50
    (120, """
    CREATE INDEX IF NOT EXISTS idx_assignments_created ON assignments(created_at);
    CREATE INDEX IF NOT EXISTS idx_sessions_created ON recorded_sessions(created_at);
    """),
    # issue 16 (scale XL): the grading queue in submission order; each trainee's log entries, and
    # the few awaiting confirmation (a supervisor's list reads those, not 30,000 confirmed ones)
    (121, """
    CREATE INDEX IF NOT EXISTS idx_attempts_submitted ON vignette_attempts(status, submitted_at);
    CREATE INDEX IF NOT EXISTS idx_training_events_trainee ON training_events(trainee_id);
    CREATE INDEX IF NOT EXISTS idx_clinical_hours_trainee ON clinical_hours(trainee_id);
    CREATE INDEX IF NOT EXISTS idx_supervision_sessions_trainee ON supervision_sessions(trainee_id);
    CREATE INDEX IF NOT EXISTS idx_training_events_unconfirmed ON training_events(trainee_id) WHERE confirmed_by IS NULL;
    CREATE INDEX IF NOT EXISTS idx_clinical_hours_unconfirmed ON clinical_hours(trainee_id) WHERE confirmed_by IS NULL;
    CREATE INDEX IF NOT EXISTS idx_clinical_cases_unconfirmed ON clinical_cases(trainee_id) WHERE confirmed_by IS NULL;
    CREATE INDEX IF NOT EXISTS idx_supervision_sessions_unconfirmed ON supervision_sessions(trainee_id)
        WHERE confirmed_by IS NULL;
    """),
    # issue 16 (scale XL): the grading queue with graded attempts too, in submission order
    (122, "CREATE INDEX IF NOT EXISTS idx_attempts_submitted_at ON vignette_attempts(submitted_at);"),
    # issue 16: the log of submissions and other changes of submitted ratings (store_submissions),
    # so the reliability report appends newly submitted ratings instead of reading everything again
    (100, _submitted_changes_sql()),
    # issue 16 (scale XL): Home counts the attempts awaiting grading from an index alone
    (110, """
    CREATE INDEX IF NOT EXISTS idx_attempts_status_trainee ON vignette_attempts(status, trainee_id);
    """),
    # issue 16 (scale XL): an assignment changes blind sets only, not who is listed (store_changes)
    (111, _assignments_changes_sql()),
    # issue 17: the in-app inbox; a reminder that must be written once carries a dedupe_key
    (60, """
    CREATE TABLE notifications (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        page TEXT NOT NULL DEFAULT '',
        params TEXT NOT NULL DEFAULT '{}',
        dedupe_key TEXT,
        created_at TEXT NOT NULL,
        read_at TEXT,
        emailed_at TEXT
    );
    CREATE INDEX idx_notifications_user ON notifications(user_id, created_at);
    CREATE INDEX idx_notifications_unread ON notifications(user_id) WHERE read_at IS NULL;
    CREATE UNIQUE INDEX idx_notifications_once ON notifications(user_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
    """),
]


def migrate(db: Database) -> list[int]:
    """Apply every migration not yet applied; return the versions applied now."""
    db.conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    applied_now = []
    for version, sql in sorted(MIGRATIONS):
        with transaction(db):
            done = db.conn.execute(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
            ).fetchone()
            if done:
                continue
            for statement in _split_sql(sql):
                db.conn.execute(statement)
            db.conn.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", (version, now_iso())
            )
            applied_now.append(version)
    return applied_now


def _split_sql(sql: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    out, buf = [], ""
    for line in sql.strip().splitlines():
        buf += line + "\n"
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


def open_store(path: Path | str) -> Database:
    """Connect and migrate: what the app and the CLI call on start."""
    db = connect(path)
    migrate(db)
    return db


def schema_version(db: Database) -> int:
    """The highest migration applied; 0 for a database never migrated (no ``schema_migrations``)."""
    migrated = "schema_migrations" in db.table_names()
    return (migrated and db.conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]) or 0


# --- small helpers -----------------------------------------------------------------------


def rows(db: Database, sql: str, params: tuple | dict = ()) -> list[dict]:
    return list(db.query(sql, params))


def one(db: Database, sql: str, params: tuple | dict = ()) -> Optional[dict]:
    return next(iter(db.query(sql, params)), None)


def audit(db: Database, actor_id: Optional[int], action: str, object_type: str = "",
          object_id: Any = "", detail: Any = None) -> None:
    """Append one line to the audit log (who, what, when). Never pass a password here."""
    db.conn.execute(
        "INSERT INTO audit_log (at, actor_id, action, object_type, object_id, detail) VALUES (?,?,?,?,?,?)",
        (now_iso(), actor_id, action, object_type, str(object_id),
         json.dumps(detail, default=str) if detail is not None else None),
    )


def get_setting(db: Database, key: str, default: str) -> str:
    row = db.conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return row[0] if row else default


def set_setting(db: Database, key: str, value: str) -> None:
    db.conn.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def backup(db: Database, target: Path | str) -> None:
    """Online backup with the sqlite3 backup API: consistent while other writers continue."""
    target = Path(target)
    private_dir(target.parent)
    dest = sqlite3.connect(str(private_file(target)))  # 0600 like the live file
    try:
        db.conn.backup(dest, pages=1024)
    finally:
        dest.close()


def _audit_where(action: str = "", who: str = "", text: str = "", since: Optional[date] = None,
                 until: Optional[date] = None) -> tuple[str, list]:
    """The WHERE clause and parameters of an audit-log search (issue 17). User text only ever
    travels as a bound parameter; ``instr`` matches it literally, ignoring case
    (:func:`finding.sql_words`)."""
    parts, params = [], []
    if action.strip():
        parts.append("instr(lower(a.action), lower(?)) > 0")
        params.append(action.strip())
    who_sql, who_words = sql_words(who, "COALESCE(u.username, '') || ' ' || COALESCE(u.display_name, '')")
    text_sql, text_words = sql_words(text, "a.action || ' ' || a.object_type || ' ' || a.object_id || ' ' || "
                                           "COALESCE(a.detail, '') || ' ' || COALESCE(u.username, '') || ' ' || "
                                           "COALESCE(u.display_name, '')")
    for sql, found in ((who_sql, who_words), (text_sql, text_words)):
        if found:
            parts.append(sql)
            params.extend(found)
    days, bounds = sql_day_range("a.at", since, until)
    parts += days
    params += bounds
    return (" WHERE " + " AND ".join(parts)) if parts else "", params


def audit_entries(db: Database, action: str = "", limit: int = 200, *, who: str = "", text: str = "",
                  since: Optional[date] = None, until: Optional[date] = None, offset: int = 0) -> list[dict]:
    """Audit-log lines, newest first: ``limit`` of them from ``offset``, filtered by action text
    (matched literally, ignoring case: ``%`` and ``_`` are characters, not wildcards), person
    (sign-in or full name), free text over every column, and days ``since``..``until`` (both
    included, UTC). ``limit=None`` returns every matching line."""
    where, params = _audit_where(action, who, text, since, until)
    page = "" if limit is None else " LIMIT ? OFFSET ?"
    params += [] if limit is None else [int(limit), int(offset)]
    return rows(db, f"""SELECT a.at, COALESCE(u.username, '') AS who, a.action, a.object_type, a.object_id, a.detail
                        FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id{where}
                        ORDER BY a.at DESC, a.id DESC{page}""", params)


def audit_count(db: Database, action: str = "", *, who: str = "", text: str = "", since: Optional[date] = None,
                until: Optional[date] = None) -> int:
    """How many audit-log lines :func:`audit_entries` would find with these filters."""
    where, params = _audit_where(action, who, text, since, until)
    return db.conn.execute(f"SELECT COUNT(*) FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id{where}",
                           params).fetchone()[0]
