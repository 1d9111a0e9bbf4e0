"""Session plumbing shared by every page: the store, the content library, the signed-in user."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from .. import auth
from ..config import get_settings
from ..content import Library, load_library
from ..fidelity.recordings import clean_partial_uploads
from ..store import open_store


@st.cache_resource(scope="session", show_spinner=False)
def _db_for_session(db_path: str):
    # one connection per browser session (DESIGN.md: Store)
    return open_store(db_path)


@st.cache_resource(show_spinner=False)
def _cleaned_at_start(data_dir: str) -> int:
    # once per server process: half-written uploads of a crash go (issue 15, finding 16)
    return clean_partial_uploads(get_settings())


def get_db():
    """This browser session's connection, opened and migrated on first use."""
    settings = get_settings()
    _cleaned_at_start(str(settings.data_dir))
    return _db_for_session(str(settings.db_path))


def _content_fingerprint(content_dir: Path) -> tuple:
    stamps = []
    for folder in ("vignettes", "rubrics", "training"):
        base = content_dir / folder
        if base.is_dir():
            stamps.extend((str(p), p.stat().st_mtime_ns) for p in sorted(base.rglob("*.y*ml")))
    return tuple(stamps)


@st.cache_resource(show_spinner=False)
def _library(content_dir: str, fingerprint: tuple) -> Library:
    return load_library(Path(content_dir))


def get_library() -> Library:
    """The validated content; reloaded when a YAML file changes."""
    content_dir = get_settings().content_dir
    return _library(str(content_dir), _content_fingerprint(content_dir))


def current_user() -> auth.User | None:
    uid = st.session_state.get("user_id")
    if uid is None:
        return None
    user = auth.get_user(get_db(), uid)
    if user is None or not user.active:
        st.session_state.pop("user_id", None)
        return None
    return user


def require_user(*roles: str) -> auth.User:
    """The signed-in user; stops the page if they lack every one of ``roles``."""
    user = current_user()
    if user is None:
        st.warning("Please sign in first.")
        st.stop()
    if roles and not user.has(*roles):
        st.error("This page is not available for your role.")
        st.stop()
    return user


def sign_out() -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    try:
        institutional = st.user.is_logged_in
    except Exception:  # no [auth] configured
        institutional = False
    if institutional:  # else the OIDC cookie would sign the person straight back in
        st.logout()


def fmt_date(iso: str | None) -> str:
    return (iso or "")[:10]


def user_error(exc: Exception) -> None:
    """Show a user-fixable error as a sentence, never a traceback."""
    st.error(str(exc))
