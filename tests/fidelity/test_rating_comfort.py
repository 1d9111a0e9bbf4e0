"""Rating comfortably (issue 17): opening a session starts no draft; 'x of N' and the session
score so far while rating; after submitting, the selector, the evidence-mark times and the
chosen scores read right. Domain first, then the page through AppTest."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ipt_training import auth, fidelity
from ipt_training.fidelity.transcripts import fmt_time
from ipt_training.store import open_store, rows

from apphelp import APP, sign_in_state, texts

WORKSPACE = "ipt_training/app_pages/rating_workspace.py"


def _user(path, username):
    return auth.find_user(open_store(path), username)


def _session_id(path, case, number):
    return rows(open_store(path), "SELECT id FROM recorded_sessions WHERE case_pseudonym = ? AND session_number = ?",
                (case, number))[0]["id"]


def _ratings(path, sid, rater_id):
    return rows(open_store(path), "SELECT id, status FROM ratings WHERE session_id = ? AND rater_id = ? AND kind = 'rater'",
                (sid, rater_id))


def _workspace(user_id: int, session_id: int, kind: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    sign_in_state(at, user_id)
    at.session_state["rating_session_id"] = session_id
    at.session_state["rating_kind"] = kind
    at.run()
    at.switch_page(WORKSPACE)
    at.run()
    assert not at.exception, at.exception
    return at


def _selected(at) -> str:
    """The session selector's label as the browser shows it (the label of the value it holds)."""
    box = at.selectbox(key="ws_choice")
    return box.format_func(box.value)


def _scorers(at):
    return [s for s in at.segmented_control if s.key and s.key.startswith("score_")]


# --- domain --------------------------------------------------------------------------------


def test_find_rating_reads_only_and_get_or_create_starts_the_draft(demo_db_path):
    db = open_store(demo_db_path)
    rater = auth.find_user(db, "rater")
    sid = _session_id(demo_db_path, "Case T1", 2)  # assigned to 'rater', not rated yet
    assert fidelity.find_rating(db, rater, sid, "rater") is None
    assert _ratings(demo_db_path, sid, rater.id) == []
    queue = {q["session_id"]: q["status"] for q in fidelity.rater_queue(db, rater)}
    assert queue[sid] == "not started"
    draft = fidelity.get_or_create_draft(db, rater, sid, "rater")
    assert fidelity.find_rating(db, rater, sid, "rater")["id"] == draft["id"]
    assert {q["session_id"]: q["status"] for q in fidelity.rater_queue(db, rater)}[sid] == "draft"


def test_find_rating_keeps_the_access_rules(demo_db_path):
    db = open_store(demo_db_path)
    rater2 = auth.find_user(db, "rater2")
    sid = _session_id(demo_db_path, "Case T1", 2)
    with pytest.raises(fidelity.FidelityError, match="not assigned to you"):
        fidelity.find_rating(db, rater2, sid, "rater")
    with pytest.raises(fidelity.FidelityError, match="Only the trainee"):
        fidelity.find_rating(db, rater2, sid, "self")


def test_progress_counts_items_and_follows_the_pass_rule(demo_db_path, library):
    db = open_store(demo_db_path)
    rater = auth.find_user(db, "rater")
    sid = _session_id(demo_db_path, "Case T1", 2)
    session = fidelity.get_session(db, rater, sid)
    blank = fidelity.unstarted_rating(db, sid, "rater", library=library)
    items = fidelity.item_catalogue(library, blank["instrument_id"], session)
    p = fidelity.rating_progress(library, blank, session)
    assert (p["done"], p["total"], p["mean"]) == (0, len(items), None)
    ipt = [it for it in items if not it["proscribed"]]
    na_ok = next(it for it in ipt if it["na_allowed"])
    scored = [it for it in ipt if it is not na_ok][:3]
    scores = {it["id"]: {"score": v, "not_applicable": 0} for it, v in zip(scored, (5, 4, 2))}
    scores[na_ok["id"]] = {"score": None, "not_applicable": 1}
    p = fidelity.rating_progress(library, {**blank, "scores": scores}, session)
    # 4 items done (3 scored, 1 N/A); the session score is the mean of the scored IPT items only
    assert (p["done"], p["total"], p["n_scored"], p["n_not_applicable"]) == (4, len(items), 3, 1)
    assert p["mean"] == pytest.approx((5 + 4 + 2) / 3)
    proscribed = [it for it in items if it["proscribed"]]
    if proscribed:  # a proscribed item above "none" lowers the session score as the rule says
        inst = fidelity.instrument_of(library, blank["instrument_id"])
        scores[proscribed[0]["id"]] = {"score": 3, "not_applicable": 0}
        p = fidelity.rating_progress(library, {**blank, "scores": scores}, session)
        assert p["done"] == 5
        assert p["mean"] == pytest.approx(11 / 3 - inst.pass_rule.proscribed_deduction * 2)


def test_migration_drops_drafts_nobody_wrote_in(demo_db_path):
    from ipt_training.store import MIGRATIONS

    db = open_store(demo_db_path)
    rater = auth.find_user(db, "rater")
    empty = fidelity.get_or_create_draft(db, rater, _session_id(demo_db_path, "Case T1", 2), "rater")
    written = rows(db, "SELECT r.id FROM ratings r WHERE r.status = 'draft' AND EXISTS "
                       "(SELECT 1 FROM item_scores i WHERE i.rating_id = r.id)")
    submitted = rows(db, "SELECT COUNT(*) AS n FROM ratings WHERE status = 'submitted'")[0]["n"]
    sql = dict(MIGRATIONS)[80]
    with db.conn:
        db.conn.executescript(sql)
    left = {r["id"] for r in rows(db, "SELECT id FROM ratings")}
    assert empty["id"] not in left
    assert {r["id"] for r in written} <= left
    assert rows(db, "SELECT COUNT(*) AS n FROM ratings WHERE status = 'submitted'")[0]["n"] == submitted


# --- the page ------------------------------------------------------------------------------


def test_opening_a_session_starts_no_draft_the_first_score_does(app_demo):
    rater = _user(app_demo, "rater")
    sid = _session_id(app_demo, "Case T1", 2)
    at = _workspace(rater.id, sid, "rater")
    assert "Your rating (not started)" in texts(at)
    assert _ratings(app_demo, sid, rater.id) == []
    at.run()  # a rerun (or a reload) starts nothing either
    assert _ratings(app_demo, sid, rater.id) == []
    assert _selected(at).endswith("[not started]")
    _scorers(at)[0].set_value(3).run()
    assert not at.exception
    assert [r["status"] for r in _ratings(app_demo, sid, rater.id)] == ["draft"]
    assert "Your rating (draft, saved as you go)" in texts(at)
    assert _scorers(at)[0].value == 3  # the control shows the saved score under the draft's key
    assert _selected(at).endswith("[draft]")


def test_an_evidence_mark_also_starts_the_draft(app_demo):
    rater = _user(app_demo, "rater")
    sid = _session_id(app_demo, "Case T1", 2)
    at = _workspace(rater.id, sid, "rater")
    at.number_input(key=f"ws_{sid}_mark_time").set_value(75.0)
    next(b for b in at.button if getattr(b, "label", "") == "Add evidence mark").click().run()
    assert not at.exception
    mine = fidelity.own_rating(open_store(app_demo), rater, sid, "rater")
    assert mine["status"] == "draft" and [m["time_s"] for m in mine["marks"]] == [75.0]


def test_items_scored_x_of_n_and_the_session_score_so_far(app_demo, library):
    rater = _user(app_demo, "rater")
    sid = _session_id(app_demo, "Case T1", 2)
    at = _workspace(rater.id, sid, "rater")
    n = len(_scorers(at))
    assert f"Items scored or N/A: 0 of {n}" in at.get("progress")[0].proto.text
    assert "Session score so far: none yet" in texts(at)
    ipt = [s for s in _scorers(at) if "5" in [str(o) for o in s.options] and "N/A" in s.options]
    ipt[0].set_value(5).run()
    ipt = [s for s in _scorers(at) if "5" in [str(o) for o in s.options] and "N/A" in s.options]
    ipt[1].set_value(2).run()
    ipt = [s for s in _scorers(at) if "5" in [str(o) for o in s.options] and "N/A" in s.options]
    ipt[2].set_value("N/A").run()
    assert not at.exception
    assert f"Items scored or N/A: 3 of {n}" in at.get("progress")[0].proto.text
    shown = texts(at)
    assert "Session score so far: **3.50**" in shown and "2 IPT item(s) scored" in shown


def test_after_submitting_the_selector_times_and_scores_read_right(app_demo, library):
    rater = _user(app_demo, "rater")
    sid = _session_id(app_demo, "Case T1", 2)
    db = open_store(app_demo)
    draft = fidelity.get_or_create_draft(db, rater, sid, "rater")
    session = fidelity.get_session(db, rater, sid)
    items = fidelity.item_catalogue(library, draft["instrument_id"], session)
    for it in items:
        fidelity.save_item(db, rater, draft["id"], it["id"], 1 if it["proscribed"] else 4, False)
    fidelity.add_evidence_mark(db, rater, draft["id"], 3723.4)  # 1:02:03
    fidelity.add_evidence_mark(db, rater, draft["id"], 65)  # 1:05
    at = _workspace(rater.id, sid, "rater")
    assert _selected(at).endswith("[draft]")
    at.button(key=f"ws_{sid}_submit").click().run()
    assert not at.exception
    label = _selected(at)
    assert at.selectbox(key="ws_choice").value.endswith("[submitted]")  # the value the browser holds, and shows
    assert label.endswith("[submitted]") and "[draft]" not in label
    shown = texts(at).replace("**", "")
    assert "Your rating (submitted)" in shown
    # the chosen scores are text in the read-only view, not a greyed-out control
    assert _scorers(at) == []
    anchors = {a["score"]: a["label"] for a in items[0]["anchors"]}
    expected = 1 if items[0]["proscribed"] else 4
    assert f"Score: {expected} - {anchors[expected]}" in shown
    assert shown.count("Score: ") == len(items)
    # evidence-mark times in full, m:ss and h:mm:ss
    assert fmt_time(3723.4) == "1:02:03"
    jump = {b.label for b in at.button if b.key and b.key.startswith(f"ws_{sid}_markjump_")}
    assert jump == {"1:02:03", "1:05"}
    marks_table = next(df for df in at.dataframe if list(df.value.columns) == ["time", "item", "note"])
    assert list(marks_table.value["time"]) == ["1:05", "1:02:03"]


def test_score_controls_have_unique_labels_naming_the_item(app_demo):
    rater = _user(app_demo, "rater")
    sid = _session_id(app_demo, "Case T1", 2)
    at = _workspace(rater.id, sid, "rater")
    labels = [s.label for s in _scorers(at)]
    assert labels and len(set(labels)) == len(labels)
    assert all(lbl.startswith("Score for Item ") for lbl in labels)
    assert not any("_" in lbl for lbl in labels)  # an item's name, not its id


def test_a_mark_from_the_player_is_added_once_and_its_note_and_item_can_be_given(app_demo, library):
    rater = _user(app_demo, "rater")
    sid = _session_id(app_demo, "Case T1", 2)
    at = _workspace(rater.id, sid, "rater")
    # the player returns {"kind": "mark", "t": playback time, "nonce"}; the same value comes back on every rerun
    at.session_state[f"ws_{sid}_player"] = {"kind": "mark", "t": 83.46, "nonce": "n-1"}
    at.run()
    at.run()
    assert not at.exception
    assert "Your rating (draft, saved as you go)" in texts(at)  # the mark started the draft
    db = open_store(app_demo)
    marks = fidelity.own_rating(db, rater, sid, "rater")["marks"]
    assert [(m["time_s"], m["time"], m["item_id"], m["note"]) for m in marks] == [(83.46, "1:23", None, "")]
    # a new event (new nonce) at the same time is a second mark; an event without a nonce is ignored
    at.session_state[f"ws_{sid}_player"] = {"kind": "mark", "t": 83.46, "nonce": "n-2"}
    at.run()
    at.session_state[f"ws_{sid}_player"] = {"kind": "mark", "t": 90}
    at.run()
    assert len(fidelity.own_rating(db, rater, sid, "rater")["marks"]) == 2
    # give the first mark an item and a note
    first = marks[0]["id"]
    session = fidelity.get_session(db, rater, sid)
    item = fidelity.item_catalogue(library, fidelity.own_rating(db, rater, sid, "rater")["instrument_id"], session)[2]
    at.selectbox(key=f"ws_{sid}_markitem_{first}").set_value(item["id"]).run()
    at.text_input(key=f"ws_{sid}_marknote_{first}").input("names the loss and invites the feeling").run()
    assert not at.exception
    mine = {m["id"]: m for m in fidelity.own_rating(db, rater, sid, "rater")["marks"]}
    assert (mine[first]["item_id"], mine[first]["note"], mine[first]["time_s"]) == (
        item["id"], "names the loss and invites the feeling", 83.46)


def test_update_evidence_mark_only_on_ones_own_draft(demo_db_path, library):
    db = open_store(demo_db_path)
    rater, rater2 = auth.find_user(db, "rater"), auth.find_user(db, "rater2")
    sid = _session_id(demo_db_path, "Case T1", 2)
    draft = fidelity.get_or_create_draft(db, rater, sid, "rater")
    mid = fidelity.add_evidence_mark(db, rater, draft["id"], 12.5)
    with pytest.raises(fidelity.FidelityError, match="belongs to someone else"):
        fidelity.update_evidence_mark(db, rater2, mid, None, "not mine")
    with pytest.raises(fidelity.FidelityError, match="does not apply"):
        fidelity.update_evidence_mark(db, rater, mid, "term_relapse_plan", "")  # a termination item, initial session
    fidelity.update_evidence_mark(db, rater, mid, None, "  a note  ")
    assert [(m["note"], m["time_s"]) for m in fidelity.own_rating(db, rater, sid, "rater")["marks"]] == [("a note", 12.5)]
