"""Raters and supervisors: the sessions assigned to me, with due dates and the state of my rating."""

import streamlit as st

from ipt_training import fidelity
from ipt_training.finding import newest_first
from ipt_training.ui.common import get_db, require_user
from ipt_training.ui.finding import paged, search_box
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

c1, c2, c3 = st.columns([2, 1, 1])
with c1:
    text = search_box("Search session, therapist or number", key="rq_text", placeholder="e.g. Okafor, #12")
status = c2.selectbox("Status", [None, "not started", "draft", "submitted"], key="rq_status",
                      format_func=lambda s: "Any" if s is None else s)
due = c3.selectbox("Due", [None, *fidelity.QUEUE_DUE], format_func=lambda d: "Any" if d is None else fidelity.QUEUE_DUE[d],
                   key="rq_due")
found = fidelity.filter_queue(queue, text, status, due)
filtered = len(found) < len(queue)
if filtered:
    st.caption(f"{len(found)} of {len(queue)} assigned sessions match.")
open_items = [q for q in found if q["status"] != "submitted"]
done = newest_first([q for q in found if q["status"] == "submitted"], "submitted_at")
st.subheader(f"To rate ({len(open_items)})")
if not open_items and filtered:
    st.info("No session to rate matches this search. Clear the search or set a filter back to Any.")
elif not open_items:
    st.success("Nothing waiting: every assigned session is rated.")
# each row is one horizontal container of one text and one button, not columns of several: a
# page of 50 rows drew about 400 elements, and every element a run draws is a hand-over to the
# server's event loop, which all sessions share (issue 16)
for q in paged(open_items, "rq_page"):
    with st.container(border=True, horizontal=True, vertical_alignment="center", key=f"rq_row_{q['session_id']}"):
        purpose = {"rating": "rating", "second_rating": "second, independent rating",
                   "calibration": "calibration (gold standard)"}[q["purpose"]]
        when = f"due {q['due_date']}" if q["due_date"] else "no due date"
        st.markdown(f"**{plain(q['label'])}**  \nTherapist: {plain(q['trainee_name'])} · {purpose}  \n"
                    f"Status: **{q['status']}** · {':red[overdue, ' + when + ']' if q['overdue'] else when}"
                    + (" · recording deleted" if q["deleted_at"] else ""), width="stretch")
        if not q["deleted_at"] and st.button("Continue" if q["status"] == "draft" else "Open",
                                             key=f"rq_open_{q['assignment_id']}", icon=":material/rate_review:",
                                             type="primary", width="content"):
            open_in_workspace(q["session_id"], "rater")

if done:
    st.subheader(f"Submitted ({len(done)}), newest first")
    for q in paged(done, "rq_done_page"):
        with st.container(horizontal=True, vertical_alignment="center"):
            st.markdown(f"{plain(q['label'])} · submitted {(q['submitted_at'] or '')[:10]}", width="stretch")
            if st.button("View", key=f"rq_view_{q['assignment_id']}", icon=":material/visibility:", width="content"):
                open_in_workspace(q["session_id"], "rater")
