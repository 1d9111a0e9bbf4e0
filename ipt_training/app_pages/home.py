"""Home: what the signed-in person should do next, per role, each one click from the page that does it."""

import datetime as _dt

import streamlit as st

from ipt_training import notifications
from ipt_training.access import pages_for
from ipt_training.credentials.reminders import notify_expiring
from ipt_training.dashboard import next_steps
from ipt_training.ui.common import get_db, get_library, require_user
from ipt_training.ui.text import plain

user = require_user()
db, library = get_db(), get_library()
today = _dt.date.today()
st.title(f"Welcome, {plain(user.display_name)}")
# a credential of this person's that comes due is put in their inbox once (issue 17)
notify_expiring(db, library, today, user_id=user.id)
unread = notifications.unread_count(db, user.id)
if unread:
    c1, c2 = st.columns([5, 1.2], vertical_alignment="center")
    c1.info(f"You have {unread} unread notification{'s' if unread > 1 else ''}.", icon=":material/inbox:")
    c2.page_link("ipt_training/app_pages/inbox.py", label="Open the inbox", icon=":material/inbox:")

allowed = {p.file for p in pages_for(user.roles)}
steps = next_steps(db, user, library, today)
HEADINGS = {"trainee": "Your practice", "rater": "Your ratings", "supervisor": "Your supervisees",
            "admin": "Training body"}
NOTHING = {"trainee": "Nothing waiting. Pick a vignette in the library to practise.",
           "rater": "No session is waiting for your rating.",
           "supervisor": "Nothing to confirm or grade for your supervisees.",
           "admin": "Nobody is ready for review and no credential is expiring."}
roles = [r for r in HEADINGS if user.has(r) or (r == "rater" and user.has("supervisor"))]
for role in roles:
    mine = [s for s in steps if s.role == role]
    st.subheader(HEADINGS[role])
    if not mine:
        st.caption(NOTHING[role])
    for n, step in enumerate(mine):
        with st.container(border=True, key=f"home_{role}_{n}"):
            c1, c2 = st.columns([5, 1.2], vertical_alignment="center")
            c1.markdown((":red-badge[overdue] " if step.urgent else "") + plain(step.text))
            if step.page in allowed and c2.button(step.action, key=f"home_go_{role}_{n}",
                                                  icon=":material/arrow_forward:"):
                if step.note_id is not None:
                    notifications.mark_read(db, user.id, step.note_id)
                for key, value in step.params.items():
                    st.session_state[key] = value
                st.switch_page(f"ipt_training/app_pages/{step.page}")
