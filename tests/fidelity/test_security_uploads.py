"""Security of uploads (issue 15, findings 5, 16 and 17): transcripts are limited before they are
parsed and the server's upload cap is the largest recording allowed; a crash mid-write or a failed
insert leaves no file behind; a recording's container is walked to its end."""

from __future__ import annotations

import os
import time
import tomllib
from pathlib import Path

import pytest

from ipt_training import config, fidelity, files
from ipt_training.fidelity import transcripts
from ipt_training.fidelity.transcripts import TranscriptError, parse_transcript
from ipt_training.store import rows

from test_fidelity import OGG, ROOT, World, _box, _mp3, _mp4


@pytest.fixture
def w(db, tmp_path, library):
    return World(db, tmp_path, library)


# --- finding 5: transcript size and the server's upload cap ----------------------------------


def _vtt(n_cues: int) -> bytes:
    lines = ["WEBVTT", ""]
    for n in range(n_cues):
        lines += [f"00:00:{n % 60:02d}.000 --> 00:00:{n % 60:02d}.500", "x", ""]
    return "\n".join(lines).encode()


def test_a_transcript_over_the_size_limit_is_refused_before_parsing(monkeypatch):
    def no_parse(*args, **kwargs):
        raise AssertionError("the parser ran on an oversized transcript")

    monkeypatch.setattr(transcripts.webvtt, "from_buffer", no_parse)
    big = b"WEBVTT\n\n" + b"x" * (1024 * 1024 + 1)
    with pytest.raises(TranscriptError, match="over the limit of 1.0 MB"):
        parse_transcript(big, "s.vtt", max_bytes=1024 * 1024)


def test_a_transcript_over_the_cue_limit_is_refused_before_parsing(monkeypatch):
    monkeypatch.setattr(transcripts, "MAX_CUES", 50)
    monkeypatch.setattr(transcripts.webvtt, "from_buffer", lambda *a, **k: (_ for _ in ()).throw(AssertionError))
    with pytest.raises(TranscriptError, match="more than 50 cues"):
        parse_transcript(_vtt(51), "s.vtt")


def test_the_transcript_limit_is_a_setting_and_add_session_applies_it(w, monkeypatch):
    monkeypatch.setenv("IPT_TRAINING_MAX_TRANSCRIPT_MB", "1")
    assert config.get_settings().max_transcript_bytes == 1024 * 1024
    monkeypatch.setenv("IPT_TRAINING_MAX_TRANSCRIPT_MB", "lots")
    with pytest.raises(SystemExit, match="IPT_TRAINING_MAX_TRANSCRIPT_MB"):
        config.get_settings()
    over = b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n" + b"y" * (w.settings.max_transcript_bytes + 10)
    with pytest.raises(fidelity.FidelityError, match="over the limit.*not added"):
        w.add(transcript=over)


def test_the_server_upload_cap_is_the_largest_recording_allowed(monkeypatch):
    monkeypatch.delenv("IPT_TRAINING_MAX_UPLOAD_MB", raising=False)
    cap = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]
    assert cap == config.get_settings().max_upload_mb
    readme = (ROOT / "README.md").read_text()
    assert "IPT_TRAINING_MAX_TRANSCRIPT_MB" in readme and "maxUploadSize" in readme


def test_the_add_session_page_states_the_transcript_limit(app_demo):
    from apphelp import app_as, texts
    from ipt_training import auth
    from ipt_training.store import open_store

    at = app_as(auth.find_user(open_store(app_demo), "trainee").id, "add_session.py")
    assert not at.exception
    assert "at most 2 MB" in texts(at)


# --- finding 16: no partial or orphaned files --------------------------------------------------


def test_partial_uploads_left_by_a_crash_are_cleaned_at_start(tmp_path):
    folder = tmp_path / "recordings"
    folder.mkdir()
    old, fresh, kept = folder / ".upload-abc", folder / ".upload-def", folder / ("0" * 64 + ".ogg")
    for p in (old, fresh, kept):
        p.write_bytes(b"half")
    past = time.time() - 3600
    os.utime(old, (past, past))
    os.utime(kept, (past, past))
    assert files.clean_partial_uploads(folder) == 1
    assert not old.exists() and fresh.exists() and kept.exists()  # a write under way is left alone


def test_the_app_cleans_partial_uploads_when_it_starts(app_env):
    folder = config.get_settings().recordings_dir
    files.private_dir(folder)
    stale = folder / ".upload-crash"
    stale.write_bytes(b"half")
    past = time.time() - 3600
    os.utime(stale, (past, past))
    from apphelp import app_as

    app_as(None)
    assert not stale.exists()


def test_a_failed_insert_leaves_no_orphaned_recording(w, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(fidelity.recordings, "_insert_session", fail)
    with pytest.raises(RuntimeError):
        w.add()
    assert list(w.settings.recordings_dir.iterdir()) == []
    monkeypatch.undo()
    sid = w.add()  # the same bytes stored by a session that exists are kept when a twin fails
    monkeypatch.setattr(fidelity.recordings, "_insert_session", fail)
    with pytest.raises(RuntimeError):
        w.add(number=7)
    name = rows(w.db, "SELECT recording_file FROM recorded_sessions WHERE id = ?", (sid,))[0]["recording_file"]
    assert [p.name for p in w.settings.recordings_dir.iterdir()] == [name]


# --- finding 17: the container is walked to its end ------------------------------------------


JUNK = bytes((i * 97 + 13) % 256 for i in range(20_000))  # arbitrary bytes, fixed for the test


@pytest.mark.parametrize("name, data, words", [
    ("a.mp3", _mp3(1) + JUNK, "not MPEG audio"),  # a valid header, then anything
    ("a.mp3", b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + JUNK, "not MPEG audio"),
    ("a.mp3", _mp3(3) + _mp3(1)[10:200], "cut off"),
    ("a.m4a", _mp4(samples=0), "no audio or video samples"),  # an empty index
    ("a.mp4", _box(b"ftyp", b"isom\x00\x00\x02\x00isom") + _box(b"moov", b"\x00" * 16) + _box(b"mdat", b"\x01" * 200),
     "no track"),
    ("a.mp4", _box(b"ftyp", b"isom\x00\x00\x02\x00isom") + _box(b"moov", _box(b"mvhd", b"\x00" * 100)) + JUNK,
     "truncated or damaged"),
    ("a.mp4", _mp4(mdat=b""), "no media data"),
], ids=["mp3-junk-after-frame", "mp3-header-then-junk", "mp3-last-frame-cut", "mp4-empty-index",
        "mp4-moov-without-track", "mp4-junk-after-index", "mp4-empty-mdat"])
def test_a_crafted_container_is_refused(w, name, data, words):
    with pytest.raises(fidelity.FidelityError, match=words):
        w.add(data=data, name=name, transcript=None)
    assert rows(w.db, "SELECT COUNT(*) AS n FROM recorded_sessions")[0]["n"] == 0


def test_well_formed_containers_with_their_tags_are_accepted(w):
    id3v1 = b"TAG" + b" " * 125
    long_mp3 = _mp3(4000)  # 1.6 MB of frames: the walk goes to the end
    for n, (name, data) in enumerate((("a.mp3", _mp3(3) + id3v1), ("b.mp3", long_mp3), ("c.mp4", _mp4(samples=3)))):
        w.add(data=data, name=name, transcript=None, number=n + 1)
    assert rows(w.db, "SELECT COUNT(*) AS n FROM recorded_sessions")[0]["n"] == 3
