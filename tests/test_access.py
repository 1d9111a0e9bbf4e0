"""Access (issue 7): every page x every role reaches exactly the pages it should, and the blind
rule holds at the data layer.

Pages: for each ``PageSpec`` in ``access.PAGES`` and each role, a user holding only that role
runs the real router through AppTest. A page is registered with ``st.navigation`` iff the role is
in ``spec.roles``: a registered page opens and renders its title with no exception; for an
unregistered one AppTest refuses the switch, because ``switch_page`` resolves the file against
the pages the last run registered (Streamlit 1.67 ``AppTest._resolve_page_hash`` raises
``ValueError: Could not find a navigation page``), which mirrors a browser that cannot reach
the page by URL.

Blind rule: a rater's queries (``fidelity.ratings_visible_to``, ``fidelity.session_results``,
``calibration.calibration_feedback``) never return another rater's unsubmitted scores, nor,
before the rater's own submission, anyone's submitted ones for the same session.
"""

from __future__ import annotations

import shutil

import pytest
import streamlit as st

from ipt_training import auth, fidelity
from ipt_training.reliability import calibration
from ipt_training.access import PAGES
from ipt_training.store import one, open_store

from apphelp import ROOT, app_as

ROLES = ("trainee", "rater", "supervisor", "admin")
PAGES_DIR = ROOT / "ipt_training" / "app_pages"


@pytest.fixture(scope="module")
def single_role_users(tmp_path_factory, demo_template):
    """A copy of the demo DB with one extra user per role holding only that role.

    The supervisor supervises the demo trainees and the rater has an assigned session, so the
    pages render with real data rather than their empty states.
    """
    tmp = tmp_path_factory.mktemp("access")
    shutil.copy(demo_template, tmp / "app.db")
    if (demo_template.parent / "data").exists():
        shutil.copytree(demo_template.parent / "data", tmp / "data")
    db = open_store(tmp / "app.db")
    ids = {role: auth.create_user(db, f"only.{role}", "only-a-role-1", (role,), f"Only {role.title()}").id
           for role in ROLES}
    admin = auth.find_user(db, "admin")
    for trainee in ("trainee", "trainee.ready", "trainee.near"):
        auth.link_supervisor(db, ids["supervisor"], auth.find_user(db, trainee).id, admin.id)
    session = one(db, "SELECT id FROM recorded_sessions WHERE case_pseudonym = 'Case T1' AND session_number = 7")
    fidelity.assign(db, admin, session["id"], ids["rater"], None, "second_rating")
    db.conn.close()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IPT_TRAINING_DATA_DIR", str(tmp / "data"))
        mp.setenv("IPT_TRAINING_DB", str(tmp / "app.db"))
        st.cache_resource.clear()
        st.cache_data.clear()
        yield ids
        st.cache_resource.clear()
        st.cache_data.clear()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("spec", PAGES, ids=lambda s: s.file.removesuffix(".py"))
def test_page_registered_iff_role_may_use_it(single_role_users, spec, role):
    assert (PAGES_DIR / spec.file).exists(), f"{spec.file} is in access.PAGES but its file is missing"
    at = app_as(single_role_users[role])
    assert not at.exception, at.exception
    page = f"ipt_training/app_pages/{spec.file}"
    if role in spec.roles:
        at.switch_page(page).run()
        assert not at.exception, (spec.file, role, at.exception)
        assert at.title, f"{spec.file} rendered no title for a {role}"
        title = at.title[0].value
        if spec.file == "home.py":
            assert title.startswith("Welcome, Only ")
        else:
            assert title == spec.title, f"{spec.file} opened as {title!r}, not {spec.title!r}"
        assert not at.error or "not available for your role" not in at.error[0].value
    else:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)


def test_every_role_gets_home_and_no_role_gets_everything():
    """The table itself: sanity of the spec the page test is driven by."""
    for role in ROLES:
        mine = {p.file for p in PAGES if role in p.roles}
        assert "home.py" in mine
        assert mine != {p.file for p in PAGES}, f"{role} may use every page"
    assert {r for p in PAGES for r in p.roles} == set(ROLES)


# --- the blind rule at the data layer ----------------------------------------------------


def _scores_seen(visible: list[dict], other_id: int) -> list[dict]:
    return [r for r in visible if r["rater_id"] == other_id]


def test_rater_queries_never_show_others_scores_before_own_submission(demo_db, library):
    db = demo_db
    rater, rater2 = auth.find_user(db, "rater"), auth.find_user(db, "rater2")
    trainee, admin = auth.find_user(db, "trainee"), auth.find_user(db, "admin")
    # 'Case T1' session 2: assigned to 'rater', not yet rated; the trainee's self-rating is submitted
    sid = one(db, "SELECT id FROM recorded_sessions WHERE case_pseudonym = 'Case T1' AND session_number = 2")["id"]
    fidelity.assign(db, admin, sid, rater2.id, None, "second_rating")
    session = fidelity.get_session(db, rater, sid)
    items = [it["id"] for it in fidelity.item_catalogue(library, fidelity.default_instrument_id(db, library), session)]

    def rate(user, score, submit):
        r = fidelity.get_or_create_draft(db, user, sid, "rater", library=library)
        for item in items:
            fidelity.save_item(db, user, r["id"], item, score, False, library=library)
        fidelity.add_evidence_mark(db, user, r["id"], 12.0, items[0], f"{user.username}'s evidence", library=library)
        fidelity.set_comment(db, user, r["id"], f"{user.username}'s comment")
        if submit:
            fidelity.submit_rating(db, user, r["id"], library=library)
        return r["id"]

    def seen_by_rater():
        visible = fidelity.ratings_visible_to(db, rater, sid)
        results = fidelity.session_results(db, rater, sid, library=library)
        return visible, results

    # 1. rater2 has an unsubmitted draft, rater has nothing: rater sees nothing of it
    rate(rater2, 1, submit=False)
    visible, results = seen_by_rater()
    assert visible == []
    assert results["ratings"] == [] and all(set(row) == {"item", "section", "text"} for row in results["table"])
    # ... not even the trainee's submitted self-rating (the blind covers it too)
    assert not [r for r in visible if r["kind"] == "self"]
    assert results["hidden"]  # and the page says why something is hidden

    # 2. rater2 submits; rater drafts: rater sees only their own draft
    rate(rater2, 1, submit=True)
    own = rate(rater, 4, submit=False)
    visible, results = seen_by_rater()
    assert [r["id"] for r in visible] == [own]
    assert _scores_seen(visible, rater2.id) == [] and _scores_seen(visible, trainee.id) == []
    assert [r["rating_id"] for r in results["ratings"]] == [own]
    assert all(set(row.values()) - {row["item"], row["section"], row["text"]} <= {"4"} for row in results["table"])
    assert "rater2's comment" not in repr(results) and "rater2's evidence" not in repr(results)

    # 3. rater submits: now rater2's submitted rating and the self-rating appear
    fidelity.submit_rating(db, rater, own, library=library)
    visible, results = seen_by_rater()
    kinds = sorted((r["kind"], r["rater_id"]) for r in visible)
    assert ("rater", rater2.id) in kinds and ("self", trainee.id) in kinds
    assert _scores_seen(visible, rater2.id)[0]["scores"][items[0]]["score"] == 1
    assert results["hidden"] is None


def test_other_raters_drafts_stay_hidden_after_own_submission(demo_db, library):
    db = demo_db
    rater, rater2, admin = (auth.find_user(db, u) for u in ("rater", "rater2", "admin"))
    # 'Case R2' session 14: rated and submitted by 'rater'; rater2 is assigned and has not started
    sid = one(db, "SELECT id FROM recorded_sessions WHERE case_pseudonym = 'Case R2' AND session_number = 14")["id"]
    draft = fidelity.get_or_create_draft(db, rater2, sid, "rater", library=library)
    item = fidelity.item_catalogue(library, draft["instrument_id"], fidelity.get_session(db, rater2, sid))[0]["id"]
    fidelity.save_item(db, rater2, draft["id"], item, 2, False, library=library)
    # rater2 (draft) sees neither rater's submitted rating nor anything else
    assert [r["id"] for r in fidelity.ratings_visible_to(db, rater2, sid)] == [draft["id"]]
    # rater (submitted) sees others' submitted ratings, never rater2's draft
    assert draft["id"] not in [r["id"] for r in fidelity.ratings_visible_to(db, rater, sid)]
    results = fidelity.session_results(db, rater, sid, library=library)
    assert draft["id"] not in [r["rating_id"] for r in results["ratings"]]
    # nor does an administrator or the trainee's supervisor see a draft
    for viewer in (admin, auth.find_user(db, "supervisor")):
        assert draft["id"] not in [r["id"] for r in fidelity.ratings_visible_to(db, viewer, sid)]


def test_gold_standard_stays_hidden_from_a_rater_until_they_submit(demo_db, library):
    db = demo_db
    admin, rater = auth.find_user(db, "admin"), auth.find_user(db, "rater")
    sid = one(db, "SELECT id FROM recorded_sessions WHERE case_pseudonym = 'Case T1' AND session_number = 3")["id"]
    fidelity.mark_gold_standard(db, admin, sid, True)
    gold = fidelity.get_or_create_draft(db, admin, sid, "gold", library=library)
    session = fidelity.get_session(db, admin, sid)
    for it in fidelity.item_catalogue(library, gold["instrument_id"], session):
        fidelity.save_item(db, admin, gold["id"], it["id"], 3, False, "expert reason", library=library)
    fidelity.submit_rating(db, admin, gold["id"], library=library)
    # 'rater' holds a draft of this session (demo data): the gold rating is hidden from them
    assert all(r["kind"] != "gold" for r in fidelity.ratings_visible_to(db, rater, sid))
    assert "expert reason" not in repr(fidelity.session_results(db, rater, sid, library=library))
    with pytest.raises(calibration.CalibrationError, match="Submit your own rating"):
        calibration.calibration_feedback(db, library, rater, sid)
