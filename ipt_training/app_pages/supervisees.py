"""Supervisor: each supervisee's readiness for a credential standard; confirm their logged entries."""

import datetime as _dt

import streamlit as st

from ipt_training import credentials
from ipt_training.content import ATTESTERS, CASE_REPORT_LEVELS
from ipt_training.credentials import evidence, portfolio
from ipt_training.ui.common import get_db, get_library, require_user
from ipt_training.ui.portfolio_widgets import draw_panel
from ipt_training.ui.readiness_widgets import entries_table, evidence_links, readiness_checklist
from ipt_training.ui.text import plain

user = require_user("supervisor")
db, library = get_db(), get_library()
today = _dt.date.today()
st.title("Supervisees")
st.caption("Your supervisees' readiness for a credential, and the entries they logged that await your "
           "confirmation. An entry counts toward a credential only once you confirm it.")
if flash := st.session_state.pop("sv_flash", None):
    st.success(plain(flash))
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

# every supervisee's entries awaiting confirmation, not only the chosen one's (issue 17: Home
# counts them all, and this list must show what Home counted)
pending = evidence.entries_to_confirm(db, user)
st.subheader(f"Entries awaiting your confirmation ({len(pending)})")
if not pending:
    st.caption("Nothing to confirm: every entry your supervisees logged is confirmed.")
for e in pending:
    c1, c2 = st.columns([5, 1.2], vertical_alignment="center")
    c1.markdown(f"**{plain(e['trainee'])}**, {e['kind']}: {plain(e['summary'])}")
    if c2.button("Confirm", key=f"sv_confirm_{e['table']}_{e['id']}", icon=":material/check:"):
        try:
            evidence.confirm_entry(db, user, e["table"], e["id"])
            st.session_state["sv_flash"] = f"Confirmed: {e['summary']}."
            st.rerun()
        except evidence.EvidenceError as exc:
            st.error(plain(str(exc)))
if len(pending) > 1 and st.button(f"Confirm all {len(pending)} entries", key="sv_confirm_all",
                                  icon=":material/done_all:"):
    try:
        for e in pending:
            evidence.confirm_entry(db, user, e["table"], e["id"])
        st.session_state["sv_flash"] = f"Confirmed {len(pending)} entries."
        st.rerun()
    except evidence.EvidenceError as exc:
        st.error(plain(str(exc)))

by_id = {p["trainee_id"]: p for p in people}
if st.session_state.get("sv_trainee") not in by_id:  # open on a supervisee who has something to confirm
    st.session_state["sv_trainee"] = next((e["trainee_id"] for e in pending if e["trainee_id"] in by_id),
                                          next(iter(by_id)))
chosen = st.selectbox("Supervisee", list(by_id), key="sv_trainee",
                      format_func=lambda i: f"{by_id[i]['trainee']} ({by_id[i]['status']})")
person = by_id[chosen]

st.subheader(f"{plain(person['trainee'])}: readiness for {library.standards[standard_id].name}")
if person["holding"]:
    st.success(f"**Held** ({person['status']}): {plain(person['holding']['text'])}. The checklist is the renewal, on "
               "evidence dated since the award.", icon=":material/workspace_premium:")
readiness_checklist(person["readiness"], key=f"sv_{chosen}", links=evidence_links(user),
                    status=person["status"], reader="supervisor")

with st.expander("Everything logged", key="sv_all_exp"):
    entries = evidence.list_entries(db, user, chosen)
    for table, title in (("training_events", "Training events"), ("clinical_hours", "Clinical hours"),
                         ("clinical_cases", "Cases"), ("supervision_sessions", "Supervision")):
        st.markdown(f"**{title}**")
        entries_table(table, entries[table], key=f"sv_entries_{table}")


def _act(fn, message: str) -> None:
    """Run a portfolio action; a refusal is shown as its sentence."""
    try:
        fn()
        st.session_state["sv_flash"] = message
        st.rerun()
    except portfolio.PortfolioError as exc:
        st.error(str(exc))


with st.expander("Draw sessions for rating at random", key="sv_draw_exp"):
    draw_panel(db, library, user, chosen, key="sv_draw")

reports = [r for r in portfolio.list_case_reports(db, chosen) if r["level"] is None]
with st.expander(f"Case reports to grade ({len(reports)})", key="sv_reports_exp"):
    if not reports:
        st.caption("No case report awaits grading.")
    for r in reports:
        st.text(f"{r['pseudonym']}, submitted {r['submitted_at'][:10]}")
        st.text(r["report"])
        with st.form(f"sv_grade_{r['id']}"):
            level = st.radio("Level", list(CASE_REPORT_LEVELS), format_func=CASE_REPORT_LEVELS.get, horizontal=True,
                             index=None, key=f"sv_grade_level_{r['id']}")
            comment = st.text_area("Comment to the trainee", key=f"sv_grade_comment_{r['id']}")
            if st.form_submit_button("Save grade", key=f"sv_grade_btn_{r['id']}"):
                _act(lambda: portfolio.grade_case_report(db, user, r["id"], level, comment),
                     f"Report on '{r['pseudonym']}' graded.")

with st.expander("Sign a statement of competence", key="sv_attest_exp"):
    for a in portfolio.list_attestations(db, chosen):
        st.text(f"{library.standards[a['standard_id']].name if a['standard_id'] in library.standards else a['standard_id']}: "
                f"signed by {a['signer']} as {ATTESTERS.get(a['attester'], a['attester'])} on {a['signed_at'][:10]}")
        st.text(a["statement"])
    with st.form("sv_attest_form"):
        as_who = st.radio("You sign as", list(ATTESTERS), format_func=ATTESTERS.get, horizontal=True, key="sv_attest_who")
        statement = st.text_area("Statement (what you observed and why you judge the candidate competent)",
                                 max_chars=portfolio.MAX_STATEMENT_CHARS, key="sv_attest_text")
        st.caption(f"Signed for {library.standards[standard_id].name} under your name and today's date; "
                   "a signed statement cannot be changed.")
        if st.form_submit_button("Sign statement", key="sv_attest_btn"):
            _act(lambda: portfolio.sign_attestation(db, library, user, chosen, standard_id, as_who, statement),
                 "Statement signed.")
