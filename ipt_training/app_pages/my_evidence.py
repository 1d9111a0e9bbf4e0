"""Trainee: log training events, clinical hours, cases (with symptom scores) and supervision.

Entries count toward a credential once the supervisor confirms them; until then they are
listed as awaiting supervisor confirmation. Rated sessions and vignette results come from the
other pages, never typed in here.
"""

import datetime as _dt

import streamlit as st

from ipt_training.credentials import evidence, portfolio
from ipt_training.config import get_settings
from ipt_training.content import CASE_REPORT_LEVELS, POPULATIONS, PROBLEM_AREAS, TRAINING_CATEGORIES
from ipt_training.ui.common import get_db, require_user
from ipt_training.ui.readiness_widgets import entries_table, symptom_scores_table
from ipt_training.ui.text import plain

user = require_user("trainee", "rater", "supervisor")
db = get_db()
settings = get_settings()
today = _dt.date.today()
st.title("My training log")
st.caption("Log what a credential counts. Each entry counts once your supervisor confirms it; until then it is "
           "shown as awaiting supervisor confirmation. Rated sessions and vignette results are added "
           "automatically from your recorded sessions and vignette practice.")
if flash := st.session_state.pop("ev_flash", None):
    st.success(plain(flash))
n = st.session_state.get("ev_form_n", 0)  # a fresh form after each entry saved


def saved(message: str) -> None:
    st.session_state["ev_flash"] = message + " It awaits your supervisor's confirmation."
    st.session_state["ev_form_n"] = n + 1
    st.rerun()


entries = evidence.list_entries(db, user, user.id)
cases = entries["clinical_cases"]
t_training, t_hours, t_cases, t_supervision, t_reports = st.tabs(
    ["Training events", "Clinical hours", "Cases", "Supervision", "Case reports"], key="ev_tabs")

with t_training:
    with st.expander("Log a training event", expanded=not entries["training_events"], key="ev_training_exp"):
        with st.form("ev_training_form"):
            c1, c2 = st.columns(2)
            day = c1.date_input("Date", value=today, max_value=today, key=f"ev_t_date_{n}")
            hours = c2.number_input("Hours", min_value=0.25, max_value=100.0, value=7.0, step=0.25, key=f"ev_t_hours_{n}")
            title = st.text_input("Title", key=f"ev_t_title_{n}", placeholder="e.g. Introductory IPT course, day 1")
            c3, c4 = st.columns(2)
            trainer = c3.text_input("Trainer", key=f"ev_t_trainer_{n}")
            category = c4.selectbox("Kind of training", list(TRAINING_CATEGORIES), format_func=TRAINING_CATEGORIES.get,
                                    key=f"ev_t_category_{n}",
                                    help="A standard may count only some kinds (for example its introductory course).")
            cert = st.file_uploader("Certificate of attendance (optional: PDF, PNG or JPEG, at most "
                                    f"{settings.max_certificate_mb} MB)", type=["pdf", "png", "jpg", "jpeg"],
                                    key=f"ev_t_cert_{n}", max_upload_size=settings.max_certificate_mb)
            if st.form_submit_button("Save training event", key=f"ev_t_submit_{n}", type="primary"):
                try:
                    evidence.record_training_event(db, settings, user, user.id, day, hours, title, trainer,
                                                   (cert.name, cert.getvalue()) if cert else None, today=today,
                                                   category=category)
                    saved(f"Training event saved: {title.strip()}.")
                except evidence.EvidenceError as exc:
                    st.error(plain(str(exc)))
    entries_table("training_events", entries["training_events"], key="ev_t_table")
    for e in entries["training_events"]:
        if e["certificate_file"]:
            try:
                data, media, name = evidence.certificate_file(db, settings, user, e["id"])
            except evidence.EvidenceError as exc:
                st.caption(plain(f"{e['date']} {e['title']}: {exc}"))
                continue
            st.download_button(f"Certificate: {e['date']} {plain(e['title'])}", data, file_name=name, mime=media,
                               key=f"ev_t_cert_dl_{e['id']}", icon=":material/download:")

with t_hours:
    with st.expander("Log supervised clinical hours", expanded=not entries["clinical_hours"], key="ev_hours_exp"):
        with st.form("ev_hours_form"):
            c1, c2 = st.columns(2)
            day = c1.date_input("Date (or the last day of the period)", value=today, max_value=today, key=f"ev_h_date_{n}")
            hours = c2.number_input("Hours", min_value=0.25, max_value=2000.0, value=10.0, step=0.5, key=f"ev_h_hours_{n}")
            setting = st.text_input("Setting (optional)", key=f"ev_h_setting_{n}", placeholder="e.g. Outpatient clinic")
            if st.form_submit_button("Save clinical hours", key=f"ev_h_submit_{n}", type="primary"):
                try:
                    evidence.record_clinical_hours(db, user, user.id, day, hours, setting, today=today)
                    saved(f"{hours:g} h of supervised clinical practice saved.")
                except evidence.EvidenceError as exc:
                    st.error(plain(str(exc)))
    entries_table("clinical_hours", entries["clinical_hours"], key="ev_h_table")

with t_cases:
    with st.expander("Log a new case", expanded=not cases, key="ev_case_exp"):
        with st.form("ev_case_form"):
            c1, c2 = st.columns(2)
            pseudonym = c1.text_input("Case pseudonym", key=f"ev_c_name_{n}",
                                      placeholder="e.g. Case A (never the client's name)",
                                      help="Use the same pseudonym as for the case's recorded sessions, so the "
                                           "rated sessions link to the case.")
            area = c2.selectbox("Problem area", list(PROBLEM_AREAS), format_func=PROBLEM_AREAS.get, key=f"ev_c_area_{n}")
            c3, c4, c5 = st.columns(3)
            start = c3.date_input("Start", value=today, max_value=today, key=f"ev_c_start_{n}")
            end = c4.date_input("End (leave empty while ongoing)", value=None, max_value=today, key=f"ev_c_end_{n}")
            sessions = c5.number_input("Sessions so far", min_value=0, max_value=200, value=1, step=1, key=f"ev_c_n_{n}")
            population = st.selectbox("Population", list(POPULATIONS), format_func=POPULATIONS.get, key=f"ev_c_pop_{n}",
                                      help="Names the symptom measure a standard asks for (e.g. PHQ-A for adolescents).")
            st.caption("First symptom score (optional; add more under 'Update a case')")
            c6, c7, c8 = st.columns(3)
            measure = c6.selectbox("Measure", evidence.MEASURES, key=f"ev_c_measure_{n}", accept_new_options=True)
            s_session = c7.number_input("At session", min_value=1, max_value=200, value=1, step=1, key=f"ev_c_ss_{n}")
            score = c8.number_input("Score", min_value=0.0, value=None, step=1.0, key=f"ev_c_score_{n}")
            if st.form_submit_button("Save case", key=f"ev_c_submit_{n}", type="primary"):
                try:
                    scores = [(s_session, measure, score)] if score is not None else []
                    evidence.record_case(db, user, user.id, pseudonym, area, start, end, sessions, scores, today=today,
                                         population=population)
                    saved(f"Case '{pseudonym.strip()}' saved.")
                except evidence.EvidenceError as exc:
                    st.error(plain(str(exc)))
    if cases:
        with st.expander("Update a case: more sessions, an end date, a symptom score", key="ev_update_exp"):
            with st.form("ev_update_form"):
                by_id = {c["id"]: c for c in cases}
                cid = st.selectbox("Case", list(by_id), format_func=lambda i: by_id[i]["pseudonym"], key=f"ev_u_case_{n}")
                c1, c2 = st.columns(2)
                sessions = c1.number_input("Sessions so far (empty: unchanged)", min_value=0, max_value=200, value=None,
                                           step=1, key=f"ev_u_n_{n}")
                end = c2.date_input("End date (empty: unchanged)", value=None, max_value=today, key=f"ev_u_end_{n}")
                c3, c4, c5 = st.columns(3)
                measure = c3.selectbox("Measure", evidence.MEASURES, key=f"ev_u_measure_{n}", accept_new_options=True)
                s_session = c4.number_input("At session", min_value=1, max_value=200, value=None, step=1, key=f"ev_u_ss_{n}")
                score = c5.number_input("Score", min_value=0.0, value=None, step=1.0, key=f"ev_u_score_{n}")
                st.caption("Changing a confirmed case sends it back to your supervisor for confirmation.")
                if st.form_submit_button("Update case", key=f"ev_u_submit_{n}", type="primary"):
                    try:
                        if (score is None) != (s_session is None):
                            raise evidence.EvidenceError("Give both the session number and the score, or neither.")
                        scores = [(s_session, measure, score)] if score is not None else []
                        evidence.update_case(db, user, cid, n_sessions=sessions, end_date=end if end else "keep",
                                             add_scores=scores, today=today)
                        saved(f"Case '{by_id[cid]['pseudonym']}' updated.")
                    except evidence.EvidenceError as exc:
                        st.error(plain(str(exc)))
    entries_table("clinical_cases", cases, key="ev_c_table")
    for c in cases:
        with st.expander(f"{plain(c['pseudonym'])}: symptom scores and rated sessions", key=f"ev_c_detail_{c['id']}"):
            symptom_scores_table(c, key=f"ev_c_scores_{c['id']}")
            if c["rated_sessions"]:
                st.caption("Rated recorded sessions: " + ", ".join(f"session {s} ({p})" for s, p in c["rated_sessions"]))
            else:
                st.caption("No rated recorded session of this case yet.")

with t_supervision:
    with st.expander("Log a supervision session", expanded=not entries["supervision_sessions"], key="ev_sup_exp"):
        with st.form("ev_sup_form"):
            c1, c2, c3 = st.columns(3)
            name = c1.text_input("Supervisor", key=f"ev_s_name_{n}")
            day = c2.date_input("Date", value=today, max_value=today, key=f"ev_s_date_{n}")
            hours = c3.number_input("Hours", min_value=0.25, max_value=24.0, value=1.0, step=0.25, key=f"ev_s_hours_{n}")
            case_names = {c["id"]: c["pseudonym"] for c in cases}
            case_id = st.selectbox("Case discussed (optional)", [None] + list(case_names), key=f"ev_s_case_{n}",
                                   format_func=lambda i: "none / several" if i is None else case_names[i])
            notes = st.text_area("Notes (optional)", key=f"ev_s_notes_{n}")
            if st.form_submit_button("Save supervision session", key=f"ev_s_submit_{n}", type="primary"):
                try:
                    evidence.record_supervision(db, user, user.id, name, day, hours, case_id, notes, today=today)
                    saved(f"{hours:g} h of supervision with {name.strip()} saved.")
                except evidence.EvidenceError as exc:
                    st.error(plain(str(exc)))
    entries_table("supervision_sessions", entries["supervision_sessions"], key="ev_s_table")

with t_reports:
    st.caption("A written report of a case (interpersonal inventory and formulation, course by phase, outcome) "
               "for your supervisor to grade; a report graded 'needs revision' is answered by a new version.")
    if cases:
        with st.form("ev_report_form"):
            names = {c["id"]: c["pseudonym"] for c in cases}
            rcase = st.selectbox("Case", list(names), format_func=names.get, key=f"ev_r_case_{n}")
            text = st.text_area("Report", height=260, key=f"ev_r_text_{n}",
                                max_chars=portfolio.MAX_REPORT_CHARS)
            if st.form_submit_button("Submit report for grading", key=f"ev_r_submit_{n}", type="primary"):
                try:
                    portfolio.submit_case_report(db, user, rcase, text)
                    st.session_state["ev_flash"] = f"Report on '{names[rcase]}' submitted; it awaits grading."
                    st.session_state["ev_form_n"] = n + 1
                    st.rerun()
                except portfolio.PortfolioError as exc:
                    st.error(str(exc))
    else:
        st.info("Log a case first; a report is written about one of your logged cases.")
    for r in portfolio.list_case_reports(db, user.id):
        grade = (f"graded {CASE_REPORT_LEVELS.get(r['level'], r['level']).lower()} by {r['grader']}"
                 if r["level"] else "awaiting grading")
        with st.expander(f"{r['pseudonym']}, submitted {r['submitted_at'][:10]}: {grade}", key=f"ev_r_{r['id']}"):
            st.text(r["report"])
            if r["comment"]:
                st.caption("Supervisor's comment:")
                st.text(r["comment"])

waiting = [(t, e) for t, es in entries.items() for e in es if not e["confirmed"]]
if waiting:
    with st.expander("Remove a mistaken entry (only entries awaiting confirmation)", key="ev_remove_exp"):
        pick = st.selectbox("Entry", range(len(waiting)), index=None, placeholder="Choose an entry",
                            format_func=lambda i: f"{evidence.ENTRY_TABLES[waiting[i][0]]}: "
                                                  f"{evidence.entry_summary(*waiting[i])}", key="ev_remove_pick")
        if st.button("Remove entry", key="ev_remove_btn", disabled=pick is None, icon=":material/delete:"):
            table, e = waiting[pick]
            try:
                evidence.delete_entry(db, user, table, e["id"])
                st.session_state["ev_flash"] = "Entry removed."
                st.rerun()
            except evidence.EvidenceError as exc:
                st.error(plain(str(exc)))
