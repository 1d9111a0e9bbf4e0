"""Browser journey (issue 14): someone without an account verifies a certificate on the public
page: the valid credential of the demo award, then the same file with the holder's name
changed by one letter, which the page calls tampered."""

from __future__ import annotations

import base64
import json
import sqlite3

import pytest

from .conftest import open_app

expect = pytest.importorskip("playwright.sync_api").expect


def _token(data_dir) -> str:
    with sqlite3.connect(data_dir / "app.db") as conn:
        return conn.execute("""SELECT i.token FROM issued_credentials i JOIN credential_decisions d ON d.id = i.decision_id
                               JOIN users u ON u.id = d.trainee_id WHERE u.username = 'supervisor'""").fetchone()[0]


def _tampered(token: str) -> str:
    head, body, sig = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["credentialSubject"]["name"] = "Pam" + payload["credentialSubject"]["name"][3:]
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return ".".join([head, base64.urlsafe_b64encode(raw).decode().rstrip("="), sig])


def test_a_visitor_verifies_a_certificate_without_signing_in(demo_server, page):
    token = _token(demo_server.data_dir)
    open_app(page, demo_server.url)
    page.get_by_role("heading", name="Sign in").wait_for()
    page.get_by_text("Verify a certificate (no sign-in needed)").click()
    page.get_by_role("heading", name="Verify a certificate").wait_for()
    main = page.get_by_test_id("stMain")

    box = page.get_by_label("Credential or verification link")
    box.fill(token)
    page.get_by_role("button", name="Verify").click()
    expect(main).to_contain_text("Valid")
    expect(main).to_contain_text("Holder: Sam Supervisor")
    expect(main).to_contain_text("Standard: IPT therapist")

    box.fill(_tampered(token))
    page.get_by_role("button", name="Verify").click()
    expect(main).to_contain_text("Tampered")
    expect(main).to_contain_text("Holder: Pam Supervisor")
    expect(main).not_to_contain_text("Holder: Sam Supervisor")
