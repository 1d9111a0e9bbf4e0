"""Admin: the append-only audit log (who did what, when), searched and exported as CSV."""

import pandas as pd
import streamlit as st

from ipt_training.display import readable
from ipt_training.fidelity import FidelityError, audit_entries_for, export_audit_log
from ipt_training.finding import PAGE_SIZE
from ipt_training.store import audit_count
from ipt_training.ui.common import get_db, require_user
from ipt_training.ui.finding import date_range, pager, search_box
from ipt_training.ui.text import plain

user = require_user("admin")
db = get_db()
st.title("Audit log")
st.caption("Newest first. Dates are days in UTC, both ends included. Every export is itself written to the log.")
c1, c2 = st.columns(2)
action = c1.text_input("Action (e.g. fetch_recording, sign_in_failed)", key="al_action")
who = c2.text_input("Person (sign-in name or full name)", key="al_who")
text = search_box("Search every column", key="al_text", placeholder="e.g. a session number or a word of a detail")
since, until = date_range("al_date")
filters = {"who": who, "text": text, "since": since, "until": until}

total = audit_count(db, action, **filters)
page = pager(total, "al_page")
entries = audit_entries_for(db, user, action, PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, **filters)  # blind rule
if not entries:
    st.info("No entries match.")
    st.stop()
st.dataframe(readable(pd.DataFrame(entries)), hide_index=True, width="stretch")

# the CSV is built (and the export audited) only when asked for, never on every rerun
if st.button(f"Export the {total:,} matching entries as CSV", key="al_export", icon=":material/download:"):
    try:
        st.session_state["al_csv"] = (action, filters, export_audit_log(db, user, action, **filters))
    except FidelityError as exc:
        st.error(plain(str(exc)))
ready = st.session_state.get("al_csv")
if ready and ready[0] == action and ready[1] == filters:
    st.download_button("Download the CSV", ready[2], file_name="audit_log.csv", mime="text/csv", key="al_download",
                       on_click="ignore", icon=":material/file_download:")
