"""Key secrecy on retakes (issue 18): while a retake of a vignette is open, the earlier attempts'
feedback (score breakdown, expert key, rationales, model responses) is hidden everywhere the
trainee can look, in the core and on every page; it is readable again once the retake is in."""

from __future__ import annotations

from ipt_training.store import open_store, rows
from ipt_training.vignettes import attempt_view_for, current_draft, reveal_next_stage, save_draft, start_attempt, submit_attempt

from apphelp import app_as, texts
from test_vignette_practice import _everything, _full_attempt, _open_workspace, _secret_phrases, _uid, lib, people  # noqa: F401
from test_vignette_scoring import _answers


def test_the_core_hides_earlier_feedback_while_a_retake_is_open(db, lib, people):  # noqa: F811
    t1, sup = people["t1"], people["sup"]
    first = _full_attempt(db, lib, t1)
    assert attempt_view_for(db, lib, t1, first)["key"] is not None
    retake = start_attempt(db, lib, t1, "t-move")["id"]
    hidden = attempt_view_for(db, lib, t1, first)
    assert hidden["feedback_hidden"] is True
    assert hidden["key"] is None and hidden["result"] is None and hidden["case"] is None
    assert hidden["graded_criteria"] == [] and hidden["rubric"] is None
    # the supervisor is not practising: their view keeps the key
    assert attempt_view_for(db, lib, sup, first)["key"] is not None
    # the retake's own draft view has no key either
    assert attempt_view_for(db, lib, t1, retake)["key"] is None
    for _ in range(3):
        reveal_next_stage(db, lib, t1, retake)
    save_draft(db, lib, t1, retake, _answers())
    submit_attempt(db, lib, t1, retake)
    for aid in (first, retake):
        view = attempt_view_for(db, lib, t1, aid)
        assert view["feedback_hidden"] is False and view["key"] is not None and view["result"] is not None


def _graded_vignette(path, library, username):
    db = open_store(path)
    uid = _uid(path, username)
    drafts = {r["vignette_id"] for r in rows(db, "SELECT vignette_id FROM vignette_attempts WHERE trainee_id = ? "
                                                 "AND status = 'draft'", (uid,))}
    att = next(a for a in rows(db, "SELECT * FROM vignette_attempts WHERE trainee_id = ? AND status = 'graded' "
                                   "ORDER BY id", (uid,)) if a["vignette_id"] not in drafts)
    return library.vignettes[att["vignette_id"]], att["id"], db, uid


def test_no_page_shows_earlier_feedback_while_a_retake_is_open(app_demo, library):
    v, earlier, db, uid = _graded_vignette(app_demo, library, "trainee")
    secrets = _secret_phrases(v)
    at = _open_workspace(app_as(uid), v.id)
    page = _everything(at)
    assert all(s in page for s in secrets), "the walker sees the earlier attempt's key before the retake"
    at.button(key="ws_start").click().run()
    assert not at.exception, at.exception
    assert current_draft(db, uid, v.id) is not None
    page = _everything(at)
    assert "Stage 1: " in texts(at) and "hidden while a retake is in progress" in texts(at)
    assert not [s for s in secrets if s in page]
    # My progress lists the attempt; choosing it shows no feedback while the retake is open
    at = app_as(uid, "progress.py")
    at.selectbox(key="prog_attempt").set_value(earlier).run()
    assert not at.exception, at.exception
    page = _everything(at)
    assert not [s for s in secrets if s in page]
    assert "hidden while your retake of it is in progress" in texts(at)
    assert not at.metric  # no score card
