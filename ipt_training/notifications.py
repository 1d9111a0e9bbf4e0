"""The in-app inbox (issue 17): what happened that a person should know, one row per event.

The domain writes a notification with :func:`notify` inside the transaction of the event it
reports (an attempt graded, an entry confirmed, a case report graded, a statement of competence
signed, a session assigned or rated, a credential decision recorded), so the two are committed or rolled back together. Expiring credentials
are noticed, not caused: :func:`ipt_training.credentials.reminders.notify_expiring` writes
each reminder once (a ``dedupe_key`` and a partial unique index), however often it runs (on
the holder's home visit, or by ``python -m ipt_training notify-expiring``).

A person reads only their own notifications: every query here takes the reader's user id.
When e-mail is switched on (:mod:`ipt_training.mailer`), each notification is also sent to
the person's address once its transaction has committed (:func:`ipt_training.store.after_commit`).
"""

from __future__ import annotations

import json
from typing import Optional

from sqlite_utils import Database

from .store import after_commit, now_iso, one, rows, transaction

# kind -> the words for it in the inbox
KINDS = {
    "attempt_graded": "Vignette attempt graded",
    "session_rated": "Recorded session rated",
    "evidence_confirmed": "Training log entry confirmed",
    "case_report_graded": "Case report graded",
    "statement_signed": "Statement of competence signed",
    "rating_assigned": "Session assigned to you for rating",
    "credential_decision": "Credential decision recorded",
    "credential_expiring": "Credential expiring",
}


def notify(db: Database, user_id: int, kind: str, text: str, page: str = "", params: Optional[dict] = None,
           dedupe_key: Optional[str] = None) -> Optional[int]:
    """Write one notification for ``user_id``; call it inside the event's transaction.

    ``page`` is the app_pages file that deals with it, ``params`` the session-state selection
    that opens it on the right item. With a ``dedupe_key`` already used for this person,
    nothing is written and None is returned.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    cur = db.conn.execute(
        """INSERT OR IGNORE INTO notifications (user_id, kind, text, page, params, dedupe_key, created_at)
           VALUES (?,?,?,?,?,?,?)""",
        (int(user_id), kind, text, page, json.dumps(params or {}, sort_keys=True), dedupe_key, now_iso()))
    if cur.rowcount == 0:
        return None
    nid = cur.lastrowid
    from . import mailer  # the e-mail goes only after the event is committed, and only when switched on

    if mailer.enabled():
        after_commit(db, lambda: mailer.send_notification(db, nid))
    return nid


def _load(r: dict) -> dict:
    r["params"] = json.loads(r["params"] or "{}")
    r["kind_label"] = KINDS.get(r["kind"], r["kind"])
    return r


def inbox(db: Database, user_id: int, unread_only: bool = False, limit: int = 200) -> list[dict]:
    """``user_id``'s notifications, newest first."""
    where = " AND read_at IS NULL" if unread_only else ""
    return [_load(r) for r in rows(db, f"""SELECT * FROM notifications WHERE user_id = ?{where}
                                           ORDER BY created_at DESC, id DESC LIMIT ?""", (int(user_id), int(limit)))]


def unread_count(db: Database, user_id: int) -> int:
    return one(db, "SELECT COUNT(*) AS n FROM notifications WHERE user_id = ? AND read_at IS NULL",
               (int(user_id),))["n"]


def mark_read(db: Database, user_id: int, notification_id: int) -> bool:
    """Mark one of ``user_id``'s own notifications read; another person's is left alone (False)."""
    with transaction(db):
        cur = db.conn.execute("UPDATE notifications SET read_at = ? WHERE id = ? AND user_id = ? AND read_at IS NULL",
                              (now_iso(), int(notification_id), int(user_id)))
    return cur.rowcount == 1


def mark_all_read(db: Database, user_id: int) -> int:
    """Mark every unread notification of ``user_id`` read; returns how many."""
    with transaction(db):
        cur = db.conn.execute("UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL",
                              (now_iso(), int(user_id)))
    return cur.rowcount


def recent_unread(db: Database, user_id: int, kinds: tuple[str, ...]) -> list[dict]:
    """Unread notifications of ``kinds``: what is new for the person since they last looked."""
    marks = ",".join("?" for _ in kinds)
    return [_load(r) for r in rows(db, f"""SELECT * FROM notifications WHERE user_id = ? AND read_at IS NULL
                                           AND kind IN ({marks}) ORDER BY created_at DESC, id DESC""",
                                   (int(user_id), *kinds))]
