"""What is waiting for each role: the counts on the home page."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from .auth import User, supervisee_ids
from .content import Library
from .store import one


@dataclass(frozen=True)
class Waiting:
    role: str
    label: str
    count: int
    page: str  # app_pages file to open


def _count(db: Database, sql: str, params: tuple = ()) -> int:
    return one(db, sql, params)["n"]


def _in(ids: list[int]) -> str:
    return ",".join(str(int(i)) for i in ids) or "NULL"


def waiting_for(db: Database, user: User, library: Library) -> list[Waiting]:
    """Items that need this user's action, per role they hold."""
    out: list[Waiting] = []
    if user.has("trainee"):
        out.append(Waiting("trainee", "vignette attempts in progress", _count(db,
            "SELECT COUNT(*) AS n FROM vignette_attempts WHERE trainee_id = ? AND status = 'draft'", (user.id,)), "vignette_library.py"))
        out.append(Waiting("trainee", "attempts awaiting a supervisor's grading", _count(db,
            "SELECT COUNT(*) AS n FROM vignette_attempts WHERE trainee_id = ? AND status = 'submitted'", (user.id,)), "progress.py"))
        out.append(Waiting("trainee", "own sessions to self-rate", _count(db, """
            SELECT COUNT(*) AS n FROM recorded_sessions s WHERE s.trainee_id = ? AND s.deleted_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.session_id = s.id AND r.kind = 'self' AND r.status = 'submitted')""",
            (user.id,)), "my_sessions.py"))
        out.append(Waiting("trainee", "vignettes not yet tried", max(0, len(library.vignettes) - _count(db,
            "SELECT COUNT(DISTINCT vignette_id) AS n FROM vignette_attempts WHERE trainee_id = ?", (user.id,))), "vignette_library.py"))
    if user.has("rater", "supervisor"):
        out.append(Waiting("rater", "assigned sessions to rate", _count(db, """
            SELECT COUNT(*) AS n FROM assignments a JOIN recorded_sessions s ON s.id = a.session_id
            WHERE a.rater_id = ? AND s.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.session_id = a.session_id
            AND r.rater_id = a.rater_id AND r.kind = 'rater' AND r.status = 'submitted')""", (user.id,)), "rating_queue.py"))
        out.append(Waiting("rater", "of them overdue", _count(db, """
            SELECT COUNT(*) AS n FROM assignments a JOIN recorded_sessions s ON s.id = a.session_id
            WHERE a.rater_id = ? AND s.deleted_at IS NULL AND a.due_date < date('now') AND NOT EXISTS (SELECT 1 FROM ratings r
            WHERE r.session_id = a.session_id AND r.rater_id = a.rater_id AND r.kind = 'rater' AND r.status = 'submitted')""",
            (user.id,)), "rating_queue.py"))
    if user.has("supervisor"):
        ids = _in(supervisee_ids(db, user.id))
        out.append(Waiting("supervisor", "supervisee attempts to grade", _count(db,
            f"SELECT COUNT(*) AS n FROM vignette_attempts WHERE status = 'submitted' AND trainee_id IN ({ids})"), "grading_queue.py"))
        out.append(Waiting("supervisor", "supervisee log entries to confirm", sum(_count(db,
            f"SELECT COUNT(*) AS n FROM {t} WHERE confirmed_by IS NULL AND trainee_id IN ({ids})")
            for t in ("training_events", "clinical_hours", "clinical_cases", "supervision_sessions")), "supervisees.py"))
    if user.has("admin"):
        out.append(Waiting("admin", "attempts awaiting grading (all trainees)", _count(db,
            "SELECT COUNT(*) AS n FROM vignette_attempts WHERE status = 'submitted'"), "grading_queue.py"))
        out.append(Waiting("admin", "sessions with no rater assigned", _count(db, """
            SELECT COUNT(*) AS n FROM recorded_sessions s WHERE s.deleted_at IS NULL AND s.is_gold_standard = 0
            AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.session_id = s.id)"""), "assignments.py"))
        out.append(Waiting("admin", "rejected content files", len({e.path for e in library.errors}), "content_status.py"))
    return out
