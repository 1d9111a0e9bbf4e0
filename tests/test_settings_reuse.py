"""Settings and the content fingerprint are kept between calls (issue 16: fewer file-system calls
per page run) but follow every change of the environment, the working folder and the content."""

from pathlib import Path

from ipt_training import config
from ipt_training.ui import common


def test_settings_are_read_again_when_the_environment_or_folder_changes(monkeypatch, tmp_path):
    monkeypatch.setenv("IPT_TRAINING_SESSION_IDLE_MINUTES", "5")
    first = config.get_settings()
    assert first.session_idle_minutes == 5
    assert config.get_settings() is first  # unchanged: the settings read before
    monkeypatch.setenv("IPT_TRAINING_SESSION_IDLE_MINUTES", "7")
    assert config.get_settings().session_idle_minutes == 7
    monkeypatch.delenv("IPT_TRAINING_DB", raising=False)
    monkeypatch.setenv("IPT_TRAINING_DATA_DIR", "data")  # relative: resolved in the working folder
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        monkeypatch.chdir(tmp_path / folder)
        assert config.get_settings().data_dir == (tmp_path / folder / "data").resolve()


def test_a_bad_setting_is_refused_on_every_call(monkeypatch):
    monkeypatch.setenv("IPT_TRAINING_SECURE_COOKIE", "sometimes")
    for _ in range(2):
        try:
            config.get_settings()
        except SystemExit as exc:
            assert "IPT_TRAINING_SECURE_COOKIE" in str(exc)
        else:
            raise AssertionError("a bad setting was accepted")


def test_content_changes_are_seen_once_the_check_interval_has_passed(monkeypatch, tmp_path):
    (tmp_path / "rubrics").mkdir()
    (tmp_path / "rubrics" / "one.yaml").write_text("a: 1\n")
    monkeypatch.setattr(common, "_CONTENT_CHECK_S", 3600.0)
    before = common._content_fingerprint(tmp_path)
    assert [Path(p).name for p, _ in before] == ["one.yaml"]
    (tmp_path / "rubrics" / "two.yaml").write_text("b: 2\n")
    assert common._content_fingerprint(tmp_path) == before  # within the interval: not looked at again
    monkeypatch.setattr(common, "_CONTENT_CHECK_S", 0.0)
    after = common._content_fingerprint(tmp_path)
    assert [Path(p).name for p, _ in after] == ["one.yaml", "two.yaml"]
