"""Admins: mark calibration (gold-standard) sessions and enter or adopt the expert consensus rating."""

import pandas as pd
import streamlit as st

from ipt_training import fidelity
from ipt_training.finding import PAGE_SIZE
from ipt_training.ui.common import get_db, get_library, require_user
from ipt_training.ui.finding import search_box
from ipt_training.ui.rating_widgets import forget_widget_state, open_in_workspace, results_view
from ipt_training.ui.text import plain

admin = require_user("admin")
db = get_db()
library = get_library()
st.title("Gold-standard sessions")
st.caption("Calibration sessions carry an expert consensus rating with a reason for every item. Raters rate them "
           "blind; after submitting, they see the expert's scores and reasons, and their agreement counts towards "
           "rater certification.")

gold = fidelity.gold_sessions(db, admin)
labels = {s["id"]: f"{s['trainee_name']}: {s['label']}" for s in gold}

st.subheader("Calibration sessions")
if gold:
    st.dataframe(pd.DataFrame([{"session": labels[s["id"]], "expert rating": s["gold_status"],
                                "calibration assignments": s["calibration_assignments"],
                                "rater ratings submitted": s["submitted_ratings"]} for s in gold]),
                 hide_index=True, width="stretch", key="gs_table")
else:
    st.info("No session is marked as a gold-standard session yet.")
# the session to mark is found by a search in SQL (issue 16: 30,000 sessions at scale XL); the
# marked ones are always offered, so that a mark can be removed
find = search_box("Find a session to mark (therapist, case or number)", key="gs_find", placeholder="e.g. Okafor, #12")
found = fidelity.accessible_sessions(db, admin, include_deleted=False, text=find, limit=PAGE_SIZE)
markable = {**labels, **{s["id"]: f"{s['trainee_name']}: {s['label']}" for s in found}}
if not markable:
    st.info("No session matches this search; clear it to see the newest sessions." if find
            else "No recorded session exists yet.")
    st.stop()
with st.form("gs_mark"):
    sid = st.selectbox("Session", list(markable), format_func=markable.get, key="gs_mark_session")
    c1, c2 = st.columns(2)
    mark = c1.form_submit_button("Mark as gold standard", key="gs_mark_on", icon=":material/star:")
    unmark = c2.form_submit_button("Remove the mark", key="gs_mark_off", icon=":material/star_border:")
if mark or unmark:
    try:
        fidelity.mark_gold_standard(db, admin, sid, bool(mark))
        st.rerun()
    except fidelity.FidelityError as exc:
        st.error(plain(str(exc)))

if gold:
    st.subheader("Expert consensus rating")
    glabels = {s["id"]: labels[s["id"]] for s in gold}
    gid = st.selectbox("Calibration session", list(glabels), format_func=glabels.get, key="gs_session")
    status = next(s["gold_status"] for s in gold if s["id"] == gid)
    st.markdown(f"Expert rating: **{status}**")
    if st.button("Enter or edit the expert rating (with a reason per item)", key="gs_enter", icon=":material/edit:"):
        open_in_workspace(gid, "gold")
    candidates = [r for r in fidelity.ratings_visible_to(db, admin, gid)
                  if r["kind"] != "gold" and r["status"] == "submitted"]
    if candidates and status != "submitted":
        with st.form("gs_adopt"):
            src = st.selectbox("Adopt the scores of a submitted rating as the panel's consensus (then add reasons)",
                               [r["id"] for r in candidates], key="gs_adopt_src",
                               format_func=lambda i: next(f"{r['label']}, mean {r['mean']:.2f}" for r in candidates
                                                          if r["id"] == i))
            if st.form_submit_button("Adopt these scores", key="gs_adopt_submit", icon=":material/content_copy:"):
                try:
                    adopted = fidelity.adopt_gold_rating(db, admin, gid, src, library=library)
                    forget_widget_state(adopted)
                    st.success("Adopted as the draft expert rating. Open it to give a reason for every item and submit.")
                except fidelity.FidelityError as exc:
                    st.error(plain(str(exc)))
    results_view(fidelity.session_results(db, admin, gid, library=library), key=f"gs_results_{gid}")
