"""Session plumbing shared by every page: the store, the content library, the signed-in user."""

from __future__ import annotations

import json
import time
from pathlib import Path

import streamlit as st

from .. import auth, auth_sessions, web
from ..access import pages_for
from ..config import get_settings
from ..content import Library, load_library
from ..fidelity.recordings import clean_partial_uploads
from ..store import open_store
from .text import plain


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


_CONTENT_CHECK_S = 1.0
_fingerprints: dict[Path, tuple[float, tuple]] = {}


def _content_fingerprint(content_dir: Path) -> tuple:
    """Every content file with its modification time, looked at again at most once a second:
    a look is a directory walk and a file-system call per file, each giving up the GIL to
    other sessions' threads, and a page run asks once or more (issue 16)."""
    now = time.monotonic()
    checked = _fingerprints.get(content_dir)
    if checked is not None and now - checked[0] < _CONTENT_CHECK_S:
        return checked[1]
    stamps = _content_stamps(content_dir)
    _fingerprints[content_dir] = (now, stamps)
    return stamps


def _content_stamps(content_dir: Path) -> tuple:
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


SESSION_KEY = "auth_session_id"
XSRF_COOKIE = "_streamlit_xsrf"


def _cookie(name: str) -> str | None:
    try:
        value = st.context.cookies.get(name)
    except Exception:  # no browser behind this run (AppTest)
        return None
    return value if isinstance(value, str) else None


def current_user() -> auth.User | None:
    """The person signed in, checked against the server-side session on every rerun.

    The session is the one this tab signed in with (its id in ``st.session_state``, which
    only server code writes), else the one the browser's HttpOnly cookie names; either must
    be live (not ended, idle or past its lifetime, account unchanged and active).
    """
    db, settings = get_db(), get_settings()
    sid = st.session_state.get(SESSION_KEY)
    signed = auth_sessions.check(db, settings, session_id=sid) if sid is not None else None
    if signed is None:
        token = _cookie(auth_sessions.COOKIE_NAME)
        signed = auth_sessions.check(db, settings, token=token) if token else None
    if signed is None:
        if sid is not None or "user_id" in st.session_state:
            _forget_everything()  # the sign-in ended elsewhere: nothing of it stays in this tab
        return None
    st.session_state[SESSION_KEY] = signed.session_id
    st.session_state["user_id"] = signed.user.id
    return signed.user


def still_signed_in(user: auth.User) -> bool:
    """For a widget's save callback: Streamlit runs it before the page's script, so before the
    router's sign-in check. A sign-in that ended, went idle or was revoked meanwhile (or a tab
    now signed in as someone else) writes nothing; the run that follows shows the sign-in page."""
    signed = current_user()
    return signed is not None and signed.id == user.id


def _forget_everything() -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]


REDIRECT_KEY = "_redirect_to"
DEMO_LOADED = "_demo_loaded"  # set by the first-run screen, read once by the sign-in page


def follow_redirect() -> None:
    """Send the browser to one of the app's own routes when a sign-in or sign-out asked for it
    (a script cannot answer with a redirect); a button serves a browser that runs no script.
    The router calls this first, so nothing else is drawn on the way."""
    relative_url = st.session_state.pop(REDIRECT_KEY, None)
    if not relative_url:
        return
    url = f"{web.app_root(st.context.url)}/{relative_url}"
    target = json.dumps(url).replace("<", "\\u003c")
    st.html(f"<script>window.location.replace({target});</script>", unsafe_allow_javascript=True)
    st.link_button("Continue", url, type="primary")
    st.stop()


def start_session(user: auth.User, next_page: str = "") -> None:
    """After a password or institutional check succeeded: open the server-side session, then
    send the browser to ``/auth/session`` for its HttpOnly cookie and on to ``next_page``."""
    db, settings = get_db(), get_settings()
    sid = auth_sessions.begin(db, user.id, settings)
    st.session_state[SESSION_KEY] = sid
    st.session_state["user_id"] = user.id
    if web.ROUTES_INSTALLED and st.context.url:
        code = auth_sessions.create_handoff(db, sid, safe_next_page(next_page, user.roles),
                                            auth_sessions.browser_binding(_cookie(XSRF_COOKIE)))
        st.session_state[REDIRECT_KEY] = f"auth/session?code={code}"
    st.rerun()


def keep_sign_in_after_own_change() -> None:
    """After a person changed their own password here: this sign-in stays, all others end."""
    sid = st.session_state.get(SESSION_KEY)
    if sid is not None:
        auth_sessions.keep_after_own_change(get_db(), sid)


def safe_next_page(url_path: str | None, roles) -> str:
    """The URL path of a page ``roles`` may use, or "" (home): never another site, never a
    page the person would only be told is not theirs."""
    known = {p.url_path for p in pages_for(roles)}
    return url_path if url_path in known else ""


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
    """End this sign-in on the server (every tab sharing it follows on its next rerun), forget
    this tab's state, and have the browser drop the dead cookie."""
    sid = st.session_state.get(SESSION_KEY)
    if sid is not None:
        auth_sessions.end(get_db(), sid, "sign_out")
    _forget_everything()
    try:
        institutional = st.user.is_logged_in
    except Exception:  # no [auth] configured
        institutional = False
    if institutional:  # else the OIDC cookie would sign the person straight back in
        st.logout()
    elif web.ROUTES_INSTALLED and st.context.url:
        st.session_state[REDIRECT_KEY] = "auth/signed_out"


def chart_with_table(chart, table, summary: str, key: str) -> None:
    """A chart with its text alternative (WCAG 1.1.1, issue 17): the summary sentence under it
    (and as the chart's accessible description) and its data as a table one click away. ``chart``:
    an Altair chart or a Vega-Lite spec (a dict)."""
    if isinstance(chart, dict):  # a Vega-Lite spec (see :mod:`.charts`)
        st.vega_lite_chart(spec={**chart, "description": summary}, width="stretch")
    else:
        st.altair_chart(chart.properties(description=summary), width="stretch")
    st.caption(summary)
    with st.expander("The chart's data as a table"):
        st.dataframe(table, hide_index=True, width="stretch", key=key)


def fmt_date(iso: str | None) -> str:
    return (iso or "")[:10]


def user_error(exc: Exception) -> None:
    """Show a user-fixable error as a sentence, never a traceback."""
    st.error(plain(str(exc)))
