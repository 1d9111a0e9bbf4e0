"""Gold-standard sessions: marking a session as gold and adopting the expert consensus rating.
"""

from __future__ import annotations

from typing import Optional
from sqlite_utils import Database
from ..auth import User
from ..content import Library
from ..store import audit, rows, transaction
from .assignments import _status_of
from .base import FidelityError
from .ratings import _rating, _touch, get_or_create_draft
from .recordings import _session, session_label


def mark_gold_standard(db: Database, admin: User, session_id: int, on: bool) -> None:
    if not admin.has("admin"):
        raise FidelityError("Only an administrator can mark gold-standard sessions.")
    s = _session(db, session_id)
    if on and s["deleted_at"]:
        raise FidelityError("The recording of this session was deleted; it cannot be a calibration session.")
    with transaction(db):
        db.conn.execute("UPDATE recorded_sessions SET is_gold_standard = ? WHERE id = ?", (int(bool(on)), s["id"]))
        audit(db, admin.id, "mark_gold_standard" if on else "unmark_gold_standard", "recorded_session", s["id"])


def adopt_gold_rating(db: Database, admin: User, session_id: int, source_rating_id: int, *,
                      library: Optional[Library] = None) -> dict:
    """Start (or overwrite) the gold-standard draft with the scores of a submitted rating of the
    same session: the expert panel adopts it as its consensus, then gives a reason per item."""
    src = _rating(db, source_rating_id)
    if src["session_id"] != int(session_id) or src["status"] != "submitted" or src["kind"] == "gold":
        raise FidelityError("Adopt a submitted rater or self-rating of this same session.")
    gold = get_or_create_draft(db, admin, session_id, "gold", library=library)
    if gold["status"] != "draft":
        raise FidelityError("The gold-standard rating is submitted; reopen it before adopting another rating.")
    with transaction(db):
        db.conn.execute("DELETE FROM item_scores WHERE rating_id = ?", (gold["id"],))
        db.conn.execute("""INSERT INTO item_scores (rating_id, item_id, score, not_applicable, reason)
                           SELECT ?, item_id, score, not_applicable, reason FROM item_scores WHERE rating_id = ?""",
                        (gold["id"], src["id"]))
        _touch(db, gold["id"])
        audit(db, admin.id, "adopt_gold_rating", "rating", gold["id"], {"session_id": int(session_id), "from_rating": src["id"]})
    return _rating(db, gold["id"])


def gold_sessions(db: Database, admin: User) -> list[dict]:
    """Admin: the gold-standard sessions (recording not deleted) with their gold rating status and
    calibration counts, by session number. Only the marked few are read: the session to mark is
    found by a search (:func:`.recordings.accessible_sessions`), not among every session."""
    if not admin.has("admin"):
        raise FidelityError("Only an administrator can manage gold-standard sessions.")
    out = rows(db, """
        SELECT s.id, s.trainee_id, t.display_name AS trainee_name, s.case_pseudonym, s.session_number, s.phase,
               s.problem_area, s.is_gold_standard, s.deleted_at,
               (SELECT status FROM ratings g WHERE g.session_id = s.id AND g.kind = 'gold' ORDER BY g.id LIMIT 1) AS gold_status,
               (SELECT COUNT(*) FROM ratings r WHERE r.session_id = s.id AND r.kind = 'rater' AND r.status = 'submitted') AS submitted_ratings,
               (SELECT COUNT(*) FROM assignments a WHERE a.session_id = s.id AND a.purpose = 'calibration') AS calibration_assignments
        FROM recorded_sessions s JOIN users t ON t.id = s.trainee_id
        WHERE s.deleted_at IS NULL AND s.is_gold_standard = 1 ORDER BY s.id""")
    for s in out:
        s["label"] = session_label(s)
        s["gold_status"] = _status_of(s["gold_status"])
    return out
