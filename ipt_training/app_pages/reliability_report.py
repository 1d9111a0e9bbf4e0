"""Admins and supervisors: inter-rater reliability of fidelity ratings, rater certification and drift."""

import datetime as dt

import pandas as pd
import streamlit as st

from ipt_training import auth, fidelity
from ipt_training.reliability import calibration
from ipt_training.reliability import report_data as rd, report_export, report_live
from ipt_training.content import PHASES
from ipt_training.display import number
from ipt_training.ui import charts
from ipt_training.ui.common import chart_with_table, get_db, get_library, require_user
from ipt_training.ui.errors import pdf_download
from ipt_training.ui.text import plain


user = require_user("admin", "supervisor")
db = get_db()
library = get_library()
st.title("Reliability report")
st.caption("How far raters agree when they rate the same recorded sessions, and how many ratings a "
           "trainee's mean fidelity score needs.")

if not library.instruments:
    st.error("No fidelity instrument is loaded; fix the files listed under Content status." if user.has("admin") else
             "No fidelity instrument is loaded; an administrator must fix the files listed under Content status.")
    st.stop()


instruments = sorted(library.instruments.values(), key=lambda i: i.name)
cohorts = auth.list_cohorts(db)
policy = library.certification_policy
default_instrument = next((n for n, i in enumerate(instruments) if policy and i.id == policy.instrument), 0)
period = rd.rating_period(db)

with st.form("rr_filters"):
    c1, c2 = st.columns(2)
    instrument = c1.selectbox("Instrument", instruments, index=default_instrument, format_func=lambda i: i.name,
                              key="rr_instrument")
    cohort = c2.selectbox("Cohort", [None] + cohorts, format_func=lambda c: "All cohorts" if c is None else c["name"],
                          key="rr_cohort")
    c3, c4 = st.columns(2)
    dates = c3.date_input("Ratings submitted between", value=period, key="rr_dates")
    phase = c4.selectbox("Phase", [None, *PHASES], format_func=lambda p: "All phases" if p is None else p,
                         key="rr_phase")
    st.form_submit_button("Show report", key="rr_show")

if not isinstance(dates, (tuple, list)) or len(dates) != 2:
    st.error("Pick both a start and an end date for the range.")
    st.stop()
date_from, date_to = dates
cohort_id = cohort["id"] if cohort else None
# sessions this person is still to rate (or self-rate) stay out of every figure they see (blind rule);
# everyone else shares one computation per change of submitted data (issue 16: report_live)
blind = frozenset(fidelity.blind_session_ids(db, user))
filters = (instrument.id, cohort_id, date_from.isoformat(), date_to.isoformat(), phase)
try:
    with st.spinner("Computing reliability..."):
        report = report_live.shared_report(db, library, *filters, blind=blind)
except rd.ReportError as exc:
    st.error(plain(str(exc)))
    st.stop()

total = report["total"]
m1, m2, m3, m4 = st.columns(4)
m1.metric("Sessions rated", report["n_sessions"])
m2.metric("Double-rated sessions", report["n_double_rated"])
m3.metric("Raters", len(report["raters"]))
m4.metric("ICC(1,1), session score", "n/a" if total["icc"] is None else f"{total['icc']:.2f}",
          help=total["band"])
if total["icc"] is not None:
    ci = (f"95% CI {total['ci_low']:.2f} to {total['ci_high']:.2f}, " if total["ci_low"] is not None else "")
    st.markdown(f"**Session score ICC(1,1) = {total['icc']:.2f}** ({ci}{total['n_icc_sessions']} double-rated "
                f"sessions): {total['band']}.")
if total["icc_a1"] is not None:
    st.markdown(f"**Session score ICC(A,1) = {total['icc_a1']:.2f}** (crossed random-effects model, same sessions).")
st.caption(report["model"]["statement"])
for warning in report["warnings"]:
    st.warning(warning)

st.subheader("Pass/fail decisions")
st.caption("Whether the raters of a session reach the same pass/fail decision under the instrument's pass rule, on "
           "every session with two or more submitted ratings. Agreement: the share of agreeing rater pairs per "
           "session; Fleiss' kappa corrects it for chance; Gwet's AC1 stays meaningful when nearly every session "
           "passes (kappa then falls although raters agree).")
st.dataframe(rd.decisions_table(report), hide_index=True, width="stretch")

st.subheader("Agreement per item")
st.dataframe(rd.figures_table(report), hide_index=True, width="stretch")

if report["pairs"]:
    st.subheader("Rater pairs")
    st.caption("Cohen's kappa on item scores pooled over the sessions both raters rated; the reading uses the "
               "quadratic-weighted kappa, which suits an ordered 1-5 scale.")
    st.dataframe(rd.pairs_table(report), hide_index=True, width="stretch")

if len(report["matrix"]):
    st.subheader("Rater-by-rater matrix")
    c1, c2 = st.columns(2)
    c1.caption("ICC(2,1) of the session score for each pair (empty: fewer than 3 shared sessions)")
    c1.dataframe(report["matrix"].astype(float).map(number), width="stretch")
    c2.caption("Sessions rated by both (diagonal: sessions each rater rated)")
    c2.dataframe(report["matrix_n"], width="stretch")

    st.subheader("Rater severity")
    st.caption("Mean difference between a rater's session score and the other raters' scores of the same sessions "
               "(positive: more lenient).")
    st.dataframe(rd.severity_table(report), hide_index=True, width="stretch")

pairs = rd.rater_pairs_for_plot(report)
if pairs:
    st.subheader("Bland-Altman plot")
    pair = st.selectbox("Rater pair", pairs, format_func=lambda p: f"{p[0]} and {p[1]}", key="rr_ba_pair")
    try:
        ba = rd.bland_altman_pair(report, *pair)
        chart_with_table(charts.bland_altman_chart(ba["points"], ba["bias"], ba["lower"], ba["upper"],
                                                   f"{pair[0]} minus {pair[1]}"),
                         ba["points"].round(2).rename(columns=str.capitalize),
                         f"Bland-Altman plot of {pair[0]} minus {pair[1]}: bias {ba['bias']:+.2f}; 95% limits of "
                         f"agreement {ba['lower']:.2f} to {ba['upper']:.2f} ({ba['n']} sessions; Bland & Altman 1986).",
                         key="rr_ba_data")
    except rd.ReportError as exc:
        st.info(plain(str(exc)))

st.subheader("How many ratings are enough")
g = report_live.shared_generalizability(db, library, *filters, blind=blind) if report["n_double_rated"] else None
if g is not None and g["ok"]:
    st.caption(f"Generalizability study of the session score ({g['method']}; {g['n_trainees']} trainees, "
               f"{g['n_sessions']} double-rated sessions, {g['n_raters']} raters). The decision table projects the "
               "dependability (phi) of a trainee's mean fidelity score; shaded cells reach 0.80.")
    c1, c2 = st.columns([2, 3])
    c1.dataframe(g["components"].round(3), hide_index=True, width="stretch")
    c2.vega_lite_chart(spec=charts.variance_components_chart(g["components"]), width="stretch")
    st.dataframe(charts.highlight_at_least(g["decision"], g["target_phi"]), width="stretch")
    st.markdown(g["smallest"])
    for w in g["warnings"]:
        st.caption(w)
elif g is not None:
    st.info(g["message"])

st.subheader("Export")
stem = f"reliability-{instrument.id}-{date_from.isoformat()}-{date_to.isoformat()}"
c1, c2 = st.columns(2)
# the CSV is built when the button is pressed (deferred data), not on every visit
c1.download_button("Download CSV", lambda: report_export.report_csv(report), file_name=f"{stem}.csv",
                   mime="text/csv", key="rr_csv", icon=":material/table:", on_click="ignore")
# built on demand and kept for this visitor: a PDF costs more than the page, and most visits need none
pdf_key = (filters, report["generated_at"], id(report))


def _pdf_bytes() -> bytes:
    kept = st.session_state.get("rr_pdf_bytes")
    if not kept or kept[0] != pdf_key:
        kept = (pdf_key, report_export.report_pdf(report, g))
        st.session_state["rr_pdf_bytes"] = kept
    return kept[1]


if c2.button("Build PDF report", key="rr_build_pdf", icon=":material/picture_as_pdf:"):
    st.session_state["rr_pdf_wanted"] = pdf_key
if st.session_state.get("rr_pdf_wanted") == pdf_key:
    pdf_download("Download PDF report", _pdf_bytes, file_name=f"{stem}.pdf", key="rr_pdf", where=c2)

st.divider()
st.subheader("Rater certification and drift")
if policy is None:
    st.error("No rater-certification policy is loaded; add training/rater_certification.yaml.")
    st.stop()
today = dt.date.today()
view = calibration.shared_drift_view(db, library, today, user)
st.caption("Policy: " + calibration.policy_text(policy))
if view["raters"]:
    st.dataframe(calibration.raters_table(view), hide_index=True, width="stretch")
flagged = [r["rater"] for r in view["raters"] if r["drift_flag"]]
if flagged:
    st.warning(f"Recent agreement below the threshold: {', '.join(flagged)}. Plan a recalibration session.")
st.caption(calibration.DRIFT_TEXT)
icc_series = [s for s in view["series"] if s["metric"] == "icc"]
if icc_series:
    series = pd.DataFrame(icc_series)
    chart_with_table(charts.drift_chart(series, view["policy"]["min_icc"],
                                        "Pooled ICC(A,1) with the gold standard over time", "ICC(A,1), pooled window"),
                     charts.drift_table(series), f"Pooled ICC(A,1) with the gold standard over time (threshold "
                     f"{view['policy']['min_icc']:g}): " + charts.latest_by_group(series, "value", "rater"),
                     key="rr_drift_data")
else:
    st.info("No rater has a calibration session with an expert rating yet.")

if user.has("admin"):
    st.subheader("Ratings by uncertified raters")
    current = calibration.count_uncertified_ratings(db, library)
    with st.form("rr_setting"):
        value = st.toggle("Count ratings by uncertified raters toward credentials", value=current,
                          key="rr_count_uncertified")
        if st.form_submit_button("Save setting", key="rr_save_setting"):
            calibration.set_count_uncertified_ratings(db, user, value)
            st.success("Saved: ratings by uncertified raters now " + ("count." if value else "do not count."))
