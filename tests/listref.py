"""Whole-list references for the SQL lists (issue 16): the filters the pages applied in Python
before the lists were searched, ordered and cut in SQL. Tests compare the SQL lists with them."""

from __future__ import annotations

from typing import Optional

from ipt_training.finding import in_date_range, text_matches


def filter_users(users: list[dict], text: str = "", role: Optional[str] = None,
                 active: Optional[bool] = None) -> list[dict]:
    """The rows of :func:`auth.list_users` whose sign-in name, full name or e-mail hold every word of
    ``text`` (ignoring case, :func:`finding.text_matches`), who hold ``role``, and whose account
    is active (``True``) or deactivated (``False``); ``None`` keeps all."""
    return [u for u in users
            if text_matches(text, u["username"], u["display_name"], u["email"])
            and (role is None or role in (u["roles"] or "").split(", "))
            and (active is None or bool(u["active"]) == active)]


def filter_recordings(sessions: list[dict], text: str = "", since=None, until=None, gold: Optional[bool] = None,
                      deleted: Optional[bool] = None) -> list[dict]:
    """The rows of :func:`fidelity.all_sessions_admin` (newest first) whose therapist, label,
    file name or number hold every word of ``text`` (ignoring case), added on a day from
    ``since`` to ``until`` (both included), gold standard or not, deleted or not (``None``: any)."""
    return [s for s in sessions
            if text_matches(text, s["trainee"], s["label"], s["original_name"], f"#{s['id']}")
            and in_date_range(s["created_at"], since, until)
            and (gold is None or bool(s["is_gold_standard"]) == gold)
            and (deleted is None or bool(s["deleted_at"]) == deleted)]
