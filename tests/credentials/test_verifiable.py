"""Verifiable credentials (issue 14): the Open Badges 3.0 structure, signing, the command line
round trip export -> verify -> tamper -> revoke, keys and rotation, the status list, the
certificate's QR code and credential id, and the public Verify a certificate page."""

from __future__ import annotations

import base64
import datetime as _dt
import gzip
import io
import json
import stat

import pytest
from pypdf import PdfReader

from ipt_training import auth, credentials
from ipt_training.cli import main
from ipt_training.credentials import issuer as issuer_mod, verifiable
from ipt_training.store import open_store, rows

from apphelp import app_as
from pdfhelp import pdf_text

THERAPIST = "ipt-therapist-example"
TODAY = _dt.date.today()


def _b64(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _sam_award(db) -> int:
    sam = auth.find_user(db, "supervisor")
    return next(r["decision_id"] for r in verifiable.award_rows(db, sam.id))


def _tamper_holder(token: str) -> str:
    """The same token with one character of the holder's name changed, the signature kept."""
    head, body, sig = token.split(".")
    payload = _b64(body)
    name = payload["credentialSubject"]["name"]
    payload["credentialSubject"]["name"] = ("X" if name[0] != "X" else "Y") + name[1:]
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return ".".join([head, base64.urlsafe_b64encode(raw).decode().rstrip("="), sig])


# --- the credential ---------------------------------------------------------------------------

# Open Badges 3.0 (1EdTech, 3.0.3) and VC Data Model 2.0, the properties marked required
# ([1] or [1..*]) for the classes an award uses, written out from the specification.
OB3_REQUIRED = {
    "OpenBadgeCredential": ["@context", "id", "type", "issuer", "validFrom", "name", "credentialSubject"],
    "Profile": ["id", "type"],
    "AchievementSubject": ["type", "achievement"],
    "Achievement": ["id", "type", "name", "description", "criteria"],
    "BitstringStatusListEntry": ["id", "type", "statusPurpose", "statusListIndex", "statusListCredential"],
}


def test_award_credential_has_the_open_badges_3_structure(demo_db, library):
    token = verifiable.credential_for(demo_db, _sam_award(demo_db))["token"]
    header, c = _b64(token.split(".")[0]), _b64(token.split(".")[1])
    assert header["alg"] == "EdDSA" and header["typ"] == "vc+jwt" and header["kid"]
    for field in OB3_REQUIRED["OpenBadgeCredential"]:
        assert field in c, field
    assert c["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert c["@context"][1].startswith("https://purl.imsglobal.org/spec/ob/v3p0/context-3.0")
    assert {"VerifiableCredential", "OpenBadgeCredential"} <= set(c["type"])
    assert c["id"].startswith("urn:uuid:")
    for field in OB3_REQUIRED["Profile"]:
        assert field in c["issuer"]
    assert "Profile" in c["issuer"]["type"] and c["issuer"]["name"] == "IPT Training Body"
    subject = c["credentialSubject"]
    for field in OB3_REQUIRED["AchievementSubject"]:
        assert field in subject
    assert "AchievementSubject" in subject["type"] and subject["name"] == "Sam Supervisor"
    achievement = subject["achievement"]
    for field in OB3_REQUIRED["Achievement"]:
        assert field in achievement
    std = library.standards[THERAPIST]
    assert "Achievement" in achievement["type"] and achievement["name"] == std.name
    assert achievement["version"] == std.version and achievement["criteria"]["narrative"]
    assert achievement["otherIdentifier"][0]["identifier"] == f"sha256:{std.content_hash}"
    status = c["credentialStatus"]
    for field in OB3_REQUIRED["BitstringStatusListEntry"]:
        assert field in status
    decision = rows(demo_db, "SELECT * FROM credential_decisions WHERE id = ?", (_sam_award(demo_db),))[0]
    assert status["statusListIndex"] == str(decision["id"]) and status["statusPurpose"] == "revocation"
    assert c["validUntil"].startswith(decision["expires_on"]) and c["validFrom"] < c["validUntil"]
    # nothing clinical: no evidence, readiness, ratings or recordings; no case of the holder's
    keys = set()

    def walk(x):
        if isinstance(x, dict):
            keys.update(x)
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(c)
    assert not keys & {"evidence", "readiness", "ratings", "rated_sessions", "cases", "evidence_snapshot", "reasons"}
    text = json.dumps(c)
    for word in ("Case R", "Case N", "Case T", ".ogg", "pseudonym"):
        assert word not in text


def test_email_goes_in_only_as_a_salted_hash(db, library):
    t = auth.create_user(db, "tina", "a-Long-passphrase-42!", ["trainee"], "Tina", "tina@example.org")
    admin = auth.create_user(db, "ada", "a-Long-passphrase-42!", ["admin"], "Ada")
    did = credentials.record_decision(db, admin, t.id, library.standards[THERAPIST], "award", "Paper portfolio.",
                                      TODAY, library=library)
    token = verifiable.credential_for(db, did)["token"]
    assert "tina@example.org" not in json.dumps(_b64(token.split(".")[1]))
    [hashed] = [i for i in _b64(token.split(".")[1])["credentialSubject"]["identifier"] if i["hashed"]]
    import hashlib

    assert hashed["identityHash"] == "sha256$" + hashlib.sha256(("tina@example.org" + hashed["salt"]).encode()).hexdigest()


# --- the command line round trip ------------------------------------------------------------------


def test_export_verify_tamper_revoke_from_the_command_line(demo_db_path, tmp_path, capsys):
    db = open_store(demo_db_path)
    did = _sam_award(db)
    out = tmp_path / "sam.jwt"
    assert main(["--db", str(demo_db_path), "credential", "list"]) == 0
    listing = capsys.readouterr().out
    assert f"{did} " in listing and "Sam Supervisor" in listing and "valid" in listing
    assert main(["--db", str(demo_db_path), "credential", "export", str(did), "--out", str(out)]) == 0
    capsys.readouterr()

    assert main(["--db", str(demo_db_path), "verify", str(out)]) == 0
    expires = rows(db, "SELECT expires_on FROM credential_decisions WHERE id = ?", (did,))[0]["expires_on"]
    assert capsys.readouterr().out.strip() == (f"valid: Sam Supervisor, IPT therapist (EXAMPLE standard, adapt before "
                                               f"use), valid until {expires}")

    bad = tmp_path / "tampered.jwt"
    bad.write_text(_tamper_holder(out.read_text().strip()))
    assert main(["--db", str(demo_db_path), "verify", str(bad)]) == 1
    assert capsys.readouterr().out.startswith("tampered:")

    assert main(["--db", str(demo_db_path), "credential", "revoke", str(did), "--reason", "Awarded in error."]) == 0
    capsys.readouterr()
    assert main(["--db", str(demo_db_path), "verify", str(out)]) == 1
    assert capsys.readouterr().out.startswith("revoked:")
    assert main(["--db", str(demo_db_path), "credential", "list", "--user", "supervisor"]) == 0
    assert "revoked" in capsys.readouterr().out
    # a revocation is append-only and final
    assert main(["--db", str(demo_db_path), "credential", "revoke", str(did), "--reason", "Again."]) == 1
    with pytest.raises(Exception, match="append-only"):
        db.conn.execute("DELETE FROM credential_revocations")


def test_verify_exit_2_for_a_file_that_is_not_a_credential(demo_db_path, tmp_path, capsys):
    for content in (b"hello", b"\xff\xfe\x00binary", json.dumps({"type": ["Something"]}).encode(),
                    b"a.b.c"):
        f = tmp_path / "x.txt"
        f.write_bytes(content)
        assert main(["--db", str(demo_db_path), "verify", str(f)]) == 2, content
        assert "not a credential" in capsys.readouterr().err


def test_credential_commands_refuse_with_a_sentence(demo_db_path, capsys):
    db = open_store(demo_db_path)
    deferral = rows(db, "SELECT id FROM credential_decisions WHERE decision = 'defer'")[0]["id"]
    assert main(["--db", str(demo_db_path), "credential", "export", str(deferral), "--out", "/tmp/x.jwt"]) == 1
    assert "only an award has a credential" in capsys.readouterr().err
    assert main(["--db", str(demo_db_path), "credential", "revoke", "999", "--reason", "x"]) == 1
    assert "no decision 999" in capsys.readouterr().err
    assert main(["--db", str(demo_db_path), "credential", "list", "--user", "nobody"]) == 2


def test_expired_and_foreign_credentials(demo_db, tmp_path):
    token = verifiable.credential_for(demo_db, _sam_award(demo_db))["token"]
    later = _dt.datetime(2100, 1, 1, tzinfo=_dt.timezone.utc)
    assert verifiable.verify(demo_db, token, now=later)["status"] == "expired"
    # the same credential signed by another body's key
    other = issuer_mod.Issuer("Other Body", "http://localhost:8501", tmp_path / "other")
    forged = issuer_mod.sign(other, _b64(token.split(".")[1]), "vc+jwt")
    r = verifiable.verify(demo_db, forged)
    assert r["status"] == "unknown issuer" and r["holder"] == "Sam Supervisor"


# --- keys and the status list ----------------------------------------------------------------------


def test_init_creates_an_owner_only_key_and_rotation_keeps_old_keys(tmp_path, capsys):
    dbfile = tmp_path / "body.db"
    assert main(["--db", str(dbfile), "init"]) == 0
    keys = list((tmp_path / "issuer" / "keys").glob("*.jwk"))
    assert len(keys) == 1 and stat.S_IMODE(keys[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "issuer" / "keys").stat().st_mode) == 0o700
    assert (tmp_path / "issuer" / "status" / "revocation.jwt").is_file()
    db = open_store(dbfile)
    a = auth.create_user(db, "ada", "a-Long-passphrase-42!", ["admin"], "Ada")
    t = auth.create_user(db, "tina", "a-Long-passphrase-42!", ["trainee"], "Tina")
    from ipt_training.content import load_library
    from apphelp import ROOT

    library = load_library(ROOT)
    first = credentials.record_decision(db, a, t.id, library.standards[THERAPIST], "award", "Paper.", TODAY,
                                        library=library)
    old_token = verifiable.credential_for(db, first)["token"]
    assert main(["--db", str(dbfile), "credential", "rotate-key"]) == 0
    assert len(list((tmp_path / "issuer" / "keys").glob("*.jwk"))) == 2
    assert verifiable.verify(db, old_token)["status"] == "valid"  # the old key still verifies
    o = auth.create_user(db, "otto", "a-Long-passphrase-42!", ["trainee"], "Otto")
    second = credentials.record_decision(db, a, o.id, library.standards[THERAPIST], "award", "Paper.", TODAY,
                                         library=library)
    new_token = verifiable.credential_for(db, second)["token"]
    assert _b64(new_token.split(".")[0])["kid"] != _b64(old_token.split(".")[0])["kid"]
    assert verifiable.verify(db, new_token)["status"] == "valid"


def test_status_list_bits_follow_the_spec_order():
    encoded = verifiable.encode_status_list({0, 9, 131071})
    assert encoded.startswith("u")
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert len(raw) == 16384  # 131,072 bits
    assert raw[0] == 0b10000000 and raw[1] == 0b01000000 and raw[-1] == 0b00000001 and sum(raw[2:-1]) == 0
    assert verifiable.status_bit(encoded, 9) and not verifiable.status_bit(encoded, 8)


def test_refusal_withdrawing_an_award_revokes_its_credential(demo_db, library):
    did = _sam_award(demo_db)
    token = verifiable.credential_for(demo_db, did)["token"]
    sam, admin = auth.find_user(demo_db, "supervisor"), auth.find_user(demo_db, "admin")
    credentials.record_decision(demo_db, admin, sam.id, library.standards[THERAPIST], "refuse",
                                "Awarded on papers that proved false.", TODAY, library=library, supersedes=did)
    assert verifiable.verify(demo_db, token)["status"] == "revoked"
    reason = rows(demo_db, "SELECT reason FROM credential_revocations WHERE decision_id = ?", (did,))[0]["reason"]
    assert "papers that proved false" in reason


# --- certificate and the public page ---------------------------------------------------------------


def test_certificate_carries_credential_id_qr_code_and_issuer(demo_db):
    did = _sam_award(demo_db)
    issued = verifiable.credential_for(demo_db, did)
    data = credentials.certificate_pdf(demo_db, did, TODAY)
    text = " ".join(pdf_text(data).split())
    assert issued["credential_id"] in text and "IPT Training Body" in text
    assert f"verify?credential={issued['credential_id']}" in text.replace(" ", "")
    images = [img for page in PdfReader(io.BytesIO(data)).pages for img in page.images]
    assert len(images) == 1  # the QR code
    assert "(edit me)" not in text


def test_verify_page_needs_no_sign_in(app_demo):
    db = open_store(app_demo)
    token = verifiable.credential_for(db, _sam_award(db))["token"]
    at = app_as(None, "verify.py", timeout=60)
    assert not at.exception
    at.text_area(key="vf_text").input(token)
    at.button(key="vf_go").click().run()
    assert [s.value for s in at.success] == ["Valid"]
    shown = [t.value for t in at.text]
    assert "Holder: Sam Supervisor" in shown and any(s.startswith("Standard: IPT therapist") for s in shown)
    at.text_area(key="vf_text").input(_tamper_holder(token))
    at.button(key="vf_go").click().run()
    assert [e.value for e in at.error] == ["Tampered"]
    at.text_area(key="vf_text").input("just some words")
    at.button(key="vf_go").click().run()
    assert [e.value for e in at.error] == ["Not a credential"]


def test_verify_page_opens_from_the_qr_link(app_demo):
    db = open_store(app_demo)
    cid = verifiable.credential_for(db, _sam_award(db))["credential_id"]
    from streamlit.testing.v1 import AppTest
    from apphelp import APP

    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["credential"] = cid
    at.run()
    at.switch_page("ipt_training/app_pages/verify.py")
    at.query_params["credential"] = cid
    at.run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Valid"]
