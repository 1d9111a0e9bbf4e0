"""Admin: the append-only audit log (who did what, when)."""

import pandas as pd
import streamlit as st

from ipt_training.fidelity import audit_entries_for
from ipt_training.ui.common import get_db, require_user

user = require_user("admin")
db = get_db()
st.title("Audit log")
action = st.text_input("Filter by action (e.g. fetch_recording, sign_in_failed)", key="al_action")
limit = st.number_input("Show the latest", min_value=50, max_value=5000, value=200, step=50, key="al_limit")
entries = audit_entries_for(db, user, action, int(limit))  # blind rule: withheld details
if entries:
    st.dataframe(pd.DataFrame(entries), hide_index=True, width="stretch")
else:
    st.info("No entries match.")
