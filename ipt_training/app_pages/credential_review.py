"""Training body (admin): cohort readiness, per-person review, decisions, certificates, renewals."""

import datetime as _dt

import pandas as pd
import streamlit as st

from ipt_training import auth
from ipt_training import credentials
from ipt_training.display import readable
from ipt_training.reports import dataframe_to_csv
from ipt_training.ui.common import get_db, get_library, require_user
from ipt_training.ui.errors import pdf_download
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


@st.cache_resource(show_spinner="Evaluating readiness...", max_entries=8)
def _cohort(standard_id, cohort_id, today, stamp, viewer_id, _db, _library, _viewer):
    # keyed by the evidence stamp (it does not change on draft saves): a rerun with unchanged
    # evidence reuses the evaluation, and after a change only the people whose evidence changed
    # are evaluated again (credentials.readiness_cache);
    # cache_resource, not cache_data: unpickling 2,000 readiness results costs a second, and
    # the rows are only read
    rows_ = credentials.cohort_readiness(_db, _library, standard_id, cohort_id, today, viewer=_viewer)
    return rows_, credentials.cohort_table(rows_)


try:
    people, table = _cohort(standard_id, cohort_id, today, (credentials.evidence_stamp(db), standard.content_hash),
                            user.id, db, library, user)
except credentials.ReviewError as exc:
    st.error(plain(str(exc)))
    st.stop()

st.subheader("Cohort")
st.caption('Candidates, sorted with "ready for review" first, then by progress. Progress counts only confirmed '
           "evidence. People who hold this credential are listed apart, with their renewal.")
if people:
    held_mask = table["held"] != ""
    if (~held_mask).any():
        st.dataframe(table.loc[~held_mask, ["trainee", "cohort", "status", "requirements met", "progress %",
                                            "latest decision"]], hide_index=True, width="stretch", key="cr_table")
    else:
        st.caption("Everyone in this selection holds this credential.")
    if held_mask.any():
        st.markdown("**Holding this credential**")
        st.dataframe(table.loc[held_mask, ["trainee", "cohort", "status", "held", "requirements met"]].rename(
            columns={"requirements met": "renewal requirements met"}), hide_index=True, width="stretch",
            key="cr_held_table")
    # built when asked for (issue 16: writing 2,000 rows as CSV on every change cost more than the rest)
    st.download_button("Download the cohort as CSV", lambda: dataframe_to_csv(table),
                       file_name=f"readiness-{standard_id}-{today.isoformat()}.csv", mime="text/csv",
                       key="cr_csv", icon=":material/download:")
else:
    st.info("Nobody in this selection can hold this credential.")

st.subheader("Review")
by_id = {p["trainee_id"]: p for p in people}
chosen = st.selectbox("Person", list(by_id), index=None, placeholder="Choose a person to review", key="cr_trainee",
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
