"""Rating workspace: the recording and its transcript beside the instrument; scores, evidence
marks and comments are saved as they change; submit locks the rating; the blind rule decides
what else is shown."""

import streamlit as st

from ipt_training import fidelity
from ipt_training.config import get_settings
from ipt_training.ui import rating_widgets as rw
from ipt_training.ui.common import current_user, get_db, get_library, require_user
from ipt_training.ui.finding import search_box
from ipt_training.ui.text import plain

user = require_user("rater", "supervisor", "admin", "trainee")
db = get_db()
library = get_library()
settings = get_settings()
st.title("Rating workspace")
rw.focus_styles()

find = ""
if user.has("admin", "supervisor"):  # sessions to view are found by a search (issue 16: 30,000 at scale XL)
    find = search_box("Find a session to view (therapist, case or number)", key="ws_find",
                      placeholder="e.g. Okafor, #12")
choices = fidelity.workspace_choices(db, user, find, keep=st.session_state.get("rating_session_id"))
if not choices:
    st.info("No session matches this search; clear it to see the newest sessions." if find else
            "There is nothing for you to rate yet: no session is assigned to you and you have no sessions of your own.")
    st.stop()
# the label (with the rating's status) is part of each option's value: the browser keeps showing
# the label of the value it holds, so a status that changed ("[draft]" -> "[submitted]") makes a
# new value, which the lines below select again (issue 17)
by_key = {f"{c['session_id']}:{c['kind']} {c['label']}": c for c in choices}
by_pair = {(c["session_id"], c["kind"]): k for k, c in by_key.items()}
wanted = by_pair.get((st.session_state.get("rating_session_id"), st.session_state.get("rating_kind")))
if wanted in by_key and st.session_state.get("_ws_applied") != wanted:
    st.session_state["ws_choice"] = wanted  # arrived from a queue: select that session
    st.session_state["_ws_applied"] = wanted
if st.session_state.get("ws_choice") not in by_key:
    st.session_state["ws_choice"] = next(iter(by_key))
choice_key = st.selectbox("Session", list(by_key), key="ws_choice", format_func=lambda k: by_key[k]["label"])
choice = by_key[choice_key]
st.session_state["rating_session_id"], st.session_state["rating_kind"] = choice["session_id"], choice["kind"]
st.session_state["_ws_applied"] = choice_key
sid, kind = choice["session_id"], choice["kind"]

try:
    session = fidelity.get_session(db, user, sid)
    # opening reads only: the draft starts at the first score, mark or comment (issue 17)
    if kind != "view":
        fidelity.find_rating(db, user, sid, kind)
except fidelity.FidelityError as exc:
    st.error(plain(str(exc)))
    st.stop()

st.caption(f"Therapist: {plain(session['trainee_name'])} · {plain(session['label'])}"
           + (" · gold-standard (calibration) session" if session["is_gold_standard"] else ""))
prefix = f"ws_{sid}"
mark_key = f"{prefix}_mark_time"


def own() -> dict | None:
    if kind == "view":
        return None
    found = fidelity.own_rating(db, user, sid, kind)
    return found or fidelity.unstarted_rating(db, sid, kind, library=library)


rating = own()
left, right = st.columns([5, 6], gap="large")
with left:
    st.subheader("Recording and transcript")
    if rw.transcript_player(db, settings, user, session, prefix, rating, mark_key, library):
        if rating["id"] is None:
            st.rerun()  # the mark started the draft: the selector above says so too
        rating = own()  # "Mark this moment" added a mark


@st.fragment
def scoring(rating_id, status, items: list[dict]) -> None:
    """The progress and the item scores: a score reruns only this part (issue 16: an item score,
    most of a rater's clicks, no longer draws the whole workspace again, player, marks and results
    included). It reads the rating again (the score was saved before it runs) and hands over to a
    run of the whole page when the sign-in is no longer live (the router decides what to show) or
    the rating changed otherwise (the first score started the draft, or it was submitted)."""
    signed = current_user()
    now = own()
    if signed is None or signed.id != user.id or now["id"] != rating_id or now["status"] != status:
        st.rerun(scope="app")
    rw.show_saved_error()
    rw.progress(library, now, session)
    with st.container(height=620, key=f"{prefix}_items"):
        rw.item_scorer(db, user, now, items, library, with_reasons=kind == "gold")


with right:
    if rating is None:
        rw.show_saved_error()
        st.info("You are viewing this session; you do not rate it. Its submitted ratings are below.")
    else:
        items = fidelity.item_catalogue(library, rating["instrument_id"], session)
        locked = rating["status"] == "submitted"
        st.subheader({"rater": "Your rating", "self": "Your self-rating", "gold": "Gold-standard rating"}[kind]
                     + {"submitted": " (submitted)", "draft": " (draft, saved as you go)"}.get(rating["status"],
                                                                                          " (not started)"))
        if locked:
            st.success(f"Submitted on {rating['submitted_at'][:10]}: session score {rating['mean']:.2f}, "
                       + ("passes." if rating["passed"] else "below the pass mark."))
        elif rating["id"] is None:
            st.caption("Nothing is saved until you score an item or add an evidence mark; from then on every change "
                       "is saved as a draft.")
        scoring(rating["id"], rating["status"], items)
        st.markdown("##### Evidence marks")
        rw.evidence_list(db, user, rating, items, prefix, mark_key, library)
        st.markdown("##### Comment")
        rw.comment_box(db, user, rating)
        rw.submit_button(db, user, rating, library, key=f"{prefix}_submit")

st.divider()
st.subheader("Ratings of this session")
results = fidelity.session_results(db, user, sid, library=library)
own_draft = rating["id"] if rating is not None and rating["status"] == "draft" else None
rw.results_view(results, key=f"{prefix}_results", leave_out=own_draft)  # the draft is shown live above
if user.has("supervisor", "admin"):
    rw.reopen_controls(db, user, results, key=prefix)
