"""Every PDF of the platform (issue 14): long text wraps and runs on to the next page, any
Unicode name prints (checked in the PDF's text layer), and a PDF that cannot be built is a
sentence on the page while the rest of the page works."""

from __future__ import annotations

import datetime as _dt

import pytest

from ipt_training import auth, credentials, reports
from ipt_training.reliability import report_data as rd, report_export
from ipt_training.store import open_store

from apphelp import app_as, texts
from pdfhelp import pdf_pages, pdf_text

THERAPIST = "ipt-therapist-example"
TODAY = _dt.date.today()
LONG_REASON = ("The panel accepted the portfolio after a second reading of the case reports and the "
               "supervisor's statement. " * 40)[:3000]
LONG_NAME = ("Maria-Fernanda de los Santos Oliveira " * 90)[:3000]
NAMES = {"Arabic": "محمد علي", "Hebrew": "דוד כהן", "Polish": "Łukasz Żółć", "Chinese": "王小明"}


def _rename(db, username: str, name: str) -> auth.User:
    # written straight to the table: a name from an older version or an institution's directory
    db.conn.execute("UPDATE users SET display_name = ? WHERE username = ?", (name, username))
    return auth.find_user(db, username)


def _award(db, library, username: str, reasons: str = "") -> int:
    person, admin = auth.find_user(db, username), auth.find_user(db, "admin")
    return credentials.record_decision(db, admin, person.id, library.standards[THERAPIST], "award", reasons, TODAY,
                                       library=library)


def _all_pdfs(db, library, username: str) -> dict[str, bytes]:
    """The readiness report, the certificate and the reliability report, each naming ``username``."""
    person = auth.find_user(db, username)
    award = _award(db, library, username, LONG_REASON)
    report = rd.reliability_report(db, library, "ipt-session-fidelity")
    return {"readiness": credentials.readiness_pdf(db, library, person.id, library.standards[THERAPIST], TODAY),
            "certificate": credentials.certificate_pdf(db, award, TODAY),
            "reliability": report_export.report_pdf(report)}


def test_long_reason_and_long_name_in_every_pdf(demo_db, library):
    _rename(demo_db, "trainee.ready", LONG_NAME)
    _rename(demo_db, "rater", LONG_NAME)  # a rater's name is in the reliability report
    for kind, data in _all_pdfs(demo_db, library, "trainee.ready").items():
        assert data.startswith(b"%PDF-"), kind
        text = " ".join(pdf_text(data).split())
        # the whole name is there, wrapped over lines (and pages) rather than cut off
        assert "Oliveira Maria-Fernanda de los Santos Oliveira" in text, kind
        assert text.count("Maria-Fernanda") >= LONG_NAME.count("Maria-Fernanda"), kind
        assert pdf_pages(data) >= 2, kind
    readiness = " ".join(pdf_text(_all_pdfs(demo_db, library, "trainee.near")["readiness"]).split())
    tail = " ".join(LONG_REASON.split()[-12:])
    assert tail in readiness  # the end of the reason: nothing cut off
    assert readiness.count("second reading") >= LONG_REASON.count("second reading")


@pytest.mark.parametrize("script", sorted(NAMES))
def test_non_latin_names_are_in_the_text_layer_of_every_pdf(demo_db, library, script):
    name = NAMES[script]
    _rename(demo_db, "trainee.ready", name)
    _rename(demo_db, "rater", name)
    for kind, data in _all_pdfs(demo_db, library, "trainee.ready").items():
        text = pdf_text(data)
        assert name in text, (kind, script)
        assert "?" * 3 not in text, (kind, script)


def test_emoji_are_replaced_and_the_rest_of_the_name_prints(demo_db, library):
    person = _rename(demo_db, "trainee.ready", "Ana Lima \U0001F469\u200D\u2695\uFE0F \U0001F9EA")
    text = pdf_text(credentials.certificate_pdf(demo_db, _award(demo_db, library, "trainee.ready"), TODAY))
    assert "Ana Lima" in text and "\u200d" not in text and "\ufe0f" not in text
    assert person.display_name.split()[0] in text


def test_missing_cjk_font_is_a_sentence(monkeypatch):
    monkeypatch.setattr(reports, "FALLBACK_FONT_PATHS", ())
    monkeypatch.delenv("IPT_TRAINING_PDF_FALLBACK_FONT", raising=False)
    pdf = reports.Report("Readiness", "")
    with pytest.raises(reports.PdfError, match="fonts-droid-fallback"):
        pdf.paragraph("王小明")
    # Arabic and Hebrew need no fallback font
    pdf.paragraph("محمد علي, דוד כהן")
    assert "محمد علي" in pdf_text(pdf.to_bytes())


def test_right_to_left_text_is_shaped_in_logical_order():
    pdf = reports.Report("Certificate", "")
    pdf.paragraph("Holder: محمد علي, certified.")
    text = pdf_text(pdf.to_bytes())
    assert "محمد علي" in text and "Holder:" in text


def test_a_pdf_that_cannot_be_built_is_a_sentence_and_the_page_goes_on(app_demo, library, monkeypatch):
    db = open_store(app_demo)
    _award(db, library, "trainee.ready")
    rosa = auth.find_user(db, "trainee.ready")

    def broken(*args, **kwargs):
        raise RuntimeError("font table damaged")

    monkeypatch.setattr(credentials, "certificate_pdf", broken)
    at = app_as(rosa.id, "my_readiness.py", timeout=90)
    assert not at.exception
    assert any("could not be built (error " in e.value for e in at.error)
    page = texts(at)
    assert "font table damaged" not in page
    assert "Where I stand" in page and "Decisions on this credential" in page  # the rest of the page


def test_review_page_survives_a_3000_character_reason(app_demo, library):
    db = open_store(app_demo)
    near, admin = auth.find_user(db, "trainee.near"), auth.find_user(db, "admin")
    credentials.record_decision(db, admin, near.id, library.standards[THERAPIST], "defer", LONG_REASON, TODAY,
                                library=library)
    at = app_as(admin.id, "credential_review.py", timeout=90)
    at.selectbox(key="cr_trainee").set_value(near.id).run(timeout=90)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any(b.label == "Readiness report (PDF)" for b in at.get("download_button"))
