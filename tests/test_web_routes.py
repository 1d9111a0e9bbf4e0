"""The app's own HTTP routes against the real server (`streamlit run app.py`): the session
cookie's flags and handoff, and recordings served only to who may hear them, with Range and
an audit entry per fetch (issue 15 items 1, 8, 19; issue 17)."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace

import pytest
import requests

from appserver import StreamlitServer
from ipt_training import auth, auth_sessions
from ipt_training.fidelity import links as recording_links
from ipt_training.config import get_settings
from ipt_training.store import open_store


@pytest.fixture(scope="module")
def site(tmp_path_factory, demo_template):
    """One server on a copy of the demo data for the module, and the test's own connection."""
    data = tmp_path_factory.mktemp("web") / "data"
    data.mkdir()
    shutil.copy(demo_template, data / "app.db")
    src = demo_template.parent / "data"
    if src.exists():
        shutil.copytree(src, data, dirs_exist_ok=True)
    server = StreamlitServer(data).start()
    db = open_store(data / "app.db")
    settings = replace(get_settings(), data_dir=data, db_path=data / "app.db")
    yield server, db, settings
    db.conn.close()
    server.kill()


def _uid(db, username: str) -> int:
    return db.conn.execute("SELECT id FROM users WHERE username = ?", (username,)).fetchone()[0]


def _recording_of(db, username: str) -> tuple[int, bytes]:
    sid, name = db.conn.execute(
        """SELECT s.id, s.recording_file FROM recorded_sessions s JOIN users u ON u.id = s.trainee_id
           WHERE u.username = ? AND s.deleted_at IS NULL AND s.is_gold_standard = 0 ORDER BY s.id LIMIT 1""",
        (username,)).fetchone()
    return sid, name


def _cookie_for(site, user_id: int, binding=None, cookies=None, headers=None) -> tuple[int, requests.Response]:
    """Sign ``user_id`` in as the sign-in page does: a session, a handoff code, the route."""
    server, db, settings = site
    sid = auth_sessions.begin(db, user_id, settings)
    code = auth_sessions.create_handoff(db, sid, "rating_workspace", binding)
    response = requests.get(f"{server.url}/auth/session", params={"code": code}, cookies=cookies or {},
                            headers=headers or {}, allow_redirects=False, timeout=20)
    return sid, response


def _fetch(site, token: str, cookie: str | None, **headers) -> requests.Response:
    server, _, _ = site
    cookies = {auth_sessions.COOKIE_NAME: cookie} if cookie else {}
    return requests.get(f"{server.url}/recording/{token}", cookies=cookies, headers=headers,
                        allow_redirects=False, timeout=20)


def _audit_count(db, action: str, session_id: int) -> int:
    return db.conn.execute("SELECT COUNT(*) FROM audit_log WHERE action = ? AND object_id = ?",
                           (action, str(session_id))).fetchone()[0]


def _no_audio(response: requests.Response, audio: bytes) -> bool:
    return response.status_code in (401, 403, 404) and audio[:64] not in response.content \
        and not response.headers.get("content-type", "").startswith(("audio/", "video/"))


def test_sign_in_cookie_is_httponly_strict_and_lands_on_the_asked_page(site):
    server, db, _ = site
    _, r = _cookie_for(site, _uid(db, "rater"))
    assert r.status_code == 303 and r.headers["location"] == "/rating_workspace"
    set_cookie = r.headers["set-cookie"]
    assert set_cookie.startswith(f"{auth_sessions.COOKIE_NAME}=")
    flags = {part.strip().split("=")[0].lower() for part in set_cookie.split(";")[1:]}
    assert {"httponly", "samesite", "path", "max-age"} <= flags
    assert "samesite=strict" in set_cookie.lower()
    assert "secure" not in flags  # plain http on 127.0.0.1
    assert "no-store" in r.headers["cache-control"]


def test_cookie_is_secure_behind_a_tls_proxy(site):
    # uvicorn trusts X-Forwarded-Proto from 127.0.0.1 (FORWARDED_ALLOW_IPS), as from a local proxy
    server, db, _ = site
    _, r = _cookie_for(site, _uid(db, "rater"), headers={"X-Forwarded-Proto": "https"})
    flags = {part.strip().lower() for part in r.headers["set-cookie"].split(";")[1:]}
    assert "secure" in flags


def test_a_code_works_once_and_only_from_this_site_and_this_browser(site):
    server, db, settings = site
    uid = _uid(db, "rater")
    sid = auth_sessions.begin(db, uid, settings)
    code = auth_sessions.create_handoff(db, sid, "", None)
    cross = requests.get(f"{server.url}/auth/session", params={"code": code}, headers={"Sec-Fetch-Site": "cross-site"},
                         allow_redirects=False, timeout=20)
    assert cross.status_code == 403 and "set-cookie" not in cross.headers
    # the refused attempt did not use the code up; its first real use does
    first = requests.get(f"{server.url}/auth/session", params={"code": code}, allow_redirects=False, timeout=20)
    again = requests.get(f"{server.url}/auth/session", params={"code": code}, allow_redirects=False, timeout=20)
    assert "set-cookie" in first.headers and "set-cookie" not in again.headers
    # a code made in one browser (bound to its XSRF secret) sets no cookie in another
    xsrf = "2|01020304|" + bytes(b ^ m for b, m in zip(b"browser-secret-1", b"\x01\x02\x03\x04" * 4)).hex() + "|0"
    _, other = _cookie_for(site, uid, binding=auth_sessions.browser_binding(xsrf))
    assert other.status_code == 303 and "set-cookie" not in other.headers
    _, same = _cookie_for(site, uid, binding=auth_sessions.browser_binding(xsrf), cookies={"_streamlit_xsrf": xsrf})
    assert "set-cookie" in same.headers


def test_recording_is_served_to_its_viewer_with_range_and_each_fetch_audited(site):
    server, db, settings = site
    uid = _uid(db, "trainee")
    rec_id, name = _recording_of(db, "trainee")
    audio = (settings.recordings_dir / name).read_bytes()
    sid, r = _cookie_for(site, uid)
    cookie = r.cookies[auth_sessions.COOKIE_NAME]
    token = recording_links.issue(recording_links.link_key(settings.data_dir), uid, sid, rec_id, 10)
    before = _audit_count(db, "fetch_recording", rec_id)
    whole = _fetch(site, token, cookie)
    assert whole.status_code == 200 and whole.content == audio
    assert whole.headers["content-type"].startswith("audio/")
    assert "no-store" in whole.headers["cache-control"]
    part = _fetch(site, token, cookie, Range="bytes=100-199")
    assert part.status_code == 206 and part.content == audio[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(audio)}"
    tail = _fetch(site, token, cookie, Range=f"bytes={len(audio) - 10}-")
    assert tail.status_code == 206 and tail.content == audio[-10:]
    assert _audit_count(db, "fetch_recording", rec_id) == before + 3
    actor, detail = db.conn.execute("SELECT actor_id, detail FROM audit_log WHERE action = 'fetch_recording' "
                                    "ORDER BY id DESC LIMIT 1").fetchone()
    assert actor == uid and f"bytes={len(audio) - 10}-" in detail


def test_no_audio_without_the_cookie_or_with_another_persons(site):
    server, db, settings = site
    uid = _uid(db, "trainee")
    rec_id, name = _recording_of(db, "trainee")
    audio = (settings.recordings_dir / name).read_bytes()
    sid, _ = _cookie_for(site, uid)
    token = recording_links.issue(recording_links.link_key(settings.data_dir), uid, sid, rec_id, 10)
    assert _fetch(site, token, None).status_code == 401 and _no_audio(_fetch(site, token, None), audio)
    # the link leaked to another signed-in person (here: an admin, who may hear every recording)
    _, admin_r = _cookie_for(site, _uid(db, "admin"))
    assert _no_audio(_fetch(site, token, admin_r.cookies[auth_sessions.COOKIE_NAME]), audio)
    assert _no_audio(_fetch(site, token, "made-up-cookie"), audio)
    assert _audit_count(db, "recording_refused", rec_id) >= 3


def test_no_audio_after_sign_out(site):
    server, db, settings = site
    uid = _uid(db, "trainee")
    rec_id, name = _recording_of(db, "trainee")
    audio = (settings.recordings_dir / name).read_bytes()
    sid, r = _cookie_for(site, uid)
    cookie = r.cookies[auth_sessions.COOKIE_NAME]
    token = recording_links.issue(recording_links.link_key(settings.data_dir), uid, sid, rec_id, 10)
    assert _fetch(site, token, cookie).status_code == 200
    auth_sessions.end(db, sid, "sign_out")
    assert _no_audio(_fetch(site, token, cookie), audio)


def test_no_audio_after_deactivation(site):
    server, db, settings = site
    admin_id = _uid(db, "admin")
    listener = auth.create_user(db, "auditor.x", "auditor-pass-1", ["admin"], actor_id=admin_id)
    rec_id, name = _recording_of(db, "trainee.ready")
    audio = (settings.recordings_dir / name).read_bytes()
    sid, r = _cookie_for(site, listener.id)
    cookie = r.cookies[auth_sessions.COOKIE_NAME]
    token = recording_links.issue(recording_links.link_key(settings.data_dir), listener.id, sid, rec_id, 10)
    assert _fetch(site, token, cookie).status_code == 200
    auth.set_active(db, listener.id, False, admin_id)
    assert _no_audio(_fetch(site, token, cookie), audio)


def test_no_audio_after_expiry_or_from_a_changed_link(site):
    server, db, settings = site
    uid = _uid(db, "trainee")
    rec_id, name = _recording_of(db, "trainee")
    audio = (settings.recordings_dir / name).read_bytes()
    sid, r = _cookie_for(site, uid)
    cookie = r.cookies[auth_sessions.COOKIE_NAME]
    key = recording_links.link_key(settings.data_dir)
    expired = recording_links.issue(key, uid, sid, rec_id, 10, now=time.time() - 11 * 60)
    assert _no_audio(_fetch(site, expired, cookie), audio)
    good = recording_links.issue(key, uid, sid, rec_id, 10)
    payload, sig = good.rsplit(".", 1)
    fields = payload.split(".")
    fields[3] = str(_recording_of(db, "trainee.ready")[0])  # someone else's recording
    assert _fetch(site, ".".join(fields) + "." + sig, cookie).status_code == 404


def test_no_audio_of_a_session_the_viewer_may_not_hear(site):
    # a link the server would never issue (signed here with its key): the access rule still holds
    server, db, settings = site
    uid = _uid(db, "trainee")
    rec_id, name = _recording_of(db, "trainee.ready")
    audio = (settings.recordings_dir / name).read_bytes()
    sid, r = _cookie_for(site, uid)
    token = recording_links.issue(recording_links.link_key(settings.data_dir), uid, sid, rec_id, 10)
    assert _no_audio(_fetch(site, token, r.cookies[auth_sessions.COOKIE_NAME]), audio)


def test_signed_out_route_clears_only_a_dead_cookie(site):
    server, db, _ = site
    sid, r = _cookie_for(site, _uid(db, "rater"))
    cookie = {auth_sessions.COOKIE_NAME: r.cookies[auth_sessions.COOKIE_NAME]}
    live = requests.get(f"{server.url}/auth/signed_out", cookies=cookie, allow_redirects=False, timeout=20)
    assert live.status_code == 303 and "set-cookie" not in live.headers  # a planted link signs no one out
    assert auth_sessions.check(db, site[2], session_id=sid) is not None
    auth_sessions.end(db, sid, "sign_out")
    dead = requests.get(f"{server.url}/auth/signed_out", cookies=cookie, allow_redirects=False, timeout=20)
    assert dead.headers["set-cookie"].startswith(f'{auth_sessions.COOKIE_NAME}=""') and "max-age=0" in dead.headers["set-cookie"].lower()


def test_pages_and_routes_carry_the_security_headers(site):
    # app.py wraps Streamlit's routes and the app's own in the header middleware
    server, _, _ = site
    for path in ("/", "/auth/signed_out", "/recording/not-a-token"):
        r = requests.get(server.url + path, allow_redirects=False, timeout=20)
        assert r.headers.get("x-frame-options") == "SAMEORIGIN", path
        assert "frame-ancestors 'self'" in r.headers.get("content-security-policy", ""), path
        assert r.headers.get("x-content-type-options") == "nosniff", path
