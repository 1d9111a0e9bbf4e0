"""The source a player uses for a recording: a per-viewer link that expires, never the bytes.

The rating workspace plays it in a small custom component (``player_component/``: plain HTML and
JavaScript, no build step, no network but the app's own link) that adds playback speed, a
transcript that follows playback, and "Mark this moment", which returns the playback time.

The recording's bytes never pass through ``st.audio(bytes)`` (which would publish them under
Streamlit's ``/media/<hash>`` URL, fetchable by anyone without a cookie, issue 15 item 1):
the player gets ``/recording/<token>`` (:mod:`ipt_training.fidelity.links`), served by
:mod:`ipt_training.web` to this viewer's live sign-in only. The link is kept across reruns
(a new URL would restart the player) and replaced once it would die within a minute.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import streamlit as st
import streamlit.components.v1 as components

from .. import fidelity, web
from ..fidelity import links as recording_links
from ..auth import User
from ..config import Settings
from .common import SESSION_KEY

_LINKS = "_recording_links"
# served by Streamlit from this folder at /component/<name>/index.html (same origin as the app)
_PLAYER = components.declare_component("rating_player", path=str(Path(__file__).parent / "player_component"))


NO_ROUTE = ("Recordings play only when the server was started with `streamlit run app.py`; "
            "ask the person who runs it.")


def session_player(db, settings: Settings, user: User, session: dict, *, key: str,
                   seek: Optional[dict] = None, can_mark: bool = False) -> Optional[dict]:
    """The player with speed control, the transcript that follows playback (a line chosen
    plays from there) and, when ``can_mark``, "Mark this moment" with keyboard shortcuts.

    ``seek`` ({t, n}) moves playback to ``t`` seconds once per new ``n``. Returns the player's
    last event, ``{"kind": "mark", "t": seconds, "nonce": str}``, or None; the same event comes
    back on every rerun until the next one, so the caller acts once per nonce.
    """
    url, media_type, error = recording_source(db, settings, user, session["id"])
    if error == NO_ROUTE:
        st.warning(error)
    elif error:
        st.error(error)
    cues = [{"start_s": float(c["start_s"]), "end_s": float(c["end_s"]), "speaker": c.get("speaker") or "",
             "text": c["text"]} for c in session.get("cues") or []]
    return _PLAYER(url=url, media_type=media_type, cues=cues, seek=seek, can_mark=bool(can_mark and url),
                   message=error, key=key, default=None)


def recording_source(db, settings: Settings, user: User, session_id: int) -> tuple[Optional[str], str, Optional[str]]:
    """``(url, media type, None)`` for the player, or ``(None, "", sentence)`` when it cannot play.
    Access and deletion are checked on every run; the route checks them again on every fetch."""
    try:
        current = fidelity.get_session(db, user, session_id)
    except fidelity.FidelityError as exc:
        return None, "", str(exc)
    if not current["has_recording"]:
        return None, "", "An administrator deleted this recording; its ratings stay readable."
    auth_session_id = st.session_state.get(SESSION_KEY)
    root = _app_root()
    if not web.ROUTES_INSTALLED or not root or auth_session_id is None:
        return None, "", NO_ROUTE
    key = recording_links.link_key(settings.data_dir)
    links = st.session_state.setdefault(_LINKS, {})
    token = links.get((auth_session_id, session_id))
    link = recording_links.read(key, token) if token else None
    if link is None or not recording_links.ACTIVITY.alive(link, settings.recording_link_minutes, now=time.time() + 60):
        token = recording_links.issue(key, user.id, auth_session_id, session_id, settings.recording_link_minutes)
        links[(auth_session_id, session_id)] = token
    return f"{root}/recording/{token}", current.get("media_type") or "audio/mpeg", None


def _app_root() -> str:
    """The app's root URL as this browser sees it ("" without a browser, as under AppTest)."""
    return web.app_root(st.context.url)
