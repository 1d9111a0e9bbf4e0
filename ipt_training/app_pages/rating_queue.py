"""Raters and supervisors: the sessions assigned to me, with due dates and the state of my rating."""

import streamlit as st

from ipt_training import fidelity
from ipt_training.ui.common import get_db, require_user
from ipt_training.ui.rating_widgets import open_in_workspace
from ipt_training.ui.text import plain

user = require_user("rater", "supervisor")
db = get_db()
st.title("Rating queue")
st.caption("Rate each session on your own: other ratings of a session stay hidden until you submit yours.")

queue = fidelity.rater_queue(db, user)
if not queue:
    st.info("No session is assigned to you yet. A supervisor or administrator assigns sessions to raters.")
    st.stop()

open_items = [q for q in queue if q["status"] != "submitted"]
done = [q for q in queue if q["status"] == "submitted"]
st.subheader(f"To rate ({len(open_items)})")
if not open_items:
    st.success("Nothing waiting: every assigned session is rated.")
for q in open_items:
    with st.container(border=True, key=f"rq_row_{q['session_id']}"):
        c1, c2, c3 = st.columns([4, 2, 1.4], vertical_alignment="center")
        purpose = {"rating": "rating", "second_rating": "second, independent rating",
                   "calibration": "calibration (gold standard)"}[q["purpose"]]
        c1.markdown(f"**{plain(q['label'])}**  \nTherapist: {plain(q['trainee_name'])} · {purpose}")
        due = f"due {q['due_date']}" if q["due_date"] else "no due date"
        c2.markdown(f"Status: **{q['status']}**  \n{':red[overdue, ' + due + ']' if q['overdue'] else due}")
        if q["deleted_at"]:
            c3.caption("Recording deleted")
        elif c3.button("Continue" if q["status"] == "draft" else "Open", key=f"rq_open_{q['assignment_id']}",
                       icon=":material/rate_review:", type="primary"):
            open_in_workspace(q["session_id"], "rater")

if done:
    st.subheader(f"Submitted ({len(done)})")
    for q in done:
        c1, c2, c3 = st.columns([4, 2, 1.4], vertical_alignment="center")
        c1.markdown(plain(q["label"]))
        c2.caption(f"Submitted {(q['submitted_at'] or '')[:10]}")
        if c3.button("View", key=f"rq_view_{q['assignment_id']}", icon=":material/visibility:"):
            open_in_workspace(q["session_id"], "rater")
