"""Supervisor / admin: grade the written parts of submitted vignette attempts.

The trainee's answers sit beside the expert key and the rubric's described levels; a level and
a comment per criterion make the score final, and the trainee sees the feedback at once.
"""

import pandas as pd
import streamlit as st

from ipt_training.ui.common import get_db, get_library, require_user
from ipt_training.ui.vignette_widgets import answers_panel, expert_key, pct, score_card
from ipt_training.finding import PAGE_SIZE
from ipt_training.ui.finding import date_range, pager, search_box
from ipt_training.vignettes import VignetteError, attempt_view_for, count_grading, find_grading, grade_attempt
from ipt_training.ui.text import plain

user = require_user("supervisor", "admin")
db, lib = get_db(), get_library()
st.title("Grading queue")
if msg := st.session_state.pop("gq_flash", None):
    st.success(plain(msg))

include_graded = st.toggle("Also show graded attempts (to review or regrade)", key="gq_include_graded")
waiting = count_grading(db, user, include_graded)
if not waiting:
    st.info("No attempt is waiting for your grading." if user.has("admin")
            else "No supervisee attempt is waiting for your grading.")
    st.stop()
text = search_box("Search trainee, vignette or attempt number", key="gq_text", placeholder="e.g. Okafor, retirement")
since, until = date_range("gq_submitted", "Submitted")
# searched and paged in SQL (issue 16): 50 rows are read, not every attempt of the training body
page = pager(count_grading(db, user, include_graded, text, since, until) if text or since or until else waiting, "gq_page")
queue = find_grading(db, user, include_graded, text, since, until, PAGE_SIZE, (page - 1) * PAGE_SIZE)  # newest first
if not queue:
    st.info("No attempt matches this search. Clear the search or the dates to see more.")
    st.stop()
st.dataframe(pd.DataFrame([{"trainee": q["trainee"], "vignette": q["vignette_title"], "status": q["status"],
                            "submitted": (q["submitted_at"] or "")[:10], "machine score": pct(q["score"])}
                           for q in queue]), hide_index=True, width="stretch")
by_id = {q["attempt_id"]: q for q in queue}
attempt_id = st.selectbox("Attempt to grade", list(by_id), key="gq_attempt",
                          format_func=lambda i: f"{by_id[i]['trainee']}: {by_id[i]['vignette_title']} ({by_id[i]['status']})")
view = attempt_view_for(db, lib, user, attempt_id)
st.caption(f"Attempt {view['number']} by {plain(view['trainee'])}, submitted {(view['submitted_at'] or '')[:10]}"
           + (f"; graded by {plain(view['grader'])}" if view["grader"] else ""))

left, right = st.columns(2)
with left:
    st.subheader("Trainee's answers")
    answers_panel(view)
with right:
    score_card(view["result"], key=f"gq_card_{attempt_id}")
with st.expander("Expert key and model responses", expanded=True):
    expert_key(view, key=f"gq_key_{attempt_id}")

st.subheader("Your grading")
with st.form(f"gq_form_{attempt_id}"):
    for crit in view["graded_criteria"]:
        st.markdown(f"**{crit['title']}** ({crit['applies_to']}): {crit['description']}")
        levels = {lv["score"]: lv for lv in crit["levels"]}
        old = crit["grade"] or {}
        # one name per criterion, so a screen reader tells the groups apart (WCAG 2.4.6, issue 17)
        st.radio(f"Level for {crit['title']}", list(levels), index=list(levels).index(old["level"]) if "level" in old else None,
                 format_func=lambda s, levels=levels: f"{s} · {levels[s]['label']}: {levels[s]['description']}",
                 key=f"gq_{attempt_id}_level_{crit['id']}")
        st.text_area(f"Comment for the trainee on {crit['title']}", value=old.get("comment", ""), key=f"gq_{attempt_id}_comment_{crit['id']}")
    saved = st.form_submit_button("Save grade", type="primary", key=f"gq_{attempt_id}_save")
if saved:
    grades = {c["id"]: {"level": st.session_state[f"gq_{attempt_id}_level_{c['id']}"],
                        "comment": st.session_state[f"gq_{attempt_id}_comment_{c['id']}"]}
              for c in view["graded_criteria"]}
    try:
        result = grade_attempt(db, user, attempt_id, grades)
        st.session_state["gq_flash"] = (f"Grade saved for {view['trainee']}: final score {pct(result['score'])}, "
                                        f"{'passed' if result['passed'] else 'not passed'}. The trainee can see it now.")
        st.rerun()
    except VignetteError as exc:
        st.error(plain(str(exc)))
