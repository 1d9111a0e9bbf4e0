"""Training body (admin): cohort readiness, per-person review, decisions, certificates, renewals."""

import datetime as _dt

import pandas as pd
import streamlit as st

from ipt_training import auth
from ipt_training import credentials
from ipt_training.display import readable
from ipt_training.ui.common import get_db, get_library, require_user
from ipt_training.ui.errors import pdf_download
from ipt_training.ui.finding import paged, search_box
from ipt_training.ui.readiness_widgets import decision_log, evidence_links, readiness_checklist
from ipt_training.ui.text import plain

user = require_user("admin")
db, library = get_db(), get_library()
today = _dt.date.today()
st.title("Credential review")
if flash := st.session_state.pop("cr_flash", None):
    st.success(plain(flash))
if not library.standards:
    st.info("No credential standard is loaded; add one under training/ (see Content status for rejected files).")
    st.stop()

c1, c2 = st.columns(2)
ids = sorted(library.standards, key=lambda i: library.standards[i].name)
default = ids.index("ipt-therapist-example") if "ipt-therapist-example" in ids else 0
standard_id = c1.selectbox("Standard", ids, index=default, key="cr_standard",
                           format_func=lambda i: f"{library.standards[i].name} (version {library.standards[i].version})")
cohorts = {c["id"]: c["name"] for c in auth.list_cohorts(db)}
cohort_id = c2.selectbox("Cohort", [None] + list(cohorts), key="cr_cohort",
                         format_func=lambda i: "All cohorts" if i is None else cohorts[i])
standard = library.standards[standard_id]


try:
    # process-wide and patched per change (issue 16): a rerun with unchanged evidence reuses the
    # rows, and after one person's change only that person's row is built again
    with st.spinner("Evaluating readiness..."):
        people = credentials.cohort_readiness(db, library, standard_id, cohort_id, today, viewer=user)
except credentials.ReviewError as exc:
    st.error(plain(str(exc)))
    st.stop()

st.subheader("Cohort")
st.caption('Candidates, sorted with "ready for review" first, then by progress. Progress counts only confirmed '
           "evidence. People who hold this credential are listed apart, with their renewal.")
shown = []  # the people on the pages shown: the ones the review below offers
if people:
    # searched and shown a page at a time: 10,000 candidates are never all sent to the browser
    find = search_box("Find a person (name, username, cohort or status)", key="cr_find",
                      placeholder="e.g. Okafor, ready for review")
    listed = credentials.find_in_cohort(people, find)
    waiting = [p for p in listed if not p["holding"]]
    holders = [p for p in listed if p["holding"]]
    if waiting:
        shown += paged(waiting, "cr_page")
        st.dataframe(credentials.cohort_table(shown)[["trainee", "cohort", "status", "requirements met", "progress %",
                                                      "latest decision"]], hide_index=True, width="stretch",
                     key="cr_table")
    elif find:
        st.caption("No candidate matches this search.")
    else:
        st.caption("Everyone in this selection holds this credential.")
    if holders:
        st.markdown("**Holding this credential**")
        page = paged(holders, "cr_held_page")
        shown += page
        st.dataframe(credentials.cohort_table(page)[["trainee", "cohort", "status", "held", "requirements met"]].rename(
            columns={"requirements met": "renewal requirements met"}), hide_index=True, width="stretch",
            key="cr_held_table")
    # built when asked for (issue 16: writing 2,000 rows as CSV on every change cost more than the rest)
    st.download_button("Download the cohort as CSV", lambda: credentials.cohort_csv(people),
                       file_name=f"readiness-{standard_id}-{today.isoformat()}.csv", mime="text/csv",
                       key="cr_csv", icon=":material/download:")
else:
    st.info("Nobody in this selection can hold this credential.")

st.subheader("Review")
by_id = {p["trainee_id"]: p for p in people}
options = [p["trainee_id"] for p in shown]
if st.session_state.get("cr_trainee") in by_id and st.session_state["cr_trainee"] not in options:
    options.insert(0, st.session_state["cr_trainee"])  # opened from Home, or found on another page
chosen = st.selectbox("Person (from the rows shown above)", options, index=None,
                      placeholder="Choose a person to review", key="cr_trainee",
                      format_func=lambda i: f"{by_id[i]['trainee']} ({by_id[i]['username']}): {by_id[i]['status']}")
if chosen is not None:
    person = by_id[chosen]
    st.markdown(f"### {plain(person['trainee'])}")
    st.caption(f"{plain(person['username'])} · {plain(person['cohort'] or 'no cohort')} · {standard.name}, "
               f"version {standard.version}")
    holding = person["holding"]
    if holding:
        st.success(f"Holds this credential ({person['status']}): award {holding['decision_id']}, {plain(holding['text'])}. "
                   "The checklist below is the renewal, on evidence dated since that award.",
                   icon=":material/workspace_premium:")
    # bytes built before the button is drawn: a deferred (callable) download can fail silently
    pdf_download("Readiness report (PDF)", lambda: credentials.readiness_pdf(db, library, chosen, standard, today,
                                                                              viewer=user),
                 file_name=f"readiness-{person['username']}-{standard_id}-{today.isoformat()}.pdf",
                 key="cr_readiness_pdf", expected=(credentials.ReviewError,))
    readiness_checklist(person["readiness"], key=f"cr_{chosen}", links=evidence_links(user), status=person["status"],
                        reader="admin")

    st.markdown("#### Decision")
    k = st.session_state.get("cr_form_n", 0)  # a fresh form after each decision recorded
    with st.form("cr_decision_form"):
        decision = st.radio("Decision", credentials.DECISIONS, horizontal=True, key=f"cr_decision_{k}",
                            format_func={"award": "Award", "defer": "Defer (give reasons)",
                                         "refuse": "Refuse (give reasons)"}.get)
        reasons = st.text_area("Reasons (required to defer or refuse, and to award while requirements are unmet)",
                               key=f"cr_reasons_{k}")
        supersede = False
        if holding and holding["phase"] != "expired":
            supersede = st.checkbox(f"I confirm that an award or a refusal supersedes award {holding['decision_id']} "
                                    f"({plain(holding['text'])})", key=f"cr_supersede_{k}")
        st.caption(f"The decision is stored with your name, the time, version {standard.version} of the standard and a "
                   "snapshot of the evidence shown above. It cannot be edited or deleted; a later decision follows it. "
                   "Submitting the same decision twice records it once.")
        if st.form_submit_button("Record decision", key="cr_decide", type="primary", icon=":material/gavel:"):
            try:
                did = credentials.record_decision(
                    db, user, chosen, standard, decision, reasons, today, library=library,
                    supersedes=holding["decision_id"] if (holding and supersede) else None)
                st.session_state["cr_form_n"] = k + 1
                st.session_state["cr_flash"] = (f"Decision {did} recorded: {decision} for {person['trainee']} "
                                                f"({standard.name}).")
                st.rerun()
            except credentials.ReviewError as exc:
                st.error(plain(str(exc)))

    decisions = credentials.decisions_for(db, chosen, standard_id, today=today)
    st.markdown("#### Decisions (append-only log)")
    decision_log(decisions, key="cr_log")
    current = next((d for d in decisions if d["decision"] == "award" and d["state"].startswith("valid")), None)
    if current:
        pdf_download(f"Certificate for award {current['id']} (PDF)",
                     lambda: credentials.certificate_pdf(db, current["id"], today, viewer=user),
                     file_name=f"certificate-{person['username']}-{standard_id}-{current['id']}.pdf",
                     key="cr_certificate", icon=":material/workspace_premium:", expected=(credentials.ReviewError,))
    if decisions:
        with st.expander("Evidence snapshot of a decision", key="cr_snapshot_exp"):
            pick = st.selectbox("Decision", [d["id"] for d in decisions], key="cr_snapshot_pick",
                                format_func=lambda i: next(f"{d['id']}: {d['decision']} on {d['decided_at'][:10]}"
                                                           for d in decisions if d["id"] == i))
            st.json(credentials.decision_snapshot(db, pick), expanded=1)

st.subheader("Renewal reminders")
within = st.number_input("Credentials expiring within (days)", min_value=0, max_value=3650, value=90, step=30,
                         key="cr_within")
reminders = credentials.renewal_reminders(db, library, today, int(within))
if reminders:
    st.dataframe(readable(pd.DataFrame([{k: r[k] for k in ("trainee", "standard", "awarded_on", "expires_on", "status",
                                                            "decision_id")} for r in reminders]),
                          names={"awarded_on": "Awarded", "expires_on": "Expires", "decision_id": "Decision"}),
                 hide_index=True, width="stretch", key="cr_reminders")
else:
    st.caption("No credential expires in this period.")
