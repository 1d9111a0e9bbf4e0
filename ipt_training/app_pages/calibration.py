"""Raters and supervisors: my calibration against gold-standard sessions, certification and drift."""

import datetime as dt

import pandas as pd
import streamlit as st

from ipt_training.reliability import calibration
from ipt_training.ui import charts
from ipt_training.ui.common import chart_with_table, get_db, get_library, require_user
from ipt_training.ui.text import plain

RATING_WORKSPACE = "ipt_training/app_pages/rating_workspace.py"


user = require_user("rater", "supervisor")
db = get_db()
library = get_library()
st.title("My calibration")
st.caption("Rate the gold-standard sessions on your own; once you submit, you see the expert's score and "
           "reason for every item, so you can learn from each difference.")

try:
    policy = calibration.policy(library)
except calibration.CalibrationError as exc:
    st.error(plain(str(exc)))
    st.stop()
instrument = library.instruments.get(policy.instrument)
today = dt.date.today()
cert = calibration.certification(db, library, user.id, today)

st.subheader("Certification")
name = instrument.name if instrument else policy.instrument
if cert["certified"]:
    st.success(f"Certification status: certified as a rater on {name} until {cert['expires_on'].isoformat()}.")
else:
    st.warning(f"Certification status: {cert['status']} on {name}. " + " ".join(cert["reasons"]))
st.caption(calibration.policy_text(policy))

st.subheader("My calibration sessions")
queue = calibration.calibration_queue(db, library, user.id)
if not queue:
    st.info("No gold-standard session is assigned to you yet; ask an administrator for calibration sessions.")
for item in queue:
    with st.container(border=True):
        c1, c2, c3 = st.columns([3, 2, 2])
        c1.markdown(f"**{plain(item['session'])}** ({item['phase']}, {item['problem_area'].replace('_', ' ')})")
        due = f", due {item['due_date']}" if item["due_date"] else ""
        c2.caption(f"Status: {item['status']}{due}")
        if item["status"] != "submitted":
            label = "Continue rating" if item["status"] == "draft" else "Rate this session"
            if c3.button(label, key=f"cal_rate_{item['session_id']}", icon=":material/rate_review:"):
                st.session_state["rating_session_id"] = item["session_id"]
                st.session_state["rating_kind"] = "rater"
                st.switch_page(RATING_WORKSPACE)
        elif not item["feedback_available"]:
            c3.caption("Submitted; the expert rating is not available yet.")
        else:
            c3.caption(f"Submitted on {item['submitted_on']}; see the comparison below.")

st.subheader("My agreement with the expert")
if not cert["calibrations"]:
    st.info("Your comparison with the expert appears here after you submit a calibration rating.")
for cal in reversed(cert["calibrations"]):
    label = (f"{cal['date']} - {plain(cal['session'])}: {cal['within_one']:.0%} within one point, "
             f"{cal['exact']:.0%} exact, mean difference {cal['mean_difference']:+.2f}")
    with st.expander(label):
        st.dataframe(calibration.calibration_items_table(cal), hide_index=True, width="stretch")

view = calibration.shared_drift_view(db, library, today, user)
mine = pd.DataFrame([s for s in view["series"] if s["rater_id"] == user.id and s["metric"] == "icc"])
if len(mine):
    st.subheader("My agreement over time")
    st.caption(calibration.DRIFT_TEXT)
    chart_with_table(charts.drift_chart(mine, policy.min_icc, "My pooled ICC(A,1) with the expert",
                                        "ICC(A,1), pooled window", color_by=None),
                     charts.drift_table(mine), f"My pooled ICC(A,1) with the expert over time (threshold "
                     f"{policy.min_icc:g}): " + charts.latest_by_group(mine, "value", None), key="cal_mine_data")
    me = next((r for r in view["raters"] if r["rater_id"] == user.id), None)
    if me and me["drift_flag"]:
        st.warning(f"Your recent agreement has drifted: {me['drift_detail']}. Ask for a recalibration session.")

if user.has("supervisor"):
    st.divider()
    st.subheader("All raters")
    table = calibration.raters_table(view)
    if len(table):
        st.dataframe(table, hide_index=True, width="stretch")
    everyone = pd.DataFrame([s for s in view["series"] if s["metric"] == "icc"])
    if len(everyone):
        chart_with_table(charts.drift_chart(everyone, policy.min_icc, "Pooled ICC(A,1) with the expert, all raters",
                                            "ICC(A,1), pooled window"), charts.drift_table(everyone),
                         f"Pooled ICC(A,1) with the expert over time, all raters (threshold {policy.min_icc:g}): "
                         + charts.latest_by_group(everyone, "value", "rater"), key="cal_all_data")
