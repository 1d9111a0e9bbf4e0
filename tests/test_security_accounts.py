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

    from ipt_training.http_headers import SecurityHeaders

    async def inner(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": inner_headers})
        await send({"type": "http.response.body", "body": b"ok"})

    sent = []

    async def send(message):
        sent.append(message)

    asyncio.run(SecurityHeaders(inner)({"type": "http", "path": "/"}, None, send))
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
