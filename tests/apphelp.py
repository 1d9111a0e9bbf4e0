"""AppTest helpers: run the real router as a given user, on a given page."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "streamlit_app.py")


def sign_in_state(at: AppTest, user_id: int) -> None:
    """Sign ``user_id`` in as the sign-in page does: a live server-side session for this run's
    browser session (the router checks it on every rerun; a bare user id is not a sign-in)."""
    from ipt_training import auth_sessions
    from ipt_training.config import get_settings
    from ipt_training.store import open_store

    settings = get_settings()
    db = open_store(settings.db_path)
    try:
        at.session_state["auth_session_id"] = auth_sessions.begin(db, user_id, settings)
    finally:
        db.conn.close()


def app_as(user_id: int | None, page: str | None = None, timeout: float = 30) -> AppTest:
    """Run the app signed in as ``user_id`` (None: signed out), optionally on a page file."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    if user_id is not None:
        sign_in_state(at, user_id)
    at.run()
    if page:
        at.switch_page(f"ipt_training/app_pages/{page}")
        at.run()
    return at


def shown(markdown: str) -> str:
    """What a reader sees of a Markdown string: the backslash escapes of ``ui.text.plain`` undone."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def texts(at: AppTest) -> str:
    """Everything the page shows as text (markdown, titles, captions, alerts, tables' strings),
    as the reader sees it (Markdown escapes undone)."""
    parts = []
    for kind in ("markdown", "title", "header", "subheader", "caption", "text", "error", "warning", "info", "success", "code", "latex"):
        for el in getattr(at, kind, []):
            parts.append(shown(str(getattr(el, "value", ""))))
    for exp in at.expander:
        parts.append(shown(str(exp.label)))
    for df in at.dataframe:
        parts.append(df.value.to_string())
    for t in at.table:
        parts.append(t.value.to_string())
    return "\n".join(parts)
