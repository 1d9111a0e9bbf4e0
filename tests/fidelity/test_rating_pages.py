"""Fidelity rating pages through AppTest (issue 4): role rules, the blind rule on the page, the
rating workspace end to end (cue -> player time, scores, evidence mark, submit), upload refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ipt_training import auth, fidelity
from ipt_training.store import open_store, rows

from apphelp import APP, app_as, sign_in_state, texts

ROOT = Path(__file__).resolve().parents[2]
SESSIONS = ROOT / "ipt_training" / "demo_data" / "sessions"
WORKSPACE = "ipt_training/app_pages/rating_workspace.py"


def _user(path, username):
    return auth.find_user(open_store(path), username)


def _session_id(path, case, number):
    return rows(open_store(path), "SELECT id FROM recorded_sessions WHERE case_pseudonym = ? AND session_number = ?",
                (case, number))[0]["id"]


def _workspace(user_id: int, session_id: int, kind: str) -> AppTest:
    """The workspace as a queue button leaves it: the session and kind in the session state."""
    at = AppTest.from_file(APP, default_timeout=60)
    sign_in_state(at, user_id)
    at.session_state["rating_session_id"] = session_id
    at.session_state["rating_kind"] = kind
    at.run()
    at.switch_page(WORKSPACE)
    at.run()
    assert not at.exception, at.exception
    return at


def _player(at) -> dict:
    """The arguments the rating workspace gave its player component."""
    import json

    players = [e for e in at.get("component_instance") if e.proto.component_name.endswith("rating_player")]
    assert len(players) == 1
    args = json.loads(players[0].proto.json_args)
    # the player's source is a per-viewer link of the app's route, never the recording's bytes
    assert args["url"].startswith("http://testserver/recording/r1.")
    return args


@pytest.fixture
def with_routes(monkeypatch):
    """As under `streamlit run app.py` in a browser at http://testserver: the player has its route."""
    from ipt_training import web
    from ipt_training.ui import recording_player

    monkeypatch.setattr(web, "ROUTES_INSTALLED", True)
    monkeypatch.setattr(recording_player, "_app_root", lambda: "http://testserver")


def test_trainee_cannot_reach_the_rating_queue(app_demo):
    trainee = _user(app_demo, "trainee")
    at = app_as(trainee.id)
    assert not at.exception
    # the router registers no such page for a trainee: switching to it is refused by navigation itself
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("ipt_training/app_pages/rating_queue.py")


def test_trainee_workspace_offers_only_self_rating_of_own_sessions(app_demo):
    trainee = _user(app_demo, "trainee")
    at = app_as(trainee.id, "rating_workspace.py")
    assert not at.exception
    own = {s["id"] for s in fidelity.accessible_sessions(open_store(app_demo), trainee)}
    options = at.selectbox(key="ws_choice").options
    assert options and all(o.startswith("Self-rate:") for o in options)
    assert len(options) == len(own)


def test_rater_sees_only_assigned_sessions(app_demo):
    db = open_store(app_demo)
    rater = _user(app_demo, "rater2")
    assigned = {r["session_id"] for r in rows(db, "SELECT session_id FROM assignments WHERE rater_id = ?", (rater.id,))}
    others = {r["id"] for r in rows(db, "SELECT id FROM recorded_sessions")} - assigned
    assert others  # the demo has sessions not assigned to this rater
    at = app_as(rater.id, "rating_queue.py")
    assert not at.exception
    opened = {b.key for b in at.button if b.key and b.key.startswith(("rq_open_", "rq_view_"))}
    assert len(opened) == len(assigned)
    at = app_as(rater.id, "rating_workspace.py")
    keys = at.selectbox(key="ws_choice").options
    assert len(keys) == len(assigned) and all(k.startswith("Rate:") for k in keys)
    # the session of another trainee that is not assigned cannot be forced through the session state
    stranger = sorted(others)[0]
    at = _workspace(rater.id, stranger, "rater")
    assert at.session_state["rating_session_id"] != stranger


def test_blind_rule_in_the_page(app_demo):
    """rater2 is assigned Case R2 session 14, which 'rater' has rated: nothing of it shows until
    rater2 submits; then the other rating and its comment are on the page."""
    db = open_store(app_demo)
    rater2, rater = _user(app_demo, "rater2"), _user(app_demo, "rater")
    sid = _session_id(app_demo, "Case R2", 14)
    other = rows(db, "SELECT comment FROM ratings WHERE session_id = ? AND rater_id = ?", (sid, rater.id))[0]["comment"]
    assert other
    at = _workspace(rater2.id, sid, "rater")
    shown = texts(at)
    assert "until you submit your own" in shown
    assert "Rater: Ravi Rater" not in shown and other not in shown
    # rater2 scores everything (core calls, to keep the test short: the first score starts the draft)
    # and submits in the page
    rating = fidelity.get_or_create_draft(db, rater2, sid, "rater")
    session = fidelity.get_session(db, rater2, sid)
    for item in fidelity.item_catalogue(fidelity.default_library(), rating["instrument_id"], session):
        fidelity.save_item(db, rater2, rating["id"], item["id"], 4, False)
    at.run()
    at.button(key=f"ws_{sid}_submit").click().run()
    assert not at.exception
    shown = texts(at)
    assert "Rater: Ravi Rater" in shown and other in shown
    assert "until you submit your own" not in shown


def test_workspace_journey_cue_scores_evidence_submit_then_trainee_sees_it(app_demo, with_routes):
    rater, trainee = _user(app_demo, "rater"), _user(app_demo, "trainee")
    sid = _session_id(app_demo, "Case T1", 2)  # assigned to 'rater', not rated yet
    at = _workspace(rater.id, sid, "rater")
    assert at.selectbox(key="ws_choice").value.startswith(f"{sid}:rater ")
    cues = fidelity.get_session(open_store(app_demo), rater, sid)["cues"]
    args = _player(at)
    assert args["seek"] is None and args["can_mark"] is True
    assert [c["text"] for c in args["cues"]] == [c["text"] for c in cues]
    # "Mark this moment" at the playback time of cue 5: the player returns the time, the page adds the mark
    at.session_state[f"ws_{sid}_player"] = {"kind": "mark", "t": cues[5]["start_s"], "nonce": "first"}
    at.run()
    at.run()  # the same event on the next rerun is not a second mark
    assert not at.exception
    assert at.number_input(key=f"ws_{sid}_mark_time").value == pytest.approx(round(cues[5]["start_s"], 1))
    # submitting with items missing is refused with the list
    at.button(key=f"ws_{sid}_submit").click().run()
    assert any("Score or mark N/A every item" in e.value for e in at.error)
    # score every item in the page: segmented controls save on change
    scorers = [s for s in at.segmented_control if s.key and s.key.startswith("score_")]
    assert scorers
    proscribed = {it.id for it in fidelity.default_library().instruments["ipt-session-fidelity"].items if it.proscribed}
    for n, sc in enumerate(scorers):
        # proscribed items (another therapy's moves) at 1: did not occur
        sc.set_value("N/A" if n == 0 else 1 if sc.key.split("_", 4)[4] in proscribed else 4)
    at.run()
    assert not at.exception
    # "Ratings of this session" leaves the own draft out: the progress above shows it live (an item
    # score reruns only that part, so a copy below would fall behind); the rater is blind, so no other
    assert not any("Ravi Rater" in e.label for e in at.expander)
    assert "your draft is above" in texts(at)
    assert not any("section" in d.value.columns for d in at.dataframe)  # no per-item table of nobody
    # an evidence mark at the chosen cue, tied to an item
    first_item = scorers[1].key.split("_", 4)[4]
    at.selectbox(key=f"ws_{sid}_mark_item").set_value(first_item)
    at.text_input(key=f"ws_{sid}_mark_note").input("names the depression as an illness")
    submit_mark = next(b for b in at.button if getattr(b, "label", "") == "Add evidence mark")
    submit_mark.click().run()
    assert not at.exception
    at.text_area(key=next(t.key for t in at.text_area if t.key.startswith("comment_"))).input("Clear sick role.").run()
    at.button(key=f"ws_{sid}_submit").click().run()
    assert not at.exception
    db = open_store(app_demo)
    mine = fidelity.own_rating(db, rater, sid, "rater")
    assert mine["status"] == "submitted" and mine["comment"] == "Clear sick role."
    # the player's mark, and the form's at the same time with an item and a note
    assert sorted(((m["time_s"], m["item_id"] or "") for m in mine["marks"])) == sorted(
        [(cues[5]["start_s"], ""), (round(cues[5]["start_s"], 1), first_item)])
    assert mine["mean"] == pytest.approx(4.0)
    assert "Submitted on" in texts(at)
    # submitted, the rating is listed with the others (it is no longer edited above)
    shown = [e.label.replace("\\:", ":") for e in at.expander]  # plain() escapes Markdown's colon
    assert "Rater: Ravi Rater: session score 4.00" in shown, shown
    # the trainee, whose self-rating was already submitted, now sees the rater's result beside it
    results = fidelity.session_results(db, trainee, sid)
    assert {r["label"] for r in results["ratings"]} == {"Rater: Ravi Rater", "Self-rating: Tara Trainee"}
    at = app_as(trainee.id, "my_sessions.py")
    assert not at.exception
    assert "Clear sick role." in texts(at) and "names the depression as an illness" in texts(at)


def test_draft_in_the_page_survives_a_new_browser_session(app_demo):
    rater = _user(app_demo, "rater")
    sid = _session_id(app_demo, "Case T1", 2)
    at = _workspace(rater.id, sid, "rater")
    scorer = next(s for s in at.segmented_control if s.key and s.key.startswith("score_"))
    scorer.set_value(2).run()
    import streamlit as st

    st.cache_resource.clear()  # a new browser session: new connection, empty session state
    at2 = _workspace(rater.id, sid, "rater")
    assert at2.segmented_control(key=scorer.key).value == 2


def test_supervisor_reopens_with_a_reason_in_the_page(app_demo):
    sup = _user(app_demo, "supervisor")
    sid = _session_id(app_demo, "Case R3", 8)  # rated by 'rater' only; supervisor supervises the trainee
    at = _workspace(sup.id, sid, "view")
    forms = [b for b in at.button if getattr(b, "label", "") == "Reopen with reason"]
    assert len(forms) == 1
    forms[0].click().run()
    assert any("reason" in e.value for e in at.error)
    key = next(t.key for t in at.text_input if t.key.startswith(f"ws_{sid}_reopen_reason_"))
    at.text_input(key=key).input("scored against the wrong phase")
    next(b for b in at.button if getattr(b, "label", "") == "Reopen with reason").click().run()
    assert not at.exception
    db = open_store(app_demo)
    assert rows(db, "SELECT status FROM ratings WHERE session_id = ? AND kind = 'rater'", (sid,))[0]["status"] == "draft"
    assert "wrong phase" in rows(db, "SELECT detail FROM audit_log WHERE action = 'reopen_rating'")[0]["detail"]


def _add_page(user_id):
    at = app_as(user_id, "add_session.py")
    assert not at.exception
    at.text_input(key="add_case_0").input("Case Z")
    return at


def _submit(at):
    next(b for b in at.button if getattr(b, "label", "") == "Add session").click().run()
    assert not at.exception
    return " ".join(e.value for e in at.error)


def test_add_session_page_refusals_are_sentences(app_demo):
    trainee = _user(app_demo, "trainee")
    ogg = (SESSIONS / "initial-grief-ruth.ogg").read_bytes()
    before = rows(open_store(app_demo), "SELECT COUNT(*) AS n FROM recorded_sessions")[0]["n"]

    at = _add_page(trainee.id)
    assert "Choose the recording file" in _submit(at)

    at = _add_page(trainee.id)
    at.file_uploader(key="add_recording_0").upload("session.mp3", b"%PDF-1.4 not audio at all" * 20, "audio/mpeg")
    at.checkbox(key="add_consent_0").check()
    assert "named .mp3 but does not hold audio" in _submit(at)

    at = _add_page(trainee.id)
    at.file_uploader(key="add_recording_0").upload("session.ogg", ogg, "audio/ogg")
    assert "Tick the box confirming that the client consented" in _submit(at)

    at = _add_page(trainee.id)
    at.file_uploader(key="add_recording_0").upload("session.ogg", ogg, "audio/ogg")
    at.file_uploader(key="add_transcript_0").upload("session.vtt", b"WEBVTT\n\n00:00:01.000 --> soon\nhi\n", "text/vtt")
    at.checkbox(key="add_consent_0").check()
    assert "timing line cannot be read" in _submit(at)

    assert rows(open_store(app_demo), "SELECT COUNT(*) AS n FROM recorded_sessions")[0]["n"] == before
    assert not at.exception

    at = _add_page(trainee.id)
    at.file_uploader(key="add_recording_0").upload("../../my session.ogg", ogg, "audio/ogg")
    at.file_uploader(key="add_transcript_0").upload("s.vtt", (SESSIONS / "initial-grief-ruth.vtt").read_bytes(), "text/vtt")
    at.checkbox(key="add_consent_0").check()
    assert _submit(at) == ""
    assert "Session added: Case Z" in texts(at)
    assert at.text_input(key="add_case_1").value == ""  # a fresh, empty form for the next one
    assert rows(open_store(app_demo), "SELECT COUNT(*) AS n FROM recorded_sessions")[0]["n"] == before + 1


def test_admin_pages_gold_standard_and_recordings(app_demo):
    admin = _user(app_demo, "admin")
    at = app_as(admin.id, "gold_standard.py")
    assert not at.exception
    assert "Grace T., session 5" in texts(at)
    at = app_as(admin.id, "recordings_admin.py")
    assert not at.exception
    sid = _session_id(app_demo, "Case N2", 5)
    at.selectbox(key="ra_session").set_value(sid)
    next(b for b in at.button if getattr(b, "label", "") == "Delete the recording").click().run()
    assert any("Tick the confirmation box" in e.value for e in at.error)
    at.checkbox(key="ra_confirm").check()
    next(b for b in at.button if getattr(b, "label", "") == "Delete the recording").click().run()
    assert not at.exception
    assert "is deleted; its ratings remain" in texts(at)
    db = open_store(app_demo)
    assert rows(db, "SELECT deleted_at FROM recorded_sessions WHERE id = ?", (sid,))[0]["deleted_at"]
    assert rows(db, "SELECT COUNT(*) AS n FROM ratings WHERE session_id = ?", (sid,))[0]["n"] >= 2
    # the rater's submitted rating stays, shown as a rating of a deleted recording, without a player
    at = _workspace(_user(app_demo, "rater").id, sid, "rater")
    shown = texts(at)
    assert "deleted by an administrator" in shown and "ratings are of a deleted recording" in shown
    assert len(at.get("audio")) == 0 and not at.get("component_instance") and "Submitted on" in shown


def test_assignments_page_assigns_and_picks_second_ratings(app_demo):
    sup = _user(app_demo, "supervisor")
    at = app_as(sup.id, "assignments.py")
    assert not at.exception
    n_before = _assignments_shown(at)
    next(b for b in at.button if getattr(b, "label", "") == "Pick and assign").click().run()
    assert not at.exception
    assert any("assigned for a second rating" in s.value for s in at.success)
    at = app_as(sup.id, "assignments.py")
    assert _assignments_shown(at) > n_before


def _assignments_shown(at) -> int:
    """How many assignments the page lists: the pager's "Showing a–b of N." when there is one, else
    the rows of the table (the page's last one; the draw panel's may come first)."""
    for c in at.caption:
        if c.value.startswith("Showing "):
            return int(c.value.rsplit(" of ", 1)[1].rstrip(".").replace(",", ""))
    return len(at.dataframe[-1].value)


def test_my_recorded_sessions_lists_the_newest_added_first(app_demo):
    trainee = _user(app_demo, "trainee")
    db = open_store(app_demo)
    in_case_order = [r["id"] for r in rows(db, """SELECT id FROM recorded_sessions WHERE trainee_id = ?
                                                  ORDER BY case_pseudonym, session_number""", (trainee.id,))]
    assert len(in_case_order) >= 2
    newest = in_case_order[-1]  # the last in case order is made the newest added
    db.conn.execute("UPDATE recorded_sessions SET created_at = '2099-01-01T00:00:00+00:00' WHERE id = ?", (newest,))
    db.conn.commit()
    listed = [s["id"] for s in fidelity.my_sessions(db, trainee)]
    assert listed[0] == newest and sorted(listed) == sorted(in_case_order)
    created = {r["id"]: r["created_at"] for r in rows(db, "SELECT id, created_at FROM recorded_sessions")}
    assert [created[i] for i in listed] == sorted((created[i] for i in listed), reverse=True)
    at = app_as(trainee.id, "my_sessions.py")
    assert not at.exception
    first_row = next(c for c in at.main.children.values() if str(getattr(c, "key", "") or "").startswith("ms_row_"))
    assert first_row.key == f"ms_row_{newest}"


def _results_page():
    """results_view on two ratings, the viewer's own draft (id 7) left out as the workspace does."""
    from ipt_training.ui.rating_widgets import results_view

    def rating(rid, label, status, mean):
        return {"rating_id": rid, "label": label, "status": status, "mean": mean, "passed": None if status == "draft"
                else True, "deduction": 0.0, "failed_by": [], "comment": "", "reasons": {}, "marks": [],
                "can_reopen": False}

    results = {"deleted": False, "hidden": None, "instrument": {"name": "Session fidelity", "version": 1},
               "pass_rule": "passes at 3.0", "items": [{"id": "a", "short": "Sets the focus"}],
               "table": [{"item": "a", "Rater: Me": "2", "Supervisor: Other": "4", "section": "Start", "text": "x"}],
               "ratings": [rating(7, "Rater: Me", "draft", 2.0), rating(8, "Supervisor: Other", "submitted", 4.0)]}
    results_view(results, key="t", leave_out=7)


def test_results_leave_out_the_own_draft_the_workspace_shows_above():
    at = AppTest.from_function(_results_page).run()
    assert not at.exception, at.exception
    assert [e.label.replace("\\:", ":") for e in at.expander] == ["Supervisor: Other: session score 4.00"]
    assert list(at.dataframe[0].value.columns) == ["item", "Supervisor: Other", "section", "text"]
