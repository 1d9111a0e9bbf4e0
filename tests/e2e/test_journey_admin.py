"""Browser journey (issue 5, issue 6, issue 7): the training body's administrator downloads the
reliability report (CSV and PDF) and awards a credential to a ready trainee, then downloads the
certificate."""

import csv
import io
import re
import sqlite3
from pathlib import Path

import pytest

from .conftest import sign_in
from .test_journey_trainee import choose, nav, settle

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.e2e


def _download(page, button_name, server=None):
    """Click a download button and return (file name, bytes).

    The PDFs are made on demand (``st.download_button`` with a callable). In Streamlit 1.67 a
    click on such a button now and then does nothing: the server logs "Deferred file ... not
    found" and no file comes (reproduced with a seven-line app, outside this project). A person
    clicks again, so the journey does too, once; if that fails as well, the server's log goes
    into the failure report.
    """
    settle(page)
    for attempt in (1, 2):
        try:
            with page.expect_download(timeout=20_000 if attempt == 1 else 60_000) as info:
                page.get_by_role("button", name=button_name).click()
            break
        except Exception:
            if attempt == 2:
                if server is not None:
                    print("--- streamlit log (tail) ---\n" + Path(server.log.name).read_text(errors="replace")[-4000:])
                raise
            settle(page)
    download = info.value
    return download.suggested_filename, open(download.path(), "rb").read()


def test_admin_downloads_the_reliability_report(demo_server, page):
    sign_in(page, demo_server.url, "admin", "admin-demo-pass")
    nav(page, "Reliability report")
    # the statistics run first; wait for the whole page, so a click is not lost to a redraw
    page.get_by_role("heading", name="Rater certification and drift").wait_for(timeout=60_000)

    name, data = _download(page, "Download CSV", demo_server)
    assert name.startswith("reliability-") and name.endswith(".csv")
    table = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert table, "the CSV has figures"
    assert {"scope", "statistic", "value", "n_double_rated_sessions"} <= set(table[0])
    # the figures are the report's on the server's data (the admin is blind to no session here)
    from ipt_training import auth, fidelity
    from ipt_training.config import PROJECT_ROOT
    from ipt_training.content import load_library
    from ipt_training.reliability import report_data as rd
    from ipt_training.store import open_store

    db = open_store(demo_server.data_dir / "app.db")
    assert not fidelity.blind_session_ids(db, auth.find_user(db, "admin"))
    report = rd.reliability_report(db, load_library(PROJECT_ROOT), "ipt-session-fidelity")
    total = report["total"]
    (icc_row,) = [r for r in table if r["scope"] == "total" and r["statistic"] == "ICC(1,1)"]
    assert float(icc_row["value"]) == pytest.approx(total["icc"], abs=1e-9)
    assert float(icc_row["ci95_low"]) == pytest.approx(total["ci_low"], abs=1e-9)
    assert int(icc_row["n_double_rated_sessions"]) == report["n_double_rated"] > 0
    assert icc_row["interpretation"] == total["band"]

    page.get_by_role("button", name="Build PDF report").click()  # built on demand, not on every visit
    page.get_by_role("button", name="Download PDF report").wait_for()
    name, data = _download(page, "Download PDF report", demo_server)
    assert name.endswith(".pdf")
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    from pdfhelp import pdf_text

    text = pdf_text(data)
    assert "Agreement per item and for the session score" in text and "Pass/fail decisions" in text and "ICC(1,1)" in text
    assert f"{total['icc']:.2f}" in text and report["model"]["statement"][:60] in " ".join(text.split())


def test_admin_awards_a_credential_and_downloads_the_certificate(demo_server, page):
    sign_in(page, demo_server.url, "admin", "admin-demo-pass")
    nav(page, "Credential review")
    main = page.get_by_test_id("stMain")
    choose(page, page, "Person", re.compile(r"^Rosa Ready \(trainee\.ready\): ready for review$"))
    page.get_by_role("heading", name="Rosa Ready").wait_for()
    expect(main).to_contain_text("9 of 9 requirements met")
    expect(main).to_contain_text("No decision recorded yet.")

    form = page.get_by_test_id("stForm")
    form.get_by_text("Award", exact=True).click()
    expect(form.get_by_role("radio", name="Award", exact=True)).to_be_checked()
    form.get_by_role("button", name="Record decision").click()
    page.get_by_text(re.compile(r"Decision \d+ recorded: award for Rosa Ready")).wait_for()
    settle(page)
    expect(main).not_to_contain_text("No decision recorded yet.")

    name, data = _download(page, re.compile(r"^Certificate for award \d+ \(PDF\)$"), demo_server)
    assert name.startswith("certificate-trainee.ready-") and name.endswith(".pdf")
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")

    with sqlite3.connect(demo_server.data_dir / "app.db") as conn:
        decision, reviewer, expires, snapshot = conn.execute(
            """SELECT d.decision, r.username, d.expires_on, d.evidence_snapshot FROM credential_decisions d
               JOIN users t ON t.id = d.trainee_id JOIN users r ON r.id = d.reviewer_id
               WHERE t.username = 'trainee.ready' ORDER BY d.id DESC LIMIT 1""").fetchone()
    assert (decision, reviewer) == ("award", "admin")
    assert expires and len(snapshot) > 100  # an expiry date and a snapshot of the evidence

    # the trainee sees the award
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    sign_in(page, demo_server.url, "trainee.ready", "trainee-demo-pass")
    nav(page, "My credential readiness")
    expect(main).to_contain_text("Awarded: IPT therapist")


def test_admin_finds_audit_lines_and_downloads_them(demo_server, page):
    """Issue 17: every admin page is in the sidebar (none behind "View more"); the audit log is
    searched by person and the matching lines download as CSV, the export itself audited."""
    from ipt_training.access import pages_for

    sign_in(page, demo_server.url, "admin", "admin-demo-pass")
    menu = page.get_by_test_id("stSidebarNav")
    for spec in pages_for({"admin"}):
        expect(menu.get_by_role("link", name=spec.title, exact=True)).to_be_visible()
    expect(menu.get_by_text(re.compile(r"^View( \d+)? more"))).to_have_count(0)

    nav(page, "Audit log")
    who = page.get_by_label("Person (sign-in name or full name)")
    who.fill("TRAINEE.READY")
    who.press("Enter")
    settle(page)
    page.get_by_role("button", name=re.compile(r"^Export the [\d,]+ matching entries as CSV$")).click()
    settle(page)
    name, data = _download(page, "Download the CSV", demo_server)
    assert name == "audit_log.csv"
    table = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert table and {r["who"] for r in table} == {"trainee.ready"}
    with sqlite3.connect(demo_server.data_dir / "app.db") as conn:
        n, = conn.execute("""SELECT COUNT(*) FROM audit_log a JOIN users u ON u.id = a.actor_id
                             WHERE u.username = 'trainee.ready'""").fetchone()
        exported, = conn.execute("SELECT detail FROM audit_log WHERE action = 'export_audit_log' "
                                 "ORDER BY id DESC LIMIT 1").fetchone()
    assert len(table) == n and f'"lines": {n}' in exported
