"""User text is shown as text, never as Markdown (issue 15, finding 7), and a 3,000-character
text does not break a page (finding 6).

Hostile text goes into every field a user fills in (case pseudonym, transcript cue, rater
comment, evidence note, vignette answer, training-event title, display name, reasons) and the
pages are run through AppTest. No rendered Markdown body, alert, caption or label may hold an
image or a link (``](`` not escaped), an HTML tag or an autolink (``<`` not escaped), and the
escaped text must be on the page (so the field really was rendered)."""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from ipt_training import auth, fidelity
from ipt_training.config import get_settings
from ipt_training.credentials import evidence
from ipt_training.store import open_store, rows
from ipt_training.ui.text import plain

from apphelp import APP, sign_in_state, app_as

IMAGE = "![i](http://127.0.0.1:9999/x.png)"
LINK = "[link](javascript:alert(1))"
EVIL = f"{IMAGE} {LINK} <img src=x> :red[x] $x$"
MARKDOWN_FIELDS = {"body", "label", "help", "caption", "text"}
VTT = ("WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Therapist>" + EVIL + "\n\n"
       "00:00:05.000 --> 00:00:08.000\nClient: fine\n").encode()


def _strings(msg, field=""):
    """Every string field of a protobuf message (recursively) with its field name."""
    for desc, value in msg.ListFields():
        if desc.type == desc.TYPE_MESSAGE:
            for sub in ([value] if hasattr(value, "ListFields") else value):
                yield from _strings(sub, desc.name)
        elif desc.type == desc.TYPE_STRING:
            for s in ([value] if isinstance(value, str) else value):
                yield desc.name, s


def _rendered(at: AppTest) -> list[str]:
    """The Markdown-interpreted strings of every element on the page."""
    out, stack = [], [at._tree]
    while stack:
        node = stack.pop()
        stack.extend(getattr(node, "children", {}).values())
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "ListFields"):
            out.extend(s for name, s in _strings(proto) if name in MARKDOWN_FIELDS)
    return out


def assert_shown_as_text(at: AppTest, *needles: str) -> None:
    assert not at.exception, at.exception
    from ipt_training.ui.rating_widgets import FOCUS_CSS
    from ipt_training.ui.styles import CSS

    # the app's own style elements (constants, no user text in them) are the only HTML allowed
    shown = [s for s in _rendered(at) if s.strip() not in (FOCUS_CSS.strip(), CSS.strip())]
    for s in shown:
        assert not re.search(r"(?<!\\)\]\(", s), f"a Markdown link or image is rendered: {s[:200]!r}"
        assert not re.search(r"(?<!\\)<", s), f"HTML or an autolink is rendered: {s[:200]!r}"
    for needle in needles:
        assert any(plain(needle) in s for s in shown), f"{needle!r} is not on the page (escaped)"


@pytest.fixture
def hostile(app_demo):
    """The demo with hostile text in every field, and the people who see it."""
    db = open_store(app_demo)
    admin, sup, rater = (auth.find_user(db, n) for n in ("admin", "supervisor", "rater"))
    trainee = auth.find_user(db, "trainee")
    db.conn.execute("UPDATE users SET display_name = ? WHERE id = ?", (f"Tia {EVIL}", trainee.id))
    trainee = auth.get_user(db, trainee.id)
    ogg = (get_settings().content_dir / "ipt_training" / "demo_data" / "sessions" / "middle-dispute-daniel.ogg").read_bytes()
    sid = fidelity.add_session(db, get_settings(), trainee, trainee.id, "s.ogg", ogg, "s.vtt", VTT,
                               {"case_pseudonym": f"Case {IMAGE}", "session_number": 3, "phase": "middle",
                                "problem_area": "role_dispute"}, True)
    fidelity.assign(db, admin, sid, rater.id)
    r = fidelity.get_or_create_draft(db, rater, sid, "rater")
    session = fidelity.get_session(db, rater, sid)
    for it in fidelity.item_catalogue(fidelity.default_library(), r["instrument_id"], session):
        fidelity.save_item(db, rater, r["id"], it["id"], 4, False)
    fidelity.add_evidence_mark(db, rater, r["id"], 2.0, None, f"note {EVIL}")
    fidelity.set_comment(db, rater, r["id"], f"comment {EVIL}")
    fidelity.submit_rating(db, rater, r["id"])
    evidence.record_training_event(db, get_settings(), trainee, trainee.id, "2026-01-05", 3, f"Course {EVIL}",
                                   "Dr T", None)
    return {"db": db, "path": app_demo, "admin": admin, "sup": sup, "rater": rater, "trainee": trainee, "sid": sid}


def _workspace(user_id, sid, kind):
    at = AppTest.from_file(APP, default_timeout=60)
    sign_in_state(at, user_id)
    at.session_state["rating_session_id"], at.session_state["rating_kind"] = sid, kind
    at.run()
    at.switch_page("ipt_training/app_pages/rating_workspace.py")
    return at.run()


def test_the_rating_workspace_shows_pseudonym_cue_note_comment_and_name_as_text(hostile):
    at = _workspace(hostile["rater"].id, hostile["sid"], "rater")
    assert_shown_as_text(at, f"Case {IMAGE}", EVIL, f"note {EVIL}", f"comment {EVIL}", f"Tia {EVIL}")


def test_the_trainees_pages_show_their_texts_as_text(hostile):
    at = app_as(hostile["trainee"].id)
    assert_shown_as_text(at, f"Tia {EVIL}")  # Home's welcome title
    at = app_as(hostile["trainee"].id, "my_sessions.py")
    assert_shown_as_text(at, f"Case {IMAGE}")
    at = app_as(hostile["trainee"].id, "my_evidence.py")
    assert_shown_as_text(at)


def test_queues_and_assignments_show_names_and_pseudonyms_as_text(hostile):
    assert_shown_as_text(app_as(hostile["rater"].id, "rating_queue.py"), f"Case {IMAGE}", f"Tia {EVIL}")
    assert_shown_as_text(app_as(hostile["sup"].id, "supervisees.py"))
    assert_shown_as_text(app_as(hostile["admin"].id, "audit_log.py"))


def test_a_vignette_answer_is_shown_to_the_grader_as_text(hostile):
    db = hostile["db"]
    queue = rows(db, """SELECT a.id, a.answers FROM vignette_attempts a WHERE a.status = 'submitted'
                        AND a.trainee_id IN (SELECT trainee_id FROM supervision_links WHERE supervisor_id = ?)
                        ORDER BY a.id LIMIT 1""", (hostile["sup"].id,))
    assert queue, "the demo has an attempt awaiting the supervisor's grading"
    answers = json.loads(queue[0]["answers"])
    answers["formulation"] = f"formulation {EVIL}"
    for m in answers.get("moments", {}).values():
        m["response"] = f"response {EVIL}"
    db.conn.execute("UPDATE vignette_attempts SET answers = ? WHERE id = ?", (json.dumps(answers), queue[0]["id"]))
    at = app_as(hostile["sup"].id, "grading_queue.py")
    at.selectbox(key="gq_attempt").set_value(queue[0]["id"]).run()
    assert_shown_as_text(at, f"formulation {EVIL}")


def test_an_upload_refusal_naming_the_file_is_text(hostile):
    db, trainee = hostile["db"], hostile["trainee"]
    with pytest.raises(fidelity.FidelityError) as err:
        fidelity.add_session(db, get_settings(), trainee, trainee.id, f"{LINK}.exe", b"x", None, None,
                             {"case_pseudonym": "A", "session_number": 1, "phase": "middle",
                              "problem_area": "role_dispute"}, True)
    assert "](" in str(err.value)  # the refusal names the file as given ...
    assert not re.search(r"(?<!\\)\]\(", plain(str(err.value)))  # ... and the page shows it escaped


def test_plain_keeps_ordinary_text_readable():
    assert plain("Ana's 2nd session: 4/5 (good).") == "Ana's 2nd session\\: 4/5 (good)."
    assert plain("# big\n- item\n12. x\nsee www.x.org") == "\\# big  \n\\- item  \n12\\. x  \nsee www\\.x.org"
    assert plain("line one\n    line two") == "line one  \nline two"
    assert plain(None) == ""


LONG = ("Averyveryverylongwordwithoutanyspaces" * 90)[:3000]


def test_a_3000_character_name_comment_note_and_reason_break_no_page(hostile):
    """Finding 6 (pages; PDFs are tested in tests/test_pdfs.py): every page of each role runs."""
    db = hostile["db"]
    for who in ("trainee", "rater", "sup"):
        db.conn.execute("UPDATE users SET display_name = ? WHERE id = ?", (f"{who} {LONG}", hostile[who].id))
    rid = rows(db, "SELECT id FROM ratings WHERE session_id = ? AND kind = 'rater'", (hostile["sid"],))[0]["id"]
    db.conn.execute("UPDATE ratings SET comment = ? WHERE id = ?", (LONG, rid))
    db.conn.execute("UPDATE evidence_marks SET note = ? WHERE rating_id = ?", (LONG, rid))
    fidelity.reopen_rating(db, hostile["admin"], rid, LONG)
    pages = {"trainee": ["home.py", "my_sessions.py", "my_evidence.py", "my_readiness.py", "progress.py"],
             "rater": ["rating_queue.py", "calibration.py", "my_evidence.py"],
             "sup": ["supervisees.py", "assignments.py", "grading_queue.py"],
             "admin": ["audit_log.py", "users.py", "credential_review.py", "recordings_admin.py"]}
    for who, names in pages.items():
        for page in names:
            at = app_as(hostile[who].id, page)
            assert not at.exception, (who, page, at.exception)
    at = _workspace(hostile["rater"].id, hostile["sid"], "rater")
    assert not at.exception and any(plain(LONG) in s for s in _rendered(at))
