"""Home: what is waiting for the signed-in person, per role."""

import streamlit as st

from ipt_training.access import pages_for
from ipt_training.dashboard import waiting_for
from ipt_training.ui.common import get_db, get_library, require_user
from ipt_training.ui.text import plain

user = require_user()
st.title(f"Welcome, {plain(user.display_name)}")
items = waiting_for(get_db(), user, get_library())
allowed = {p.file for p in pages_for(user.roles)}
titles = {p.file: p.title for p in pages_for(user.roles)}
for role in ("trainee", "rater", "supervisor", "admin"):
    mine = [w for w in items if w.role == role]
    if not mine:
        continue
    st.subheader({"trainee": "Your practice", "rater": "Your ratings", "supervisor": "Your supervisees",
                  "admin": "Training body"}[role])
    cols = st.columns(len(mine))
    for col, w in zip(cols, mine):
        col.metric(w.label, w.count)
        if w.page in allowed:
            col.page_link(f"ipt_training/app_pages/{w.page}", label=f"Open {titles[w.page]}")
