"""Signed, short-lived links to one recording for one viewer (issue 15, item 1).

A link is ``/recording/<token>`` with ``token = payload.signature``: the payload names the
viewer (user id), their sign-in session, the recorded session and an expiry, plus a random
nonce; the signature is HMAC-SHA256 (RFC 2104) under a key kept in the data directory
(``secrets/recording-links.key``, created 0600). The link alone is not enough: the route
(:mod:`ipt_training.web`) also requires the viewer's session cookie, checks the session is
live and is the one the link names, re-checks the fidelity access rule and audits the fetch.

A link dies ``recording_link_minutes`` after it was issued or, once fetched, after its last
fetch: the browser seeks with new Range requests throughout a long rating, so a link in use
keeps working while an unused or leaked one expires in minutes. The record of last fetches
is kept in this process's memory; after a restart a link lives to its issued expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

KEY_FILE = Path("secrets") / "recording-links.key"
_VERSION = "r1"
_keys: dict[str, bytes] = {}
_keys_lock = threading.Lock()


@dataclass(frozen=True)
class Link:
    user_id: int
    auth_session_id: int
    recorded_session_id: int
    expires: int  # Unix time
    nonce: str


def link_key(data_dir: Path) -> bytes:
    """The HMAC key, made on first use as 32 random bytes in a 0600 file (folder 0700)."""
    path = (Path(data_dir) / KEY_FILE).resolve()
    with _keys_lock:
        if str(path) in _keys:
            return _keys[str(path)]
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            os.chmod(path, 0o600)
            key = path.read_bytes()
        else:
            key = secrets.token_bytes(32)
            with os.fdopen(fd, "wb") as fh:
                fh.write(key)
        if len(key) < 32:
            raise RuntimeError(f"{path} is not a recording-link key (too short); remove it to make a new one.")
        _keys[str(path)] = key
        return key


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def _sign(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest())


def issue(key: bytes, user_id: int, auth_session_id: int, recorded_session_id: int, minutes: int,
          now: Optional[float] = None) -> str:
    """A token for ``user_id`` in sign-in session ``auth_session_id`` to fetch one recording."""
    expires = int((time.time() if now is None else now) + minutes * 60)
    payload = f"{_VERSION}.{int(user_id)}.{int(auth_session_id)}.{int(recorded_session_id)}.{expires}.{secrets.token_hex(8)}"
    return f"{payload}.{_sign(key, payload)}"


def read(key: bytes, token: str) -> Optional[Link]:
    """The link a token names when its signature is good (expiry not checked), else None."""
    if not token or len(token) > 200:
        return None
    payload, _, signature = token.rpartition(".")
    if not hmac.compare_digest(_sign(key, payload), signature):
        return None
    parts = payload.split(".")
    if len(parts) != 6 or parts[0] != _VERSION:
        return None
    try:
        return Link(int(parts[1]), int(parts[2]), int(parts[3]), int(parts[4]), parts[5])
    except ValueError:
        return None


class Activity:
    """When each link was last fetched (in memory), for the sliding expiry."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def fetched(self, link: Link, now: Optional[float] = None) -> None:
        t = time.time() if now is None else now
        with self._lock:
            self._last[link.nonce] = t
            if len(self._last) > 10_000:  # forget the oldest half; they are long dead
                for nonce, _ in sorted(self._last.items(), key=lambda kv: kv[1])[:5_000]:
                    del self._last[nonce]

    def alive(self, link: Link, minutes: int, now: Optional[float] = None) -> bool:
        """Issued less than ``minutes`` ago (its expiry not passed), or fetched within ``minutes``."""
        t = time.time() if now is None else now
        if t < link.expires:
            return True
        with self._lock:
            last = self._last.get(link.nonce)
        return last is not None and t - last < minutes * 60


ACTIVITY = Activity()
