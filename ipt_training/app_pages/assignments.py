"""Supervisors and admins: assign sessions to raters, ask for random second ratings, draw a
trainee's sessions to be rated at random (issue 13), see assignments."""

import datetime as dt

import pandas as pd
import streamlit as st

from ipt_training import auth, fidelity
from ipt_training.ui.common import get_db, get_library, require_user
from ipt_training.ui.portfolio_widgets import draw_panel
from ipt_training.ui.text import plain

user = require_user("supervisor", "admin")
db = get_db()
st.title("Rating assignments")

sessions = fidelity.assignable_sessions(db, user)
people = fidelity.raters(db)
names = {p["id"]: p["display_name"] for p in people}
labels = {s["id"]: f"{s['trainee_name']}: {s['label']}" for s in sessions}

st.subheader("Assign a session")
if not sessions or not people:
    st.info("There is no session to assign (yet) or no rater; sessions appear here once trainees add them.")
else:
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
                           + "; ".join(f"{plain(labels.get(m['session_id'], m['session_id']))} to {plain(names.get(m['rater_id']))}"
                                       for m in made) + ".")
            except fidelity.FidelityError as exc:
                st.error(plain(str(exc)))

st.subheader("Sessions drawn at random for a credential")
everyone = {u["id"]: u["display_name"] for u in auth.list_users(db)}
trainees = {t: everyone[t] for t in auth.visible_trainee_ids(db, user) if t in everyone and t != user.id}
if trainees:
    with st.expander("Draw sessions for rating at random", key="as_draw_exp"):
        who = st.selectbox("Trainee", list(trainees), format_func=trainees.get, key="as_draw_trainee")
        draw_panel(db, get_library(), user, who, key="as_draw")

st.subheader("Assignments")
rows = fidelity.list_assignments(db, user)
if rows:
    table = pd.DataFrame([{"session": a["label"], "therapist": a["trainee"], "rater": a["rater"],
                           "purpose": a["purpose"].replace("_", " "), "due": a["due_date"] or "",
                           "status": a["status"]} for a in rows])
    st.dataframe(table, hide_index=True, width="stretch", key="as_table")
else:
    st.info("No assignment yet.")
