"""Reminders to holders whose credential is about to expire, written to their inbox (issue 17)."""

from __future__ import annotations

import datetime as _dt

from sqlite_utils import Database

from ..content import Library
from ..notifications import notify
from ..store import rows, transaction
from .review import renewal_reminders


def expiring_text(reminder: dict) -> str:
    """The inbox line of one :func:`renewal_reminders` row, to its holder."""
    if reminder["days_left"] < 0:
        return f"Your {reminder['standard']} credential expired on {reminder['expires_on']}; renew it to hold it again."
    return f"Your {reminder['standard']} credential is valid until {reminder['expires_on']}; it is time to renew it."


def notify_expiring(db: Database, library: Library, today: _dt.date, within_days: int = 90,
                    user_id: int | None = None) -> int:
    """Remind each holder of a credential that expires within ``within_days`` of ``today`` (or
    has expired). Each award is reminded once when it comes due and once when it has expired,
    however often this runs. ``user_id``: only that person. Returns how many were written now."""
    only = " AND user_id = ?" if user_id is not None else ""
    sent = {(n["user_id"], n["dedupe_key"]) for n in rows(
        db, f"SELECT user_id, dedupe_key FROM notifications WHERE kind = 'credential_expiring'{only}",
        (int(user_id),) if user_id is not None else ())}
    due = [(r, _key(r)) for r in renewal_reminders(db, library, today, within_days, user_id=user_id)]
    due = [(r, key) for r, key in due if (r["trainee_id"], key) not in sent]
    if not due:  # the usual case on a home visit: no write lock taken
        return 0
    made = 0
    with transaction(db):
        for r, key in due:
            if notify(db, r["trainee_id"], "credential_expiring", expiring_text(r), "my_readiness.py",
                      {"mr_standard": r["standard_id"]}, dedupe_key=key):
                made += 1
    return made


def _key(reminder: dict) -> str:
    """One reminder per award when it comes due, and one more once it has expired."""
    return f"expiring:{reminder['decision_id']}:{'expired' if reminder['days_left'] < 0 else 'due'}"
