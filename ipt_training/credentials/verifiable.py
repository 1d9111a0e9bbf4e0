"""Every award as an Open Badges 3.0 credential (a W3C Verifiable Credential 2.0) signed as a
VC-JWT, its revocation, the Bitstring Status List the body publishes, and verification (issue 14).

* Credential: ``OpenBadgeCredential`` (OB 3.0 section 8, VC Data Model 2.0): contexts, types,
  ``issuer`` Profile, ``validFrom``/``validUntil`` from the award, ``credentialSubject`` (an
  ``AchievementSubject`` with the holder's name, and their e-mail only as a salted SHA-256
  ``IdentityObject``) and its ``achievement`` (the standard: id, name, version, criteria
  narrative, content hash). No patient data, recording or score goes into a credential.
* Securing: VC-JOSE-COSE (W3C 2025) compact JWS, header ``typ: vc+jwt``, the credential as the
  payload; Ed25519 keys of :mod:`.issuer`.
* Status: a ``BitstringStatusListEntry`` (W3C Bitstring Status List 1.0) whose index is the
  decision id; the list (GZIP, base64url multibase, 131,072 bits) is a signed credential
  written to ``issuer/status/revocation.jwt`` whenever a revocation is recorded.
"""

from __future__ import annotations

import base64
import datetime as _dt
import gzip
import hashlib
import json
import os
import re
import secrets
import uuid
from typing import Optional

from sqlite_utils import Database

from ..auth import get_user
from ..store import audit, now_iso, one, rows, transaction
from .evidence import award_day, standing_awards
from .issuer import Issuer, check, issuer_for, jwks, public_keys, sign

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
STATUS_BITS = 131072  # the spec's minimum list length (16 KB), so an index tells nothing about volume
STATUS_FILE = "revocation.jwt"
MAX_INPUT = 200_000
VALID, EXPIRED, REVOKED, TAMPERED, UNKNOWN_ISSUER, NOT_A_CREDENTIAL = (
    "valid", "expired", "revoked", "tampered", "unknown issuer", "not a credential")


class CredentialError(Exception):
    """A request about a credential the user can fix; the message says what to do."""


def verification_link(issuer: Issuer, credential_id: str) -> str:
    """The public page that verifies this credential (what the certificate's QR code holds)."""
    return f"{issuer.url}/verify?credential={credential_id}"


def _iso(day: _dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _until(day: Optional[str]) -> Optional[str]:
    # valid up to and including the expiry day
    return f"{day}T23:59:59Z" if day else None


def _identity_hash(email: str) -> dict:
    salt = secrets.token_hex(8)
    digest = hashlib.sha256((email.strip().lower() + salt).encode("utf-8")).hexdigest()
    return {"type": "IdentityObject", "identityType": "emailAddress", "hashed": True,
            "identityHash": f"sha256${digest}", "salt": salt}


def build_credential(issuer: Issuer, decision: dict, holder_name: str, holder_email: Optional[str],
                     credential_id: str) -> dict:
    """The unsigned OpenBadgeCredential of an award decision (its stored snapshot names the standard)."""
    snap = json.loads(decision["evidence_snapshot"] or "{}")
    std = snap.get("standard", {})
    name = std.get("name", decision["standard_id"])
    criteria = (f"{std.get('description', '').strip()} Awarded by {issuer.name} on the evidence its reviewers "
                f"examined against version {decision['standard_version']} of the standard.").strip()
    identifiers = [{"type": "IdentityObject", "identityType": "name", "hashed": False, "identityHash": holder_name}]
    if holder_email:
        identifiers.append(_identity_hash(holder_email))
    credential = {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": name,
        "issuer": {"id": issuer.id, "type": ["Profile"], "name": issuer.name, "url": issuer.url},
        "validFrom": _iso(award_day(decision)),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "name": holder_name,
            "identifier": identifiers,
            "achievement": {
                "id": f"{issuer.url}/standards/{decision['standard_id']}/{decision['standard_version']}",
                "type": ["Achievement"],
                "achievementType": "Certification",
                "name": name,
                "description": std.get("description") or name,
                "version": decision["standard_version"],
                "criteria": {"narrative": criteria},
                "otherIdentifier": [{"type": "IdentifierEntry", "identifierType": "identifier",
                                     "identifier": f"sha256:{decision['standard_hash']}"}],
            },
        },
        "credentialStatus": {
            "id": f"{issuer.url}/status/revocation#{decision['id']}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(decision["id"]),
            "statusListCredential": f"{issuer.url}/status/revocation",
        },
    }
    if decision.get("expires_on"):
        credential["validUntil"] = _until(decision["expires_on"])
    return credential


def _decision(db: Database, decision_id) -> dict:
    try:
        did = int(str(decision_id).strip())
    except ValueError:
        raise CredentialError(f"'{decision_id}' is not a decision id; 'credential list' shows them.") from None
    d = one(db, "SELECT * FROM credential_decisions WHERE id = ?", (did,))
    if d is None:
        raise CredentialError(f"There is no decision {did}; 'credential list' shows the awards and their ids.")
    if d["decision"] != "award":
        raise CredentialError(f"Decision {did} is a decision to {d['decision']}; only an award has a credential.")
    return d


def credential_for(db: Database, decision_id) -> dict:
    """The issued credential of an award (credential_id, kid, token, issued_at), signed now if it
    has none yet. Anything but an award: CredentialError."""
    d = _decision(db, decision_id)
    row = one(db, "SELECT * FROM issued_credentials WHERE decision_id = ?", (d["id"],))
    if row:
        return row
    issuer = issuer_for(db)
    person = get_user(db, d["trainee_id"])
    snap = json.loads(d["evidence_snapshot"] or "{}")
    name = person.display_name if person else snap.get("holder", {}).get("display_name", "")
    cid = f"urn:uuid:{uuid.uuid4()}"
    token = sign(issuer, build_credential(issuer, d, name, person.email if person else None, cid), "vc+jwt")
    kid = _header(token)["kid"]
    with transaction(db):
        if not one(db, "SELECT 1 AS x FROM issued_credentials WHERE decision_id = ?", (d["id"],)):
            db.conn.execute("INSERT INTO issued_credentials (decision_id, credential_id, kid, token, issued_at) "
                            "VALUES (?,?,?,?,?)", (d["id"], cid, kid, token, now_iso()))
            audit(db, None, "credential_issued", "credential_decision", d["id"], {"credential_id": cid, "kid": kid})
    return one(db, "SELECT * FROM issued_credentials WHERE decision_id = ?", (d["id"],))


def revoke(db: Database, decision_id, reason: str, actor_id: Optional[int] = None) -> int:
    """Revoke an award's credential (append-only, with the reason); the status list is published
    again. Returns the revocation id."""
    reason = (reason or "").strip()
    if not reason:
        raise CredentialError("Give the reason for the revocation: it is kept with the decision.")
    if len(reason) > 5000:
        raise CredentialError("Keep the reason under 5000 characters.")
    d = _decision(db, decision_id)
    credential_for(db, d["id"])
    with transaction(db):
        if one(db, "SELECT 1 AS x FROM credential_revocations WHERE decision_id = ?", (d["id"],)):
            raise CredentialError(f"The credential of award {d['id']} is already revoked.")
        rid = db.conn.execute("INSERT INTO credential_revocations (decision_id, reason, revoked_by, revoked_at) "
                              "VALUES (?,?,?,?)", (d["id"], reason, actor_id, now_iso())).lastrowid
        audit(db, actor_id, "credential_revoked", "credential_decision", d["id"], {"reason": reason[:200]})
    publish_status_list(db)
    return rid


def revoked_ids(db: Database) -> set[int]:
    return {r["decision_id"] for r in rows(db, "SELECT decision_id FROM credential_revocations")}


def encode_status_list(revoked: set[int]) -> str:
    """Bitstring Status List ``encodedList``: bit i (most significant bit of byte 0 first) set
    for each revoked index, GZIP-compressed, base64url without padding, multibase prefix 'u'."""
    bits = bytearray(STATUS_BITS // 8)
    for i in revoked:
        if 0 <= i < STATUS_BITS:
            bits[i // 8] |= 0x80 >> (i % 8)
    return "u" + base64.urlsafe_b64encode(gzip.compress(bytes(bits), mtime=0)).decode("ascii").rstrip("=")


def status_bit(encoded: str, index: int) -> bool:
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded.removeprefix("u") + "=" * (-len(encoded[1:]) % 4)))
    return bool(raw[index // 8] & (0x80 >> (index % 8))) if 0 <= index < len(raw) * 8 else False


def status_list_credential(issuer: Issuer, revoked: set[int]) -> dict:
    return {"@context": [VC_CONTEXT], "id": f"{issuer.url}/status/revocation",
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": issuer.id, "validFrom": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "credentialSubject": {"id": f"{issuer.url}/status/revocation#list", "type": "BitstringStatusList",
                                  "statusPurpose": "revocation", "encodedList": encode_status_list(revoked)}}


def publish_status_list(db: Database) -> str:
    """Sign the revocation list and write it (and the issuer's JWK Set) under ``issuer/status/``;
    returns the signed list. A verifier fetches these two files from the body's address."""
    issuer = issuer_for(db)
    token = sign(issuer, status_list_credential(issuer, revoked_ids(db)), "vc+jwt")
    folder = issuer.folder / "status"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in ((STATUS_FILE, token), ("jwks.json", json.dumps(jwks(issuer), indent=2))):
        tmp = folder / (name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, folder / name)
    return token


def award_rows(db: Database, user_id: Optional[int] = None, today: Optional[_dt.date] = None) -> list[dict]:
    """Every award (or one person's): decision_id, holder, username, standard_id, standard,
    awarded_on, valid_until, status ('valid', 'expired', 'revoked', 'superseded'), credential_id."""
    today = today or _dt.date.today()
    revoked = revoked_ids(db)
    sql = """SELECT d.*, u.display_name, u.username, i.credential_id FROM credential_decisions d
             JOIN users u ON u.id = d.trainee_id LEFT JOIN issued_credentials i ON i.decision_id = d.id
             WHERE d.decision = 'award'"""
    params: tuple = ()
    if user_id is not None:
        sql += " AND d.trainee_id = ?"
        params = (int(user_id),)
    out, standing = [], {}
    for d in rows(db, sql + " ORDER BY d.id", params):
        held = standing.setdefault(d["trainee_id"], standing_awards(db, d["trainee_id"])).get(d["standard_id"])
        status = (REVOKED if d["id"] in revoked else "superseded" if held is None or held["id"] != d["id"] else
                  EXPIRED if d["expires_on"] and _dt.date.fromisoformat(d["expires_on"]) < today else VALID)
        snap = json.loads(d["evidence_snapshot"] or "{}")
        out.append({"decision_id": d["id"], "holder": d["display_name"], "username": d["username"],
                    "standard_id": d["standard_id"], "standard": snap.get("standard", {}).get("name", d["standard_id"]),
                    "awarded_on": award_day(d).isoformat(), "valid_until": d["expires_on"] or "", "status": status,
                    "credential_id": d["credential_id"] or ""})
    return out


# --- verification ---------------------------------------------------------------------------

_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_ID = re.compile(r"urn:uuid:[0-9a-fA-F-]{36}")


def _b64json(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode("utf-8"))


def _header(token: str) -> dict:
    return _b64json(token.split(".")[0])


def find_token(db: Database, text: str) -> Optional[str]:
    """The compact VC-JWT in what a person pasted or uploaded: the JWT itself, an enveloped
    credential (``data:application/vc+jwt,...``), JSON holding it, or a verification link or
    credential id this platform issued. None when there is none."""
    text = (text or "").strip()
    if not text or len(text) > MAX_INPUT:
        return None
    m = _JWT.search(text)
    if m:
        return m.group(0)
    m = _ID.search(text)
    if m:
        row = one(db, "SELECT token FROM issued_credentials WHERE credential_id = ?", (m.group(0).lower(),))
        return row["token"] if row else None
    return None


def _result(status: str, reason: str, payload: Optional[dict] = None) -> dict:
    subject = (payload or {}).get("credentialSubject") or {}
    subject = subject if isinstance(subject, dict) else {}
    achievement = subject.get("achievement") if isinstance(subject.get("achievement"), dict) else {}
    until = (payload or {}).get("validUntil")
    return {"status": status, "reason": reason, "holder": subject.get("name", ""),
            "standard": achievement.get("name", ""), "valid_until": until[:10] if isinstance(until, str) else "",
            "credential_id": (payload or {}).get("id", ""),
            "issuer": ((payload or {}).get("issuer") or {}).get("name", "") if isinstance((payload or {}).get("issuer"), dict) else ""}


def _revoked_in_published_list(db: Database, issuer: Issuer, keys, index: int) -> bool:
    path = issuer.folder / "status" / STATUS_FILE
    token = path.read_text(encoding="utf-8").strip() if path.is_file() else publish_status_list(db)
    listed = check(token, keys) if _header(token).get("kid") in keys else None
    if listed is None:  # a damaged or foreign list: sign it again from the decisions
        listed = check(publish_status_list(db), public_keys(issuer))
    return status_bit(listed["credentialSubject"]["encodedList"], index)


def verify(db: Database, text: str, now: Optional[_dt.datetime] = None) -> dict:
    """Verify a pasted or uploaded credential: status ('valid', 'expired', 'revoked', 'tampered',
    'unknown issuer', 'not a credential'), a reason sentence, holder, standard, valid_until."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    token = find_token(db, text)
    if token is None:
        return _result(NOT_A_CREDENTIAL, "This is not a credential: paste the credential file's text (a signed "
                       "VC-JWT) or the verification link printed on the certificate.")
    try:
        header, payload = _header(token), _b64json(token.split(".")[1])
        assert isinstance(header, dict) and isinstance(payload, dict)
        assert "VerifiableCredential" in payload.get("type", [])
    except (ValueError, AssertionError, UnicodeDecodeError, TypeError):
        return _result(NOT_A_CREDENTIAL, "This is not a credential: its parts are not a signed verifiable credential.")
    issuer = issuer_for(db)
    keys = public_keys(issuer)
    claimed = payload.get("issuer")
    claimed_id = claimed.get("id") if isinstance(claimed, dict) else claimed
    if header.get("kid") not in keys or claimed_id != issuer.id:
        return _result(UNKNOWN_ISSUER, f"This credential was not issued by {issuer.name}: its issuer or signing key "
                       "is not one of ours, so it cannot be verified here.", payload)
    signed = check(token, keys)
    if signed is None or signed != payload:
        return _result(TAMPERED, "The signature does not match the content: the credential was changed after it "
                       "was issued (for example the holder's name). Ask the holder for the original file.", payload)
    index = (payload.get("credentialStatus") or {}).get("statusListIndex")
    if index is not None and str(index).isdigit() and _revoked_in_published_list(db, issuer, keys, int(index)):
        reason = one(db, "SELECT reason, revoked_at FROM credential_revocations WHERE decision_id = ?", (int(index),))
        when = f" on {reason['revoked_at'][:10]}" if reason else ""
        return _result(REVOKED, f"{issuer.name} revoked this credential{when}.", payload)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if payload.get("validUntil") and payload["validUntil"] < stamp:
        return _result(EXPIRED, f"This credential expired on {payload['validUntil'][:10]}.", payload)
    if payload.get("validFrom") and payload["validFrom"] > stamp:
        return _result(TAMPERED, f"This credential is not valid before {payload['validFrom'][:10]}.", payload)
    r = _result(VALID, "", payload)
    r["reason"] = f"Signed by {issuer.name}; not revoked; valid until {r['valid_until'] or 'no expiry'}."
    return r
