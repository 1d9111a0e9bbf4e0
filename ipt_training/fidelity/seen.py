"""Who has been shown other people's ratings of a session (issue 15, finding 2).

A person who has read a session's ratings (or, for an administrator, entered its expert rating)
can no longer give it an independent or calibration rating: ``fidelity.assignments`` refuses to
assign them. The first showing is also one ``see_ratings`` line in the audit log.
"""

from __future__ import annotations

from typing import Iterable

from sqlite_utils import Database
from ..store import audit, now_iso, one, rows, transaction


def record_seen(db: Database, user_id: int, session_id: int) -> None:
    """Note (once) that ``user_id`` has been shown other people's ratings of the session."""
    if has_seen_ratings(db, user_id, session_id):
        return
    with transaction(db):
        added = db.conn.execute("INSERT OR IGNORE INTO ratings_seen (session_id, user_id, first_seen_at) VALUES (?,?,?)",
                                (int(session_id), int(user_id), now_iso())).rowcount
        if added:
            audit(db, user_id, "see_ratings", "recorded_session", int(session_id))


def has_seen_ratings(db: Database, user_id: int, session_id: int) -> bool:
    """Whether ``user_id`` has been shown other people's ratings of the session."""
    return one(db, "SELECT 1 AS x FROM ratings_seen WHERE session_id = ? AND user_id = ?",
               (int(session_id), int(user_id))) is not None


def seen_by(db: Database, session_ids: Iterable[int]) -> dict[int, set[int]]:
    """Per session, the people who have been shown its ratings (bulk form of :func:`has_seen_ratings`)."""
    out: dict[int, set[int]] = {}
    ids = [int(i) for i in session_ids]
    if ids:
        for r in rows(db, f"SELECT session_id, user_id FROM ratings_seen WHERE session_id IN ({','.join('?' * len(ids))})",
                      tuple(ids)):
            out.setdefault(r["session_id"], set()).add(r["user_id"])
    return out
