"""The app's own HTTP routes, served by Streamlit's server beside the app (issues 15 and 17).

Streamlit (1.5x and later) serves apps with Starlette under uvicorn, and ``st.App`` lets an
app add Starlette routes and middleware ahead of Streamlit's own; ``app.py`` builds that
``st.App`` around ``streamlit_app.py`` with the routes below, and ``streamlit run app.py``
detects it. A script run cannot set an HttpOnly cookie or answer a plain HTTP request, so
these routes do both:

``GET /auth/session?code=``  redeem a one-time sign-in code, set the session cookie, redirect
                             to the page that was asked for
``GET /auth/signed_out``     clear the cookie once its session has ended (sign-out)
``GET /recording/<token>``   one recording for one signed-in viewer, with Range support,
                             every fetch audited

This module sits beside ``ui/``: it imports the domain and the foundations, and nothing but
``app.py`` and the router import it. Every refusal is a short sentence with a 4xx status.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from typing import Iterator, Optional
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from . import auth_sessions
from .fidelity import FidelityError, recording_file
from .fidelity import links as recording_links
from .config import Settings, get_settings
from .store import audit, connect, transaction

XSRF_COOKIE = "_streamlit_xsrf"
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}

# True once app.py has built the app with these routes in this process. Without them (a plain
# `streamlit run streamlit_app.py`) a sign-in lasts one tab, recordings do not play, and the
# sidebar says so.
ROUTES_INSTALLED = False
BASE_PATH = ""


def base_path() -> str:
    """Streamlit's ``server.baseUrlPath`` as ``/prefix`` (or empty), as ``app.py`` gave it."""
    return BASE_PATH


@contextmanager
def _db(settings: Settings) -> Iterator:
    # one short-lived connection per request: routes run on Starlette's thread pool
    db = connect(settings.db_path)
    try:
        yield db
    finally:
        db.conn.close()


def _text(status: int, sentence: str) -> Response:
    return PlainTextResponse(sentence, status_code=status, headers=NO_STORE)


def cookie_is_secure(settings: Settings, request: Request) -> bool:
    """``Secure`` when configured so, or when the request came over https (uvicorn takes the
    scheme from ``X-Forwarded-Proto`` only from the proxies in ``FORWARDED_ALLOW_IPS``)."""
    return settings.secure_cookie == "always" or request.url.scheme == "https"


def _same_origin_navigation(request: Request) -> bool:
    # Browsers say where a navigation came from; a sign-in link planted on another site is refused.
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


def session_route(request: Request) -> Response:
    settings = get_settings()
    base = base_path()
    if not _same_origin_navigation(request):
        return _text(403, "Sign in from the platform's own sign-in page.")
    binding = auth_sessions.browser_binding(request.cookies.get(XSRF_COOKIE))
    with _db(settings) as db:
        redeemed = auth_sessions.redeem_handoff(db, settings, request.query_params.get("code", ""), binding)
        if redeemed is None:
            return RedirectResponse(f"{base}/", status_code=303, headers=NO_STORE)
        token, next_path = redeemed
        old = request.cookies.get(auth_sessions.COOKIE_NAME)
        if old:  # a new sign-in in this browser replaces the one its cookie held
            previous = auth_sessions.check(db, settings, token=old)
            if previous is not None:
                auth_sessions.end(db, previous.session_id, "replaced")
    response = RedirectResponse(f"{base}/{next_path}", status_code=303, headers=NO_STORE)
    response.set_cookie(
        auth_sessions.COOKIE_NAME, token, max_age=int(timedelta(hours=settings.session_max_hours).total_seconds()),
        path=f"{base}/", secure=cookie_is_secure(settings, request), httponly=True, samesite="strict",
    )
    return response


def end_route(request: Request) -> Response:
    """Clear the cookie when its session is over. A live session is left alone, so a link to
    this route planted elsewhere cannot sign anyone out; signing out ends the session first."""
    settings = get_settings()
    base = base_path()
    response = RedirectResponse(f"{base}/", status_code=303, headers=NO_STORE)
    token = request.cookies.get(auth_sessions.COOKIE_NAME)
    if token:
        with _db(settings) as db:
            live = auth_sessions.check(db, settings, token=token) is not None
        if not live:
            response.delete_cookie(auth_sessions.COOKIE_NAME, path=f"{base}/", secure=cookie_is_secure(settings, request),
                                   httponly=True, samesite="strict")
    return response


def _refuse(db, link: recording_links.Link, reason: str, status: int, sentence: str) -> Response:
    with transaction(db):
        audit(db, None, "recording_refused", "recorded_session", link.recorded_session_id,
              {"link_user": link.user_id, "reason": reason})
    return _text(status, sentence)


def recording_route(request: Request) -> Response:
    settings = get_settings()
    key = recording_links.link_key(settings.data_dir)
    link = recording_links.read(key, request.path_params["token"])
    if link is None:
        return _text(404, "No such recording link.")
    cookie = request.cookies.get(auth_sessions.COOKIE_NAME)
    with _db(settings) as db:
        if not cookie:
            return _refuse(db, link, "no session cookie", 401, "Sign in to listen to this recording.")
        signed = auth_sessions.check(db, settings, token=cookie)
        if signed is None or signed.session_id != link.auth_session_id or signed.user.id != link.user_id:
            return _refuse(db, link, "not the session the link was issued to", 403,
                           "This link belongs to another sign-in; open the recording from the platform again.")
        if not recording_links.ACTIVITY.alive(link, settings.recording_link_minutes):
            return _refuse(db, link, "expired", 403, "This link has expired; open the recording from the platform again.")
        try:
            path, media_type, sha256 = recording_file(db, settings, signed.user, link.recorded_session_id)
        except FidelityError as exc:
            return _refuse(db, link, str(exc), 403, str(exc))
        with transaction(db):
            audit(db, signed.user.id, "fetch_recording", "recorded_session", link.recorded_session_id,
                  {"sha256": sha256, "range": request.headers.get("range", ""), "link": link.nonce})
    recording_links.ACTIVITY.fetched(link)
    return FileResponse(path, media_type=media_type, headers={**NO_STORE, "Cache-Control": "private, no-store"})


def routes(base_url_path: str = "") -> list[BaseRoute]:
    """The routes ``app.py`` hands to ``st.App``, under Streamlit's ``server.baseUrlPath``;
    marks them installed for the router."""
    global ROUTES_INSTALLED, BASE_PATH
    base = f"/{base_url_path.strip('/')}" if base_url_path.strip("/") else ""
    BASE_PATH, ROUTES_INSTALLED = base, True
    return [
        Route(f"{base}/auth/session", session_route, methods=["GET"]),
        Route(f"{base}/auth/signed_out", end_route, methods=["GET"]),
        Route(f"{base}/recording/{{token}}", recording_route, methods=["GET", "HEAD"]),
    ]


def app_root(browser_url: Optional[str]) -> str:
    """The app's root as the browser sees it (scheme, host, base path), from any of its URLs
    (``st.context.url``), so a route is addressed the same from every page."""
    parts = urlsplit(browser_url or "")
    return f"{parts.scheme}://{parts.netloc}{base_path()}" if parts.scheme and parts.netloc else ""
