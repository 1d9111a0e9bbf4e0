"""Command line: every command documented and with --help; init, create-user, demo, backup."""

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ipt_training import auth
from ipt_training.cli import COMMANDS, main
from ipt_training.store import open_store

ROOT = Path(__file__).resolve().parent.parent


def _run(*args, stdin=None, env_db=None):
    return subprocess.run([sys.executable, "-m", "ipt_training", *args], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_is_in_the_readme(command):
    readme = (ROOT / "README.md").read_text()
    assert f"| `{command}" in readme, f"README's command table lacks {command}"
    out = _run(command, "--help")
    assert out.returncode == 0, out.stderr
    assert "usage:" in out.stdout and command in out.stdout


def test_init_then_create_user_from_stdin(tmp_path):
    db_path = tmp_path / "x.db"
    out = _run("--db", str(db_path), "init")
    assert out.returncode == 0 and "schema version" in out.stdout
    out = _run("--db", str(db_path), "create-user", "chair", "--role", "admin", "--role", "supervisor",
               stdin="a-long-password\n")
    assert out.returncode == 0, out.stderr
    user = auth.sign_in(open_store(db_path), "chair", "a-long-password")
    assert user.roles == ("admin", "supervisor")
    again = _run("--db", str(db_path), "create-user", "chair", "--role", "admin", stdin="a-long-password\n")
    assert again.returncode == 1 and "taken" in again.stderr


def test_demo_refuses_a_db_with_real_accounts_unless_forced(tmp_path, monkeypatch):
    db_path = tmp_path / "real.db"
    monkeypatch.setenv("IPT_TRAINING_DATA_DIR", str(tmp_path / "data"))
    db = open_store(db_path)
    auth.create_user(db, "chair", "a-long-password", ["admin"])
    assert main(["--db", str(db_path), "demo"]) == 1
    assert auth.find_user(db, "trainee") is None


def test_backup_writes_a_consistent_copy(tmp_path, capsys):
    db_path = tmp_path / "live.db"
    auth.create_user(open_store(db_path), "chair", "a-long-password", ["admin"])
    assert main(["--db", str(db_path), "backup", str(tmp_path / "copy.db")]) == 0
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT username FROM users").fetchall() == [("chair",)]


def test_global_db_option_reaches_readiness(demo_db_path, tmp_path, monkeypatch):
    monkeypatch.setenv("IPT_TRAINING_DB", str(tmp_path / "elsewhere.db"))
    out = _run("--db", str(demo_db_path), "readiness", "--standard", "ipt-therapist-example", "--format", "csv")
    assert out.returncode == 0, out.stderr
    assert "Rosa Ready" in out.stdout


def test_user_errors_end_in_a_sentence_not_a_traceback(tmp_path):
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("hello")
    out = _run("--db", str(not_a_db), "init")
    assert out.returncode == 2 and "Traceback" not in out.stderr and "could not be used" in out.stderr
    live = tmp_path / "live.db"
    open_store(live)
    out = _run("--db", str(live), "backup", str(live))
    assert out.returncode == 2 and "not the live database" in out.stderr
    out = _run("validate", "--content-dir", str(tmp_path / "nowhere"))
    assert out.returncode == 1 and "vignettes: (folder): not found" in out.stdout
