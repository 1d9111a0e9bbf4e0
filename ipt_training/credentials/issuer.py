"""The training body as an issuer of verifiable credentials: its Ed25519 keys, its profile, and
JWS signing and checking (issue 14).

Keys live in ``issuer/keys/`` beside the database (the data directory by default), one private
JWK per file, owner-only (0600, folder 0700). The newest key signs; older keys are kept, so
what they signed still verifies (rotation: ``python -m ipt_training credential rotate-key``).
The key id (``kid``) is the key's RFC 7638 thumbprint.

Signing uses joserfc (JOSE: RFC 7515 JWS, RFC 7517 JWK, RFC 8037 OKP keys): maintained, typed,
and it refuses unlisted algorithms on verification, which closes the "alg: none" and
algorithm-confusion holes. ``EdDSA`` is the alg name every VC-JWT verifier knows (RFC 8037);
RFC 9864's fully specified ``Ed25519`` is accepted on verification too.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey
from sqlite_utils import Database

from ..config import get_settings

ALGORITHMS = ["EdDSA", "Ed25519"]
SIGN_ALG = "EdDSA"


class IssuerError(Exception):
    """The issuer cannot sign or check; the message says what to do."""


@dataclass(frozen=True)
class Issuer:
    """The body's profile (from configuration) and where its keys are."""

    name: str
    url: str
    folder: Path

    @property
    def id(self) -> str:
        return self.url

    def profile(self) -> dict:
        """The OB 3.0 ``Profile`` of the issuer, with its current public key."""
        kid, key = current_key(self)
        return {"id": self.id, "type": ["Profile"], "name": self.name, "url": self.url,
                "publicKey": {"kid": kid, **key.as_dict(private=False)}}


def db_folder(db: Database) -> Path:
    """The folder of the database file (the data directory by default)."""
    row = db.conn.execute("PRAGMA database_list").fetchone()
    path = row[2] if row and row[2] else ""
    return Path(path).resolve().parent if path else get_settings().data_dir


def issuer_for(db: Database) -> Issuer:
    """The issuer: name and URL from configuration, keys under ``<database folder>/issuer``."""
    s = get_settings()
    return Issuer(s.issuer_name, s.issuer_url.rstrip("/"), db_folder(db) / "issuer")


def _keys_dir(issuer: Issuer) -> Path:
    return issuer.folder / "keys"


def _key_files(issuer: Issuer) -> list[Path]:
    folder = _keys_dir(issuer)
    return sorted(folder.glob("*.jwk")) if folder.is_dir() else []


def create_key(issuer: Issuer) -> str:
    """A new Ed25519 key, written 0600; it signs from now on. Returns its kid."""
    folder = _keys_dir(issuer)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(issuer.folder, 0o700)
    os.chmod(folder, 0o700)
    key = OKPKey.generate_key("Ed25519")
    kid = key.thumbprint()
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"{stamp}-{kid}.jwk"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({**key.as_dict(private=True), "kid": kid, "created": stamp}, fh)
    return kid


def ensure_key(issuer: Issuer) -> str:
    """The current key's kid, creating the first key when there is none (``init`` calls this)."""
    files = _key_files(issuer)
    return _load(files[-1])[0] if files else create_key(issuer)


def _load(path: Path) -> tuple[str, OKPKey]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        kid = data.pop("kid")
        data.pop("created", None)
        return kid, OKPKey.import_key(data)
    except (OSError, ValueError, KeyError, JoseError) as exc:
        raise IssuerError(f"The issuer key {path.name} cannot be read ({exc.__class__.__name__}); restore it from "
                          "the backup of the data directory.") from exc


def current_key(issuer: Issuer) -> tuple[str, OKPKey]:
    """(kid, private key) of the newest key, made on first use."""
    ensure_key(issuer)
    return _load(_key_files(issuer)[-1])


def public_keys(issuer: Issuer) -> dict[str, OKPKey]:
    """kid -> public key, for every key the issuer ever had (old ones verify what they signed)."""
    out = {}
    for path in _key_files(issuer):
        kid, key = _load(path)
        out[kid] = OKPKey.import_key(key.as_dict(private=False))
    return out


def jwks(issuer: Issuer) -> dict:
    """The public keys as a JWK Set (RFC 7517), to publish beside the status list."""
    return {"keys": [{"kid": kid, "alg": SIGN_ALG, "use": "sig", **k.as_dict(private=False)}
                     for kid, k in public_keys(issuer).items()]}


def sign(issuer: Issuer, payload: dict, typ: str) -> str:
    """``payload`` as a compact JWS signed with the current key (header alg, kid, typ, cty)."""
    kid, key = current_key(issuer)
    header = {"alg": SIGN_ALG, "kid": kid, "typ": typ, "cty": typ.removesuffix("+jwt")}
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    with warnings.catch_warnings():  # joserfc warns that RFC 9864 prefers "Ed25519"; see the docstring
        warnings.simplefilter("ignore")
        return jws.serialize_compact(header, body, key, algorithms=[SIGN_ALG])


def check(token: str, keys: dict[str, OKPKey]) -> Optional[dict]:
    """The payload of ``token`` when its signature verifies with the key its ``kid`` names, else
    None. The caller has made sure the kid is one of ``keys``."""
    import base64

    head = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    key = keys[head["kid"]]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = jws.deserialize_compact(token, key, algorithms=ALGORITHMS)
    except (JoseError, ValueError):
        return None
    return json.loads(obj.payload.decode("utf-8"))
