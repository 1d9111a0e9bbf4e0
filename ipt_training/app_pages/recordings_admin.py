"""Admins: every recorded session, and deleting a recording (its ratings stay)."""

import pandas as pd
import streamlit as st

from ipt_training import fidelity
from ipt_training.config import get_settings
from ipt_training.ui.common import get_db, require_user
from ipt_training.finding import PAGE_SIZE
from ipt_training.ui.finding import date_range, pager, search_box
from ipt_training.ui.text import plain

admin = require_user("admin")
db = get_db()
st.title("Recordings")
if flash := st.session_state.pop("ra_flash", None):
    st.success(plain(flash))

if not fidelity.count_recordings(db, admin):
    st.info("No recorded session has been added yet.")
    st.stop()
text = search_box("Search therapist, session, file or number", key="ra_text", placeholder="e.g. Okafor, #12")
since, until = date_range("ra_added", "Added")
c1, c2 = st.columns(2)
yes_no = {None: "Any", True: "yes", False: "no"}
gold = c1.selectbox("Gold standard", [None, True, False], format_func=yes_no.get, key="ra_gold")
deleted = c2.selectbox("Recording deleted", [None, True, False], format_func=yes_no.get, key="ra_deleted")
# searched and paged in SQL (issue 16): a page reads its 50 sessions, newest first
page = pager(fidelity.count_recordings(db, admin, text, since, until, gold, deleted), "ra_page")
found = fidelity.find_recordings(db, admin, text, since, until, gold, deleted, PAGE_SIZE, (page - 1) * PAGE_SIZE)
if found:
    st.dataframe(pd.DataFrame([{
        "id": s["id"], "therapist": s["trainee"], "session": s["label"], "file": s["original_name"] or "",
        "size (MB)": round((s["size_bytes"] or 0) / 1048576, 2), "ratings": s["ratings"],
        "gold standard": "yes" if s["is_gold_standard"] else "no", "added": (s["created_at"] or "")[:10],
        "deleted": (s["deleted_at"] or "")[:10]} for s in found]),
        hide_index=True, width="stretch", key="ra_table")
else:
    st.info("No recorded session matches this search. Clear the search or set a filter back to Any.")

live = {s["id"]: f"#{s['id']} {s['trainee']}: {s['label']}" for s in found if not s["deleted_at"]}
st.subheader("Delete a recording")
st.caption("Deleting removes the audio or video file and its transcript. The session's ratings and evidence marks "
           "stay, shown as ratings of a deleted recording. Every deletion goes to the audit log. The sessions to "
           "choose from are those listed above (search to find one).")
if not live:
    st.info("Every recording listed above is deleted already.")
    st.stop()
with st.form("ra_delete"):
    sid = st.selectbox("Session", list(live), format_func=live.get, key="ra_session")
    reason = st.text_input("Reason", key="ra_reason", placeholder="e.g. the client withdrew consent")
    sure = st.checkbox("I understand the recording cannot be restored.", key="ra_confirm")
    if st.form_submit_button("Delete the recording", key="ra_delete_submit", type="primary", icon=":material/delete_forever:"):
        if not sure:
            st.error("Tick the confirmation box to delete the recording; nothing was deleted.")
        else:
            try:
                fidelity.delete_recording(db, get_settings(), admin, sid, reason)
                st.session_state["ra_flash"] = f"The recording of {live[sid]} is deleted; its ratings remain."
                st.rerun()
            except fidelity.FidelityError as exc:
                st.error(plain(str(exc)))
