"""Supervisor: each supervisee's readiness for a credential standard; confirm their logged entries."""

import datetime as _dt

import streamlit as st

from ipt_training import credentials
from ipt_training.credentials import evidence
from ipt_training.ui.common import get_db, get_library, require_user
from ipt_training.ui.readiness_widgets import entries_table, evidence_links, readiness_checklist

user = require_user("supervisor")
db, library = get_db(), get_library()
today = _dt.date.today()
st.title("Supervisees")
st.caption("Your supervisees' readiness for a credential, and the entries they logged that await your "
           "confirmation. An entry counts toward a credential only once you confirm it.")
if flash := st.session_state.pop("sv_flash", None):
    st.success(flash)
if not library.standards:
    st.info("No credential standard is loaded; an administrator adds them under training/.")
    st.stop()

ids = sorted(library.standards, key=lambda i: library.standards[i].name)
default = ids.index("ipt-therapist-example") if "ipt-therapist-example" in ids else 0
standard_id = st.selectbox("Standard", ids, index=default, key="sv_standard",
                           format_func=lambda i: library.standards[i].name)
people = credentials.supervisee_readiness(db, library, user, standard_id, today)
if not people:
    st.info("No supervisee is linked to you yet; an administrator links supervisors to trainees under "
            "Cohorts and supervision.")
    st.stop()
table = credentials.cohort_table(people)
st.dataframe(table[["trainee", "cohort", "status", "requirements met", "progress %", "held", "latest decision"]],
             hide_index=True, width="stretch", key="sv_table")

by_id = {p["trainee_id"]: p for p in people}
chosen = st.selectbox("Supervisee", list(by_id), key="sv_trainee",
                      format_func=lambda i: f"{by_id[i]['trainee']} ({by_id[i]['status']})")
person = by_id[chosen]

pending = evidence.unconfirmed_entries(db, user, chosen)
st.subheader(f"Entries awaiting your confirmation ({len(pending)})")
if not pending:
    st.caption("Nothing to confirm.")
for e in pending:
    c1, c2 = st.columns([5, 1.2], vertical_alignment="center")
    c1.markdown(f"**{e['kind'].capitalize()}**: {e['summary']}")
    if c2.button("Confirm", key=f"sv_confirm_{e['table']}_{e['id']}", icon=":material/check:"):
        try:
            evidence.confirm_entry(db, user, e["table"], e["id"])
            st.session_state["sv_flash"] = f"Confirmed: {e['summary']}."
            st.rerun()
        except evidence.EvidenceError as exc:
            st.error(str(exc))
if len(pending) > 1 and st.button(f"Confirm all {len(pending)} entries", key="sv_confirm_all",
                                  icon=":material/done_all:"):
    try:
        for e in pending:
            evidence.confirm_entry(db, user, e["table"], e["id"])
        st.session_state["sv_flash"] = f"Confirmed {len(pending)} entries of {person['trainee']}."
        st.rerun()
    except evidence.EvidenceError as exc:
        st.error(str(exc))

st.subheader(f"{person['trainee']}: readiness for {library.standards[standard_id].name}")
if person["holding"]:
    st.success(f"**Held** ({person['status']}): {person['holding']['text']}. The checklist is the renewal, on "
               "evidence dated since the award.", icon=":material/workspace_premium:")
readiness_checklist(person["readiness"], key=f"sv_{chosen}", links=evidence_links(user),
                    status=person["status"])

with st.expander("Everything logged", key="sv_all_exp"):
    entries = evidence.list_entries(db, user, chosen)
    for table, title in (("training_events", "Training events"), ("clinical_hours", "Clinical hours"),
                         ("clinical_cases", "Cases"), ("supervision_sessions", "Supervision")):
        st.markdown(f"**{title}**")
        entries_table(table, entries[table], key=f"sv_entries_{table}")
