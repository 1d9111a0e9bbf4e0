"""Trainees: my recorded sessions, my self-ratings, and the raters' results beside them."""

import streamlit as st

from ipt_training import fidelity
from ipt_training.ui.common import get_db, get_library, require_user
from ipt_training.ui.rating_widgets import open_in_workspace, results_view
from ipt_training.ui.text import plain

user = require_user("trainee")
db = get_db()
library = get_library()
st.title("My recorded sessions")
st.caption("Self-rate each session on the same instrument as the raters. The raters' scores appear beside your "
           "self-rating once both are submitted; until then each side rates blind.")
st.page_link("ipt_training/app_pages/add_session.py", label="Add a recorded session", icon=":material/upload:")

sessions = fidelity.my_sessions(db, user)
if not sessions:
    st.info("You have not added a recorded session yet.")
    st.stop()

for s in sessions:
    with st.container(border=True, key=f"ms_row_{s['id']}"):
        c1, c2, c3 = st.columns([4, 3, 1.6], vertical_alignment="center")
        c1.markdown(f"**{plain(s['label'])}**" + (" · calibration session" if s["is_gold_standard"] else ""))
        raters = (f"{s['rater_submitted']} rater rating(s) submitted" if s["rater_submitted"]
                  else ("assigned, not yet rated" if s["raters_assigned"] else "no rater assigned yet"))
        c2.markdown(f"Self-rating: **{s['self_status']}**  \n{raters}")
        if not s["deleted_at"] or s["self_status"] != "not started":
            label = {"not started": "Self-rate", "draft": "Continue self-rating", "submitted": "My self-rating"}[s["self_status"]]
            if c3.button(label, key=f"ms_self_{s['id']}", icon=":material/rate_review:"):
                open_in_workspace(s["id"], "self")
        with st.expander("Results"):
            results_view(fidelity.session_results(db, user, s["id"], library=library), key=f"ms_{s['id']}")
