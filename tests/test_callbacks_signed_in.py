"""A widget's save callback runs before the page's script, so before the router's sign-in
check: a sign-in that ended or was revoked meanwhile must write nothing (the next run shows the
sign-in page). Each test saves once while signed in (the control), then ends the sign-in from
outside the tab and makes the same kind of change."""

from __future__ import annotations

import pytest

from ipt_training import auth, auth_sessions, fidelity
from ipt_training.store import open_store, rows
from ipt_training.vignettes import current_draft, library_rows

from apphelp import app_as, sign_in_state

WORKSPACE = "ipt_training/app_pages/rating_workspace.py"


def _end_sign_in(path, at, how: str) -> None:
    db = open_store(path)
    user_id = at.session_state["user_id"]
    if how == "signed out elsewhere":
        assert auth_sessions.end(db, at.session_state["auth_session_id"], "sign_out") is True
    else:  # an admin revokes every session of the person
        admin = auth.find_user(db, "admin")
        assert auth_sessions.end_all(db, user_id, admin.id) >= 1


def _on_the_sign_in_page(at) -> bool:
    return "user_id" not in at.session_state and any(b.label == "Sign in" for b in at.button)


@pytest.mark.parametrize("how", ["signed out elsewhere", "revoked by an admin"])
def test_an_item_score_after_the_sign_in_ended_is_not_saved(app_demo, how):
    db = open_store(app_demo)
    rater = auth.find_user(db, "rater")
    sid = rows(db, "SELECT id FROM recorded_sessions WHERE case_pseudonym = 'Case T1' AND session_number = 2")[0]["id"]
    at = app_as(None)
    sign_in_state(at, rater.id)
    at.session_state["rating_session_id"], at.session_state["rating_kind"] = sid, "rater"
    at.run()
    at.switch_page(WORKSPACE)
    at.run()
    assert not at.exception, at.exception
    first, second = [s for s in at.segmented_control if s.key and s.key.startswith("score_")][:2]
    first.set_value(3).run()
    saved = fidelity.own_rating(db, rater, sid, "rater")["scores"]
    assert saved[first.key.split("_", 4)[4]]["score"] == 3  # the control: a live sign-in saves

    _end_sign_in(app_demo, at, how)
    at.segmented_control(key=second.key).set_value(5).run()
    assert not at.exception, at.exception
    after = fidelity.own_rating(db, rater, sid, "rater")["scores"]
    assert after == saved  # nothing written: the second item has no score
    assert second.key.split("_", 4)[4] not in after
    assert _on_the_sign_in_page(at)


@pytest.mark.parametrize("how", ["signed out elsewhere", "revoked by an admin"])
def test_a_vignette_answer_after_the_sign_in_ended_is_not_saved(app_demo, library, how):
    db = open_store(app_demo)
    trainee = auth.find_user(db, "trainee")
    v = next(library.vignettes[r["vignette_id"]] for r in library_rows(db, library, trainee.id) if r["status"] == "new")
    at = app_as(trainee.id, "vignette_library.py")
    at.button(key=f"lib_open_{v.id}").click().run()
    aid = current_draft(db, trainee.id, v.id)["id"]
    at.session_state["vignette_id"] = v.id
    at.switch_page("ipt_training/app_pages/vignette_workspace.py")
    at.run()
    assert not at.exception, at.exception
    key = f"ws{aid}_formulation"
    at.text_area(key=key).input("First words, saved while signed in.").run()
    assert current_draft(db, trainee.id, v.id)["answers"]["formulation"] == "First words, saved while signed in."

    _end_sign_in(app_demo, at, how)
    at.text_area(key=key).input("Typed after the sign-in ended.").run()
    assert not at.exception, at.exception
    assert current_draft(db, trainee.id, v.id)["answers"]["formulation"] == "First words, saved while signed in."
    assert _on_the_sign_in_page(at)
