"""Supervisors and admins: assign sessions to raters, ask for random second ratings, draw a
trainee's sessions to be rated at random (issue 13), see assignments."""

import datetime as dt

import pandas as pd
import streamlit as st

from ipt_training import auth, fidelity
from ipt_training.finding import PAGE_SIZE
from ipt_training.ui.common import get_db, get_library, require_user
from ipt_training.ui.finding import pager, search_box
from ipt_training.ui.portfolio_widgets import draw_panel
from ipt_training.ui.text import plain

user = require_user("supervisor", "admin")
db = get_db()
st.title("Rating assignments")

people = fidelity.raters(db)
names = {p["id"]: p["display_name"] for p in people}

st.subheader("Assign a session")
# searched and cut in SQL: a training body with 30,000 sessions sends 50 options, not all (issue 16)
find = search_box("Find a session (therapist, case or number)", key="as_find", placeholder="e.g. Okafor, #12")
sessions = fidelity.find_assignable_sessions(db, user, find)
labels = {s["id"]: f"{s['trainee_name']}: {s['label']}" for s in sessions}
if not sessions or not people:
    st.info("No session matches this search; clear it to see the newest sessions." if find and people else
            "There is no session to assign (yet) or no rater; sessions appear here once trainees add them.")
else:
    if len(sessions) == PAGE_SIZE:
        st.caption(f"The {PAGE_SIZE} newest of {fidelity.count_assignable_sessions(db, user, find):,} matching "
                   "sessions; search to find another.")
    with st.form("assign_form", clear_on_submit=False):
        sid = st.selectbox("Session", list(labels), format_func=labels.get, key="as_session")
        rid = st.selectbox("Rater", list(names), format_func=names.get, key="as_rater")
        c1, c2 = st.columns(2)
        due = c1.date_input("Due date", value=dt.date.today() + dt.timedelta(days=14), key="as_due")
        purpose = c2.selectbox("Purpose", list(fidelity.PURPOSES), key="as_purpose",
                               format_func=lambda p: {"rating": "Rating", "second_rating": "Second, independent rating",
                                                      "calibration": "Calibration (gold-standard session)"}[p])
        if st.form_submit_button("Assign", key="as_submit", icon=":material/assignment_ind:"):
            try:
                fidelity.assign(db, user, sid, rid, due, purpose)
                st.success(f"Assigned to {plain(names[rid])}, due {due.isoformat()}.")
            except fidelity.FidelityError as exc:
                st.error(plain(str(exc)))

st.subheader("Random second ratings")
st.caption("Pick a random share of a cohort's sessions that have one rater so far, and give each to a different "
           "rater for an independent second rating (good practice: 15-20 %).")
cohorts = auth.list_cohorts(db)
if not cohorts:
    st.info("No cohort exists yet; create one under Cohorts and supervision." if user.has("admin")
            else "No cohort exists yet; an administrator creates cohorts.")
else:
    with st.form("second_form"):
        cohort = st.selectbox("Cohort", [c["id"] for c in cohorts], key="sr_cohort",
                              format_func=lambda i: next(c["name"] for c in cohorts if c["id"] == i))
        c1, c2 = st.columns(2)
        share = c1.slider("Share of sessions", 5, 100, 20, step=5, format="%d%%", key="sr_share")
        due2 = c2.date_input("Due date", value=dt.date.today() + dt.timedelta(days=21), key="sr_due")
        if st.form_submit_button("Pick and assign", key="sr_submit", icon=":material/shuffle:"):
            try:
                made = fidelity.assign_random_second_ratings(db, user, cohort, share / 100, due_date=due2)
                st.success(f"{len(made)} session(s) assigned for a second rating: "
                           + "; ".join(f"{plain(m['label'])} to {plain(names.get(m['rater_id']))}" for m in made) + ".")
            except fidelity.FidelityError as exc:
                st.error(plain(str(exc)))

st.subheader("Sessions drawn at random for a credential")
with st.expander("Draw sessions for rating at random", key="as_draw_exp"):
    who_text = search_box("Find a trainee", key="as_draw_find", placeholder="e.g. Okafor")
    trainees = {t["id"]: t["display_name"] for t in auth.find_visible_trainees(db, user, who_text)}
    if trainees:
        who = st.selectbox("Trainee", list(trainees), format_func=trainees.get, key="as_draw_trainee")
        draw_panel(db, get_library(), user, who, key="as_draw")
    else:
        st.caption("No trainee of yours matches this search." if who_text else "No trainee to draw for.")

st.subheader("Assignments")
c1, c2 = st.columns([2, 1])
with c1:
    text = search_box("Search session, therapist, rater, purpose or number", key="as_text", placeholder="e.g. Okafor, #12")
status = c2.selectbox("Rating", [None, *fidelity.ASSIGNMENT_STATUSES], key="as_status",
                      format_func=lambda s: "Any" if s is None else s)
total = fidelity.count_assignments(db, user, text, status)
page = pager(total, "as_page")
rows = fidelity.find_assignments(db, user, text, status, PAGE_SIZE, (page - 1) * PAGE_SIZE)
if rows:
    table = pd.DataFrame([{"session": a["label"], "therapist": a["trainee"], "rater": a["rater"],
                           "purpose": a["purpose"].replace("_", " "), "due": a["due_date"] or "",
                           "status": a["status"]} for a in rows])
    st.dataframe(table, hide_index=True, width="stretch", key="as_table")
elif text or status:
    st.info("No assignment matches this search. Clear the search or set the rating back to Any.")
else:
    st.info("No assignment yet.")
