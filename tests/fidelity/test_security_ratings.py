"""Security of ratings (issue 15, findings 2, 4 and 21): nobody rates (or calibrates on) a session
whose ratings they have seen, nobody assigns themself, the gold rating is shown only to admins
and to the raters calibrating after they submit, only admins reopen gold-standard ratings, and
the blind notice is the same whether or not anyone else has submitted."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ipt_training import auth, fidelity
from ipt_training.reliability import calibration
from ipt_training.store import open_store, rows

from apphelp import APP, sign_in_state, texts
from test_fidelity import World


@pytest.fixture
def w(db, tmp_path, library):
    return World(db, tmp_path, library)


def _gold_session(w):
    """A supervisee's session marked gold with a submitted expert rating (reasons 'why <item>')."""
    sid = w.add()
    fidelity.mark_gold_standard(w.db, w.admin, sid, True)
    gold = fidelity.get_or_create_draft(w.db, w.admin, sid, "gold", library=w.library)
    for item in w.items(sid):
        fidelity.save_item(w.db, w.admin, gold["id"], item, 3, False, f"why {item}", library=w.library)
    fidelity.submit_rating(w.db, w.admin, gold["id"], library=w.library)
    return sid, gold["id"]


def _kinds(db, user, sid):
    return sorted(r["kind"] for r in fidelity.ratings_visible_to(db, user, sid) if not r["is_own"])


# --- finding 2: gold ratings ---------------------------------------------------------------


def test_a_supervisor_viewing_a_gold_session_sees_no_expert_scores_or_reasons(w):
    sid, _ = _gold_session(w)
    assert _kinds(w.db, w.sup, sid) == []
    results = fidelity.session_results(w.db, w.sup, sid, library=w.library)
    assert results["ratings"] == [] and all(set(row) == {"item", "section", "text"} for row in results["table"])
    assert "administrators" in results["hidden"]
    # the trainee whose session it is does not see it either, even after self-rating
    w.rate(w.tr, sid, kind="self")
    assert _kinds(w.db, w.tr, sid) == []
    assert sorted(r["kind"] for r in fidelity.ratings_visible_to(w.db, w.admin, sid)) == ["gold", "self"]


def test_the_calibrating_rater_sees_the_gold_rating_only_after_submitting(w):
    sid, _ = _gold_session(w)
    fidelity.assign(w.db, w.admin, sid, w.ra.id, None, "calibration")
    w.rate(w.ra, sid, submit=False)
    assert _kinds(w.db, w.ra, sid) == []
    with pytest.raises(calibration.CalibrationError, match="Submit your own rating"):
        calibration.calibration_feedback(w.db, w.library, w.ra, sid)
    rid = rows(w.db, "SELECT id FROM ratings WHERE session_id = ? AND rater_id = ?", (sid, w.ra.id))[0]["id"]
    fidelity.submit_rating(w.db, w.ra, rid, library=w.library)
    assert _kinds(w.db, w.ra, sid) == ["gold"]
    reasons = fidelity.session_results(w.db, w.ra, sid, library=w.library)["ratings"]
    assert any(r["kind"] == "gold" and r["reasons"].get("tech_clarification") == "why tech_clarification"
               for r in reasons)
    # someone who is not calibrating gets no feedback from the expert rating
    with pytest.raises(calibration.CalibrationError):
        calibration.calibration_feedback(w.db, w.library, w.sup, sid)


def test_the_faked_calibration_is_refused(w):
    """The reproduced attack: read the gold rating in View mode, then assign yourself to calibrate."""
    sid, _ = _gold_session(w)
    fidelity.session_results(w.db, w.sup, sid, library=w.library)
    with pytest.raises(fidelity.FidelityError, match="yourself"):
        fidelity.assign(w.db, w.sup, sid, w.sup.id, None, "calibration")
    # an admin who has read the expert rating cannot be made to calibrate on it either
    fidelity.session_results(w.db, w.admin, sid, library=w.library)
    other_admin = auth.get_user(w.db, w.db.conn.execute(
        "INSERT INTO users (username, display_name, password_hash, created_at) VALUES ('a2','A2','x','2026-01-01')").lastrowid)
    w.db.conn.executemany("INSERT INTO user_roles (user_id, role) VALUES (?, ?)",
                          [(other_admin.id, "admin"), (w.admin.id, "rater")])
    other_admin, admin = auth.get_user(w.db, other_admin.id), auth.get_user(w.db, w.admin.id)
    with pytest.raises(fidelity.FidelityError, match="already seen other ratings"):
        fidelity.assign(w.db, other_admin, sid, admin.id, None, "calibration")


# --- finding 2: double ratings ---------------------------------------------------------------


def test_who_has_seen_a_sessions_ratings_cannot_be_its_second_rater(w):
    sid = w.add()
    fidelity.assign(w.db, w.admin, sid, w.ra.id)
    w.rate(w.ra, sid)
    assert _kinds(w.db, w.sup, sid) == ["rater"]  # the supervisor reads the first rating ...
    seen = rows(w.db, "SELECT user_id FROM ratings_seen WHERE session_id = ?", (sid,))
    assert {r["user_id"] for r in seen} == {w.sup.id}
    assert rows(w.db, "SELECT actor_id FROM audit_log WHERE action = 'see_ratings'") == [{"actor_id": w.sup.id}]
    with pytest.raises(fidelity.FidelityError, match="yourself"):  # ... and cannot assign themself
        fidelity.assign(w.db, w.sup, sid, w.sup.id, None, "second_rating")
    with pytest.raises(fidelity.FidelityError, match="already seen other ratings"):  # nor be assigned
        fidelity.assign(w.db, w.admin, sid, w.sup.id, None, "second_rating")
    fidelity.assign(w.db, w.admin, sid, w.rb.id, None, "second_rating")  # someone who has not seen them


def test_random_second_ratings_skip_who_has_seen_and_who_asks(w):
    cohort = auth.create_cohort(w.db, "C", w.admin.id)
    auth.set_cohort_members(w.db, cohort, [w.tr.id], w.admin.id)
    sids = [w.add(number=n) for n in range(1, 7)]
    for sid in sids:
        fidelity.assign(w.db, w.admin, sid, w.ra.id)
        w.rate(w.ra, sid)
        fidelity.session_results(w.db, w.sup, sid, library=w.library)  # the supervisor reads each
    # only rb and sup could second-rate; sup has seen every session and asks: rb takes all of them
    made = fidelity.assign_random_second_ratings(w.db, w.sup, cohort, 1.0, rng_seed=3)
    assert sorted(m["session_id"] for m in made) == sids
    assert {m["rater_id"] for m in made} == {w.rb.id}


# --- finding 4: reopening gold-standard ratings ----------------------------------------------


def test_only_an_admin_reopens_a_gold_rating_with_a_reason_audited(w):
    sid, gold_id = _gold_session(w)
    fidelity.assign(w.db, w.admin, sid, w.ra.id, None, "calibration")
    cal_id = w.rate(w.ra, sid)
    gold = rows(w.db, "SELECT * FROM ratings WHERE id = ?", (gold_id,))[0]
    assert not fidelity.can_reopen(w.db, w.sup, gold)  # the supervisor of the session's trainee
    for rid in (gold_id, cal_id):
        with pytest.raises(fidelity.FidelityError, match="Only an administrator"):
            fidelity.reopen_rating(w.db, w.sup, rid, "scores look off")
    assert rows(w.db, "SELECT status FROM ratings WHERE id = ?", (gold_id,)) == [{"status": "submitted"}]
    with pytest.raises(fidelity.FidelityError, match="reason"):
        fidelity.reopen_rating(w.db, w.admin, gold_id, " ")
    assert fidelity.can_reopen(w.db, w.admin, gold)  # the expert rating is the panel's: its author may
    fidelity.reopen_rating(w.db, w.admin, gold_id, "panel revised item 3")
    entry = rows(w.db, "SELECT actor_id, detail FROM audit_log WHERE action = 'reopen_rating'")
    assert len(entry) == 1 and entry[0]["actor_id"] == w.admin.id and "panel revised item 3" in entry[0]["detail"]


# --- finding 21: the blind notice ------------------------------------------------------------


def test_the_blind_notice_does_not_tell_whether_another_rating_exists(w):
    sid = w.add()
    for u in (w.ra, w.rb):
        fidelity.assign(w.db, w.admin, sid, u.id)
    alone = fidelity.session_results(w.db, w.ra, sid, library=w.library)["hidden"]
    w.rate(w.rb, sid)
    after = fidelity.session_results(w.db, w.ra, sid, library=w.library)["hidden"]
    assert alone and alone == after and "blind" in alone


# --- the pages ---------------------------------------------------------------------------------


def _page(path, user_id, sid, kind):
    at = AppTest.from_file(APP, default_timeout=60)
    sign_in_state(at, user_id)
    at.session_state["rating_session_id"], at.session_state["rating_kind"] = sid, kind
    at.run()
    at.switch_page("ipt_training/app_pages/rating_workspace.py")
    at.run()
    assert not at.exception, at.exception
    return at


def test_workspace_view_mode_hides_the_gold_rating_from_a_supervisor(app_demo):
    db = open_store(app_demo)
    admin, trainee = auth.find_user(db, "admin"), auth.find_user(db, "trainee")
    sup2 = auth.create_user(db, "sup.two", "Gold-Reader-2026!", ["supervisor"], "Sue Two", actor_id=admin.id)
    auth.link_supervisor(db, sup2.id, trainee.id, admin.id)
    sid = rows(db, "SELECT id FROM recorded_sessions WHERE is_gold_standard = 1 ORDER BY id")[0]["id"]
    reason = rows(db, """SELECT i.reason FROM item_scores i JOIN ratings r ON r.id = i.rating_id
                         WHERE r.session_id = ? AND r.kind = 'gold' AND i.reason IS NOT NULL LIMIT 1""", (sid,))[0]["reason"]
    shown = texts(_page(app_demo, sup2.id, sid, "view"))
    assert "Gold standard (expert consensus)" not in shown and reason not in shown
    assert "shown only to administrators" in shown
    # the administrator does see it
    shown = texts(_page(app_demo, admin.id, sid, "gold"))
    assert "Gold standard (expert consensus)" in shown
