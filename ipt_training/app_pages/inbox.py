"""Inbox: what happened that the signed-in person should know, newest first (issue 17)."""

import streamlit as st

from ipt_training import notifications
from ipt_training.access import pages_for
from ipt_training.ui.common import fmt_date, get_db, require_user
from ipt_training.ui.text import plain

user = require_user()
db = get_db()
st.title("Inbox")
allowed = {p.file for p in pages_for(user.roles)}
if flash := st.session_state.pop("inbox_flash", None):
    st.success(flash)

unread = notifications.unread_count(db, user.id)
only_unread = st.toggle("Unread only", key="inbox_unread_only")
notes = notifications.inbox(db, user.id, unread_only=only_unread)
c1, c2 = st.columns([4, 1.4], vertical_alignment="center")
c1.caption(f"{unread} unread" if unread else "Everything is read.")
if unread and c2.button("Mark all read", key="inbox_all_read", icon=":material/done_all:"):
    n = notifications.mark_all_read(db, user.id)
    st.session_state["inbox_flash"] = f"{n} notification{'s' if n != 1 else ''} marked read."
    st.rerun()
if not notes:
    st.info("Nothing here yet. Grades, confirmations, assignments, ratings and credential decisions that concern "
            "you will appear here." if not only_unread else "No unread notification.")

for note in notes:
    new = note["read_at"] is None
    with st.container(border=True, key=f"inbox_note_{note['id']}"):
        c1, c2, c3 = st.columns([5, 1.2, 1.2], vertical_alignment="center")
        badge = ":blue-badge[new] " if new else ""
        c1.markdown(f"{badge}**{note['kind_label']}** · {fmt_date(note['created_at'])}  \n{plain(note['text'])}")
        if note["page"] in allowed and c2.button("Open", key=f"inbox_open_{note['id']}",
                                                 icon=":material/open_in_new:"):
            notifications.mark_read(db, user.id, note["id"])
            for key, value in note["params"].items():
                st.session_state[key] = value
            st.switch_page(f"ipt_training/app_pages/{note['page']}")
        if new and c3.button("Mark read", key=f"inbox_read_{note['id']}", icon=":material/check:"):
            notifications.mark_read(db, user.id, note["id"])
            st.rerun()
