"""Trainee: mastery per problem area and per technique over time, pass status per vignette,
the recommended next vignette, and every past attempt with its feedback."""

import pandas as pd
import streamlit as st

from ipt_training.ui.common import get_db, get_library, require_user
from ipt_training.ui.vignette_widgets import attempts_table, expert_key, mastery_chart, pct, score_card
from ipt_training.vignettes import attempt_view_for, attempts_for, progress

user = require_user("trainee")
db, lib = get_db(), get_library()
st.title("My progress")
data = progress(db, lib, user.id)

rec = data["recommendation"]
if rec:
    with st.container(border=True, key="prog_recommendation"):
        st.markdown(f"**Recommended next:** {rec['title']}")
        st.caption(rec["reason"])
        if st.button("Open the recommended vignette", key="prog_open_rec", icon=":material/arrow_forward:"):
            st.session_state["vignette_id"] = rec["vignette_id"]
            st.switch_page("ipt_training/app_pages/vignette_workspace.py")

if data["n_submitted"] == 0:
    st.info("You have not submitted a vignette yet. Your mastery charts start with your first submission.")
    st.stop()

st.caption("Mastery is the mean of your last 3 attempts that exercised an area (cases whose expert focus it is) "
           "or a technique (moments where the expert would use it). Attempts awaiting grading count with their "
           "provisional, machine-scored share.")
c1, c2 = st.columns(2)
with c1:
    mastery_chart(data["area_series"], "area_label", "problem area", "Mastery per problem area")
with c2:
    mastery_chart(data["technique_series"], "technique_label", "technique", "Mastery per technique")

st.subheader("Pass status per vignette")
st.dataframe(pd.DataFrame([{
    "vignette": v["title"] + ("" if v["offered"] else " (withdrawn)"), "attempts submitted": v["attempts"],
    "latest score": pct(v["latest_score"]), "best final score": pct(v["best_final_score"]),
    "status": v["pass_status"]} for v in data["vignettes"]]), hide_index=True, width="stretch")

st.subheader("All my attempts")
mine = [a for a in attempts_for(db, lib, user, user.id) if a["status"] != "in progress"]
attempts_table(mine)
choice = st.selectbox("Read the feedback on", [a["attempt_id"] for a in mine], index=None,
                      format_func=lambda i: next(f"{a['title']}, attempt {a['number']} ({a['status']})"
                                                 for a in mine if a["attempt_id"] == i),
                      key="prog_attempt", placeholder="Choose an attempt")
if choice:
    view = attempt_view_for(db, lib, user, choice)
    if view["feedback_hidden"]:
        st.info("Feedback on this vignette's earlier attempts is hidden while your retake of it is in progress; "
                "submit the retake to read it again.")
        st.stop()
    if view["withdrawn"]:
        st.caption("This vignette is no longer offered; the feedback below is the version you were scored against.")
    score_card(view["result"], key=f"prog_card_{choice}")
    expert_key(view, key=f"prog_key_{choice}")
