"""Security findings of issue 15 about accounts, files, exports and server settings.

Each test reproduces a finding of the hostile review and fails on the code before its fix:
3 (lockout under parallel guesses, sign-in rate limits), 11 (username enumeration),
12 (CSV formula injection), 13 (hostile YAML), 14 (file permissions), 15 (server settings),
18 (password policy, usernames), 20 (institutional sign-in).
"""

from __future__ import annotations

import os
import stat
import sqlite3
import tomllib

import pandas as pd
import pytest

from ipt_training import auth, cli, reports
from ipt_training.store import backup, open_store

from apphelp import ROOT
from apphelp import shown as reader


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --- 14: database, backups and the data directory belong to the server's user only ---------


@pytest.fixture
def open_umask():
    """The usual umask (022), under which the old code made world-readable files."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_new_database_is_0600_in_a_0700_data_directory(tmp_path, open_umask):
    db_path = tmp_path / "data" / "deeper" / "ipt_training.db"
    db = open_store(db_path)
    db.conn.execute("INSERT INTO settings (key, value) VALUES ('k', 'v')")  # a write makes the -wal file
    assert _mode(db_path) == 0o600
    assert (tmp_path / "data" / "deeper").exists()
    assert _mode(tmp_path / "data") == 0o700 and _mode(tmp_path / "data" / "deeper") == 0o700
    for suffix in ("-wal", "-shm"):
        side = db_path.with_name(db_path.name + suffix)
        assert side.exists() and _mode(side) == 0o600, suffix


def test_a_database_made_world_readable_before_is_tightened_on_open(tmp_path, open_umask):
    db_path = tmp_path / "old.db"
    sqlite3.connect(db_path).close()
    assert _mode(db_path) == 0o644  # what the old code left
    open_store(db_path)
    assert _mode(db_path) == 0o600


def test_backups_are_0600_from_the_core_and_the_command_line(tmp_path, open_umask):
    db = open_store(tmp_path / "live.db")
    backup(db, tmp_path / "backups" / "core.db")
    assert _mode(tmp_path / "backups" / "core.db") == 0o600
    assert _mode(tmp_path / "backups") == 0o700
    assert cli.main(["--db", str(tmp_path / "live.db"), "backup", str(tmp_path / "cli.db")]) == 0
    assert _mode(tmp_path / "cli.db") == 0o600
    copy = sqlite3.connect(tmp_path / "cli.db")
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_private_file_folders_are_0700(tmp_path, open_umask):
    from ipt_training.files import store, stored_name_pattern

    folder = tmp_path / "data" / "recordings"
    name = store(folder, b"some bytes", ".ogg", stored_name_pattern([".ogg"]))
    assert _mode(folder) == 0o700 and _mode(tmp_path / "data") == 0o700
    assert _mode(folder / name) == 0o600


def test_readme_says_which_user_runs_the_server():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Security"):]
    assert "0600" in section and "0700" in section
    assert "Run the server as one dedicated, unprivileged system user" in section


# --- 12: CSV formula injection ---------------------------------------------------------------

FORMULAS = ["=HYPERLINK(\"http://127.0.0.1:9999/x\",\"open\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
            "\tx", "\rx", "-x"]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_text_cell_a_spreadsheet_would_run_is_prefixed(text):
    assert reports.neutralise_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["-2.5", "+3", "-1e-3", "plain", "a=b", "", -4, 2.5, None])
def test_numbers_and_plain_text_are_left_alone(value):
    assert reports.neutralise_cell(value) == value


def test_dataframe_to_csv_neutralises_cells_and_headers_but_not_numbers():
    import csv
    import io

    df = pd.DataFrame({"name": FORMULAS + ["Ana"], "=score": [-1.5] * len(FORMULAS) + [2.0]})
    out = list(csv.reader(io.StringIO(reports.dataframe_to_csv(df).decode("utf-8"), newline="")))
    assert out[0] == ["name", "'=score"]
    assert [r[0] for r in out[1:]] == ["'" + t for t in FORMULAS] + ["Ana"]
    assert [float(r[1]) for r in out[1:]] == [-1.5] * len(FORMULAS) + [2.0]


def test_readiness_csv_from_the_command_line_neutralises_a_hostile_name(demo_db_path, capsys):
    db = open_store(demo_db_path)
    auth.create_user(db, "mallory", "a-Quiet-Harbour-41", ["trainee"], display_name="=cmd|' /C calc'!A0")
    db.conn.close()
    assert cli.main(["--db", str(demo_db_path), "readiness", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "'=cmd|' /C calc'!A0" in out
    assert "\n=cmd" not in out and ",=cmd" not in out


def test_every_csv_export_goes_through_the_one_neutralising_function():
    """CSV is written in one place; a second writer would skip the neutralisation."""
    offenders = []
    for path in (ROOT / "ipt_training").rglob("*.py"):
        if path.name == "reports.py":
            continue
        text = path.read_text("utf-8")
        if ".to_csv(" in text or "csv.writer(" in text or "csv.DictWriter(" in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


# --- 15: server address, error details, metrics, framing --------------------------------------


def test_server_config_listens_locally_hides_error_details_and_sends_no_metrics():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert config["client"]["showErrorDetails"] == "none"
    assert config["browser"]["gatherUsageStats"] is False
    assert config["server"]["enableXsrfProtection"] is True


def test_reruns_of_one_session_never_overlap_on_its_connection():
    """Streamlit 1.67's AppSession.request_rerun with runner.fastReruns stops the running script
    (at its next st call) and starts the new run on another thread at once; the two runs then
    share the session's SQLite connection, and the new run's BEGIN IMMEDIATE fails inside the old
    run's transaction (seen as "cannot start a transaction within a transaction" in the rating
    workspace right after sign-in). Without fast reruns the running script takes the rerun itself."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["fastReruns"] is False


def test_an_unexpected_error_is_logged_with_an_id_and_the_page_shows_only_that_id(caplog):
    from streamlit.testing.v1 import AppTest

    def script():
        from ipt_training.ui.errors import run_page

        class Broken:
            url_path = "broken"

            def run(self):
                raise KeyError("secret-detail-42")

        run_page(Broken(), reraise=False)

    with caplog.at_level("ERROR", logger="ipt_training"):
        at = AppTest.from_function(script).run()
    assert not at.exception
    shown = " ".join(e.value for e in at.error)
    assert "secret-detail-42" not in shown and "KeyError" not in shown and "Traceback" not in shown
    logged = [r for r in caplog.records if r.name == "ipt_training"]
    assert len(logged) == 1 and "secret-detail-42" in str(logged[0].exc_info[1])
    error_id = logged[0].args[0]
    assert len(error_id) == 8 and f"error {error_id}" in shown


def test_under_apptest_the_error_still_reaches_the_test():
    from streamlit.testing.v1 import AppTest

    def script():
        from ipt_training.ui.errors import run_page

        class Broken:
            def run(self):
                raise KeyError("seen-by-tests")

        run_page(Broken())

    at = AppTest.from_function(script).run()
    assert at.exception  # Streamlit shows a redacted message there (showErrorDetails = "none")


def test_stop_and_rerun_are_not_errors():
    from streamlit.testing.v1 import AppTest

    def script():
        import streamlit as st

        from ipt_training.ui.errors import run_page

        class Stops:
            def run(self):
                st.write("before stop")
                st.stop()

        run_page(Stops(), reraise=False)
        st.write("after")  # never reached: st.stop ends the run

    at = AppTest.from_function(script).run()
    assert not at.exception and not at.error
    assert [m.value for m in at.markdown] == ["before stop"]


def _asgi_response_headers(inner_headers):
    import asyncio
    import concurrent.futures

    from ipt_training.http_headers import SecurityHeaders

    async def inner(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": inner_headers})
        await send({"type": "http.response.body", "body": b"ok"})

    sent = []

    async def send(message):
        sent.append(message)

    # in a thread of its own: the browser journeys' Playwright keeps an event loop running in
    # this thread for the whole session, and asyncio.run refuses to nest in it
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, SecurityHeaders(inner)({"type": "http", "path": "/"}, None, send)).result()
    return dict(sent[0]["headers"]), sent[1]


def test_every_http_answer_denies_framing_by_other_sites():
    headers, body = _asgi_response_headers([(b"content-type", b"text/html")])
    assert headers[b"content-security-policy"] == b"frame-ancestors 'self'"
    assert headers[b"x-frame-options"] == b"SAMEORIGIN"
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert headers[b"content-type"] == b"text/html" and body["body"] == b"ok"


def test_a_route_with_its_own_policy_keeps_it():
    headers, _ = _asgi_response_headers([(b"Referrer-Policy", b"no-referrer")])
    assert headers[b"Referrer-Policy"] == b"no-referrer" and b"referrer-policy" not in headers


# --- 3: lockout under parallel guesses, rate limits, bounded verification ---------------------

RIGHT = "Quiet-Harbour-Lantern-41"


@pytest.fixture
def ana(tmp_path):
    """An account in a database file that each thread opens on its own connection."""
    path = tmp_path / "app.db"
    user = auth.create_user(open_store(path), "ana", RIGHT, ["trainee"], "Ana Example")
    return path, user


def _default_throttle(**overrides):
    from ipt_training.config import get_settings

    s = get_settings()
    kwargs = dict(per_client=s.sign_in_per_client, overall=s.sign_in_per_minute, concurrency=s.sign_in_concurrency)
    return auth.SignInThrottle(**(kwargs | overrides))


def _guess_in_parallel(path, n, throttle, password="wrong-guess-000"):
    """``n`` browser sessions, each with its own connection, send a guess at the same moment."""
    import threading

    barrier = threading.Barrier(n)
    outcomes = [None] * n

    def guess(i):
        db = open_store(path)
        barrier.wait()
        try:
            auth.sign_in(db, "ana", password, throttle=throttle)
            outcomes[i] = "signed in"
        except auth.AuthError as exc:
            outcomes[i] = str(exc)
        finally:
            db.conn.close()

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_twelve_parallel_wrong_guesses_lock_the_account_and_the_right_password_then_fails(ana):
    path, user = ana
    outcomes = _guess_in_parallel(path, 12, _default_throttle())
    assert outcomes == [auth.SIGN_IN_FAILED] * 12
    db = open_store(path)
    assert db.conn.execute("SELECT locked_until FROM users WHERE id = ?", (user.id,)).fetchone()[0]
    with pytest.raises(auth.AuthError):
        auth.sign_in(db, "ana", RIGHT, throttle=_default_throttle())
    failed = db.conn.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'sign_in_failed'").fetchone()[0]
    assert failed == 13  # every guess is in the audit log, and so is the refused right password


def test_parallel_guesses_get_at_most_five_real_password_checks(ana, monkeypatch):
    """Counting happens before verifying, in the transaction that checks the lock: with 12
    verifications allowed at once, still only 5 guesses are checked against the real hash."""
    path, user = ana
    real_hash = open_store(path).conn.execute("SELECT password_hash FROM users").fetchone()[0]
    checked = []
    original = auth.verify_password
    monkeypatch.setattr(auth, "verify_password", lambda h, p: (checked.append(h == real_hash), original(h, p))[1])
    outcomes = _guess_in_parallel(path, 12, _default_throttle(concurrency=12))
    assert outcomes == [auth.SIGN_IN_FAILED] * 12
    assert len(checked) == 12 and sum(checked) <= auth.MAX_FAILED_SIGN_INS
    with pytest.raises(auth.AuthError):
        auth.sign_in(open_store(path), "ana", RIGHT, throttle=_default_throttle())


def test_a_right_password_in_flight_when_the_lock_falls_is_refused(ana, monkeypatch):
    """A right guess verified while parallel wrong guesses lock the account does not sign in."""
    path, user = ana
    original = auth.verify_password

    def verify_then_others_lock(h, p):
        ok = original(h, p)
        if p == RIGHT:  # while this check ran, the parallel guesses locked the account
            other = open_store(path)
            other.conn.execute("UPDATE users SET locked_until = '2999-01-01T00:00:00+00:00' WHERE id = ?", (user.id,))
            other.conn.close()
        return ok

    monkeypatch.setattr(auth, "verify_password", verify_then_others_lock)
    with pytest.raises(auth.AuthError, match="Sign-in failed"):
        auth.sign_in(open_store(path), "ana", RIGHT, throttle=_default_throttle())


def test_verifications_run_at_most_concurrency_at_a_time(ana, monkeypatch):
    import threading

    path, _ = ana
    running, peak, lock = [0], [0], threading.Lock()
    original = auth.verify_password

    def counting(h, p):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            return original(h, p)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(auth, "verify_password", counting)
    _guess_in_parallel(path, 8, _default_throttle(concurrency=2))
    assert peak[0] == 2


class _Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_per_client_limit_refuses_the_eleventh_attempt_a_minute_and_frees_after_the_window():
    clock = _Clock()
    throttle = auth.SignInThrottle(per_client=10, overall=100, concurrency=2, clock=clock)
    for _ in range(10):
        throttle.admit("203.0.113.7")
        clock.t += 1
    with pytest.raises(auth.AuthError, match=r"Too many sign-in attempts from your connection; wait 51 seconds"):
        throttle.admit("203.0.113.7")
    throttle.admit("198.51.100.2")  # another client is not held up
    clock.t += 51  # the first attempt leaves the 60-second window
    throttle.admit("203.0.113.7")


def test_overall_limit_refuses_every_client_past_it():
    clock = _Clock()
    throttle = auth.SignInThrottle(per_client=10, overall=3, concurrency=2, clock=clock)
    for i in range(3):
        throttle.admit(f"198.51.100.{i}")
    with pytest.raises(auth.AuthError, match="too many sign-in attempts just now"):
        throttle.admit("198.51.100.99")
    with pytest.raises(auth.AuthError):
        throttle.admit(None)  # a caller without an address counts toward the overall limit only
    clock.t += 60
    throttle.admit("198.51.100.99")


def test_a_rate_limited_attempt_does_no_work(ana, monkeypatch):
    path, user = ana
    clock = _Clock()
    throttle = auth.SignInThrottle(per_client=1, overall=100, concurrency=2, clock=clock)
    db = open_store(path)
    with pytest.raises(auth.AuthError, match="Sign-in failed"):
        auth.sign_in(db, "ana", "wrong-guess-000", client="203.0.113.7", throttle=throttle)
    monkeypatch.setattr(auth, "verify_password", lambda h, p: pytest.fail("a refused attempt ran argon2"))
    with pytest.raises(auth.AuthError, match="from your connection"):
        auth.sign_in(db, "ana", RIGHT, client="203.0.113.7", throttle=throttle)
    assert db.conn.execute("SELECT failed_logins FROM users WHERE id = ?", (user.id,)).fetchone()[0] == 1


def test_sign_in_limits_come_from_the_environment(monkeypatch):
    from ipt_training.config import get_settings

    monkeypatch.setenv("IPT_TRAINING_SIGN_IN_PER_CLIENT", "4")
    monkeypatch.setenv("IPT_TRAINING_SIGN_IN_CONCURRENCY", "1")
    s = get_settings()
    assert (s.sign_in_per_client, s.sign_in_per_minute, s.sign_in_concurrency) == (4, 100, 1)
    monkeypatch.setenv("IPT_TRAINING_SIGN_IN_PER_MINUTE", "lots")
    with pytest.raises(SystemExit, match="IPT_TRAINING_SIGN_IN_PER_MINUTE must be a whole number"):
        get_settings()


# --- 11: unknown, locked and deactivated accounts answer like a wrong password ----------------


def test_every_failure_answers_the_same_after_the_same_work(ana, monkeypatch):
    from datetime import datetime, timedelta, timezone

    path, user = ana
    db = open_store(path)
    admin = auth.create_user(db, "boss", "Ledger-Compass-Orchid-7", ["admin"])
    locked = auth.create_user(db, "lou", "Pebble-Meadow-Violin-3", ["trainee"])
    gone = auth.create_user(db, "dee", "Amber-Canyon-Kettle-9", ["trainee"])
    auth.set_active(db, gone.id, False, admin.id)
    until = (datetime.now(timezone.utc) + timedelta(minutes=10)).isoformat()
    db.conn.execute("UPDATE users SET locked_until = ? WHERE id = ?", (until, locked.id))
    calls = []
    original = auth.verify_password
    monkeypatch.setattr(auth, "verify_password", lambda h, p: (calls.append(1), original(h, p))[1])
    cases = [("ana", "wrong-guess-000"),          # wrong password
             ("nobody", "Amber-Canyon-Kettle-9"),  # unknown name
             ("lou", "Pebble-Meadow-Violin-3"),    # locked, right password
             ("dee", "Amber-Canyon-Kettle-9")]     # deactivated, right password
    answers = []
    for name, password in cases:
        calls.clear()
        with pytest.raises(auth.AuthError) as exc:
            auth.sign_in(db, name, password, throttle=_default_throttle())
        answers.append(str(exc.value))
        assert len(calls) == 1, f"{name}: {len(calls)} password checks"
    assert answers == [auth.SIGN_IN_FAILED] * 4


def test_the_sign_in_page_shows_the_same_sentence_for_a_deactivated_account(demo_db_path, app_demo):
    from apphelp import app_as

    db = open_store(demo_db_path)
    admin = auth.find_user(db, "admin")
    auth.set_active(db, auth.find_user(db, "rater2").id, False, admin.id)
    shown = []
    for name, password in (("rater2", "irrelevant-here"), ("no.such.person", "irrelevant-here")):
        at = app_as(None)
        at.text_input(key="si_username").input(name)
        at.text_input(key="si_password").input(password)
        at.button[0].click().run()
        shown.append([reader(e.value) for e in at.error])  # as a reader sees it
    assert shown[0] == shown[1] == [auth.SIGN_IN_FAILED]


# --- 20: institutional sign-in needs a verified e-mail, and is audited -------------------------


def _oidc_claims(**over):
    return {"is_logged_in": True, "email": "ana@uni.example", "email_verified": True,
            "iss": "https://idp.uni.example", "sub": "ana-123"} | over


@pytest.fixture
def ana_with_email(db):
    return auth.create_user(db, "ana", RIGHT, ["trainee"], "Ana Example", email="ana@uni.example")


def _audit(db, action):
    import json

    return [json.loads(r[0]) for r in db.conn.execute("SELECT detail FROM audit_log WHERE action = ?", (action,))]


def test_a_verified_institutional_e_mail_signs_in_and_is_audited(db, ana_with_email):
    assert auth.institutional_sign_in(db, _oidc_claims()).id == ana_with_email.id
    assert auth.institutional_sign_in(db, _oidc_claims(email_verified="true")).id == ana_with_email.id
    entries = _audit(db, "institutional_sign_in")
    assert len(entries) == 2 and entries[0]["issuer"] == "https://idp.uni.example" and entries[0]["subject"] == "ana-123"


@pytest.mark.parametrize("verified", [False, None, "false", "yes", 1])
def test_an_unverified_institutional_e_mail_is_refused_and_audited(db, ana_with_email, verified):
    claims = _oidc_claims(email_verified=verified) if verified is not None else \
        {k: v for k, v in _oidc_claims().items() if k != "email_verified"}
    with pytest.raises(auth.AuthError, match="did not confirm"):
        auth.institutional_sign_in(db, claims)
    assert _audit(db, "institutional_sign_in") == []
    refused = _audit(db, "institutional_sign_in_refused")
    assert len(refused) == 1 and refused[0]["email"] == "ana@uni.example" and refused[0]["email_verified"] is False


def test_an_institutional_sign_in_without_an_active_account_is_refused_and_audited(db, ana_with_email):
    admin = auth.create_user(db, "boss", "Ledger-Compass-Orchid-7", ["admin"])
    with pytest.raises(auth.AuthError, match="No active account"):
        auth.institutional_sign_in(db, _oidc_claims(email="stranger@uni.example"))
    auth.set_active(db, ana_with_email.id, False, admin.id)
    with pytest.raises(auth.AuthError, match="No active account"):
        auth.institutional_sign_in(db, _oidc_claims())
    assert len(_audit(db, "institutional_sign_in_refused")) == 2


def test_the_sign_in_page_refuses_an_unverified_institutional_e_mail(app_env):
    from streamlit.testing.v1 import AppTest

    from apphelp import APP
    from ipt_training.config import get_settings

    db = open_store(get_settings().db_path)
    user = auth.create_user(db, "ana", RIGHT, ["trainee"], "Ana Example", email="ana@uni.example")
    secrets = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                        "client_id": "id", "client_secret": "secret",
                        "server_metadata_url": "https://idp.uni.example/.well-known/openid-configuration"}}
    for verified, signed_in in ((False, False), (True, True)):
        at = AppTest.from_file(APP, default_timeout=30)
        at.secrets = secrets
        at.user = _oidc_claims(email_verified=verified)
        at.run()
        assert not at.exception
        assert (at.session_state["user_id"] == user.id) if signed_in else ("user_id" not in at.session_state)
        if not signed_in:
            assert any("did not confirm" in e.value for e in at.error)


# --- 13: hostile YAML: 20,000-deep nesting, NUL bytes ------------------------------------------

DEEP = "kind: vignette\nid: deep\ntitle: Deep\nsummary: " + "[" * 20_000 + "]" * 20_000 + "\n"
DEEP_BLOCK = "kind: vignette\nid: deep\nstages:\n" + "".join("  " * i + "- \n" for i in range(1, 2_000))


@pytest.fixture
def hostile_content(tmp_path):
    import shutil

    root = tmp_path / "content"
    for folder in ("vignettes", "rubrics", "training"):
        shutil.copytree(ROOT / folder, root / folder)
    (root / "vignettes" / "zz_deep.yaml").write_text(DEEP)
    (root / "vignettes" / "zz_deep_block.yaml").write_text(DEEP_BLOCK)
    (root / "vignettes" / "zz_nul.yaml").write_bytes(b"kind: vignette\nid: nul\ntitle: a\x00b\n")
    return root


def test_validate_refuses_deep_nesting_and_nul_bytes_one_line_each(hostile_content):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "ipt_training", "validate", "--content-dir", str(hostile_content)],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr and "RecursionError" not in out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert "vignettes/zz_deep.yaml:4: (yaml): lists/mappings nest more than 50 levels deep here; flatten the file" in lines
    deep_block = [line for line in lines if line.startswith("vignettes/zz_deep_block.yaml:")]
    assert deep_block and "nest more than 50 levels" in deep_block[0]
    nul = [line for line in lines if line.startswith("vignettes/zz_nul.yaml")]
    assert nul == ["vignettes/zz_nul.yaml:3: (yaml): YAML syntax error: special characters are not allowed "
                   "(character #x0000); remove it"]
    assert all(line.count(": ") >= 2 for line in lines)  # every error is path:line: field: message on one line


def test_pages_that_load_content_serve_the_valid_files_beside_hostile_ones(hostile_content, demo_db_path, app_demo,
                                                                           monkeypatch):
    from apphelp import app_as, texts

    monkeypatch.setenv("IPT_TRAINING_CONTENT_DIR", str(hostile_content))
    db = open_store(demo_db_path)
    at = app_as(auth.find_user(db, "admin").id, "content_status.py")
    assert not at.exception, at.exception
    shown = texts(at)
    assert "zz_deep.yaml" in shown and "zz_nul.yaml" in shown
    at = app_as(auth.find_user(db, "trainee").id, "vignette_library.py")
    assert not at.exception, at.exception


# --- 18: password rules, changing one's own password, sign-in names ----------------------------


@pytest.mark.parametrize("weak, reason", [("password", "at least 12 characters"),
                                          ("12345678", "at least 12 characters"),
                                          ("passwordpassword", "too easy to guess: Repeats"),
                                          ("qwertyuiop123", "too easy to guess"),
                                          ("anastasia-1990", "too easy to guess")])
def test_weak_passwords_are_refused_with_a_reason_everywhere(db, weak, reason):
    with pytest.raises(auth.AuthError, match=reason):
        auth.create_user(db, "anastasia", weak, ["trainee"], "Anastasia Example")
    admin = auth.create_user(db, "boss", "Ledger-Compass-Orchid-7", ["admin"])
    user = auth.create_user(db, "anastasia", RIGHT, ["trainee"], "Anastasia Example")
    with pytest.raises(auth.AuthError, match=reason):
        auth.reset_password(db, user.id, weak, admin.id)
    with pytest.raises(auth.AuthError, match=reason):
        auth.change_password(db, user.id, RIGHT, weak, throttle=_default_throttle())
    assert auth.sign_in(db, "anastasia", RIGHT, throttle=_default_throttle()).id == user.id


def test_the_command_line_refuses_a_weak_password(tmp_path, monkeypatch, capsys):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.StringIO("12345678\n"))
    assert cli.main(["--db", str(tmp_path / "x.db"), "create-user", "chair", "--role", "admin"]) == 1
    assert "at least 12 characters" in capsys.readouterr().err


def test_every_demo_password_meets_the_rules():
    from ipt_training.demo import accounts

    for acc in accounts.DEMO_ACCOUNTS + accounts.EXTRA_ACCOUNTS:
        auth.check_password_rules(acc.password, (acc.username, acc.display_name))


def test_a_person_changes_their_own_password(db):
    user = auth.create_user(db, "ana", RIGHT, ["trainee"], "Ana Example")
    new = "Saffron-Glacier-Piano-84"
    with pytest.raises(auth.AuthError, match="same as the current"):
        auth.change_password(db, user.id, RIGHT, RIGHT, throttle=_default_throttle())
    with pytest.raises(auth.AuthError, match="current password is wrong"):
        auth.change_password(db, user.id, "not-my-password", new, throttle=_default_throttle())
    assert db.conn.execute("SELECT failed_logins FROM users WHERE id = ?", (user.id,)).fetchone()[0] == 1
    auth.change_password(db, user.id, RIGHT, new, throttle=_default_throttle())
    assert auth.sign_in(db, "ana", new, throttle=_default_throttle()).id == user.id
    with pytest.raises(auth.AuthError):
        auth.sign_in(db, "ana", RIGHT, throttle=_default_throttle())
    actions = [r[0] for r in db.conn.execute("SELECT action FROM audit_log WHERE actor_id = ? ORDER BY id", (user.id,))]
    assert "change_password" in actions and "confirm_password" in actions
    dump = "\n".join(db.conn.iterdump())
    assert new not in dump and RIGHT not in dump


def test_guessing_the_current_password_on_the_change_form_locks_the_account(db):
    user = auth.create_user(db, "ana", RIGHT, ["trainee"], "Ana Example")
    for _ in range(auth.MAX_FAILED_SIGN_INS):
        with pytest.raises(auth.AuthError, match="current password is wrong"):
            auth.change_password(db, user.id, "a-wrong-guess", "Saffron-Glacier-Piano-84", throttle=_default_throttle())
    with pytest.raises(auth.AuthError, match="current password is wrong"):  # locked now: even the right one fails
        auth.change_password(db, user.id, RIGHT, "Saffron-Glacier-Piano-84", throttle=_default_throttle())


def test_the_account_page_changes_the_password_for_every_role(demo_db_path, app_demo):
    from apphelp import app_as

    from ipt_training.access import PAGES

    spec = next(p for p in PAGES if p.file == "account.py")
    assert spec.roles == {"trainee", "rater", "supervisor", "admin"}
    db = open_store(demo_db_path)
    rater = auth.find_user(db, "rater")
    at = app_as(rater.id, "account.py")
    assert at.title[0].value == "My account"
    at.text_input(key="acc_current").input("rater-demo-pass")
    at.text_input(key="acc_new").input("Saffron-Glacier-Piano-84")
    at.text_input(key="acc_repeat").input("Saffron-Glacier-Piano-84")
    at.button[0].click().run()
    assert not at.exception and at.success, [e.value for e in at.error]
    assert auth.sign_in(db, "rater", "Saffron-Glacier-Piano-84", throttle=_default_throttle()).id == rater.id


def test_sign_in_names_are_normalised_nfkc_and_case_folded(db):
    user = auth.create_user(db, "Ana.Example", RIGHT, ["trainee"])
    assert user.username == "ana.example"
    for spelling in ("ana.example", "ANA.EXAMPLE", "\uff21\uff4e\uff41.example", " Ana.Example "):
        assert auth.sign_in(db, spelling, RIGHT, throttle=_default_throttle()).id == user.id
    with pytest.raises(auth.AuthError, match="taken"):
        auth.create_user(db, "\uff21NA.EXAMPLE", RIGHT, ["trainee"])


@pytest.mark.parametrize("name, reason", [
    ("p\u0430ul", "several alphabets"),        # Cyrillic a inside Latin
    ("\u0440aypal", "several alphabets"),      # Cyrillic er looks like p
    ("ana\u200b", "invisible"),                # zero-width space
    ("an\u200da", "invisible"),                # zero-width joiner
    ("an\u00ada", "invisible"),                # soft hyphen
    ("ana\u202e", "invisible"),                # right-to-left override
    ("ana example", "invisible or space"),
    ("ana/../x", "not '/'"),
    ("", "Give a sign-in name"),
])
def test_look_alike_and_invisible_sign_in_names_are_refused(db, name, reason):
    auth.create_user(db, "paul", RIGHT, ["trainee"])
    with pytest.raises(auth.AuthError, match=reason):
        auth.create_user(db, name, RIGHT, ["trainee"])


@pytest.mark.parametrize("name, stored", [("Müller", "müller"), ("Γιώργος", "γιώργοσ"),  # case-folded: final sigma
                                          ("日本語ひらがな", "日本語ひらがな"), ("김민준", "김민준"),
                                          ("trainee.ready", "trainee.ready"), ("A_b-c@Uni.example", "a_b-c@uni.example")])
def test_names_in_one_alphabet_are_accepted(db, name, stored):
    assert auth.create_user(db, name, RIGHT, ["trainee"]).username == stored
