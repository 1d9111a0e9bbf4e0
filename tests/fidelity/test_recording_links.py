"""Per-viewer recording links: HMAC-signed, bound to viewer, sign-in session and recording,
expiring unless in use; the key file is private (issue 15, item 1)."""

from __future__ import annotations

import stat

from ipt_training.fidelity import links as rl


def test_key_is_made_once_in_a_private_file(tmp_path):
    key = rl.link_key(tmp_path)
    path = tmp_path / rl.KEY_FILE
    assert len(key) == 32 and path.read_bytes() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    rl._keys.clear()  # a restarted server reads the same key back
    assert rl.link_key(tmp_path) == key


def test_a_link_names_viewer_session_recording_and_expiry(tmp_path):
    key = rl.link_key(tmp_path)
    token = rl.issue(key, user_id=7, auth_session_id=31, recorded_session_id=5, minutes=10, now=1_000_000)
    link = rl.read(key, token)
    assert (link.user_id, link.auth_session_id, link.recorded_session_id, link.expires) == (7, 31, 5, 1_000_600)
    other = rl.issue(key, 7, 31, 5, 10, now=1_000_000)
    assert other != token  # unique per issue: a nonce, not only the fields


def test_a_changed_or_foreign_token_is_refused(tmp_path):
    key = rl.link_key(tmp_path)
    token = rl.issue(key, 7, 31, 5, 10)
    payload, sig = token.rsplit(".", 1)
    fields = payload.split(".")
    fields[1] = "8"  # another viewer
    assert rl.read(key, ".".join(fields) + "." + sig) is None
    fields = payload.split(".")
    fields[4] = str(int(fields[4]) + 3600)  # a later expiry
    assert rl.read(key, ".".join(fields) + "." + sig) is None
    assert rl.read(b"k" * 32, token) is None  # another server's key
    for junk in ("", "a.b", "x" * 500, token + "x"):
        assert rl.read(key, junk) is None


def test_a_link_dies_minutes_after_issue_or_after_its_last_fetch(tmp_path):
    key = rl.link_key(tmp_path)
    activity = rl.Activity()
    unused = rl.read(key, rl.issue(key, 7, 31, 5, minutes=10, now=0))
    assert activity.alive(unused, 10, now=599)
    assert not activity.alive(unused, 10, now=601)
    used = rl.read(key, rl.issue(key, 7, 31, 5, minutes=10, now=0))
    for t in (60, 500, 1000, 1500):  # a rater seeking through a long recording
        assert activity.alive(used, 10, now=t)
        activity.fetched(used, now=t)
    assert activity.alive(used, 10, now=1500 + 599)
    assert not activity.alive(used, 10, now=1500 + 601)
