"""Admin: create, deactivate and reactivate accounts, reset passwords, assign roles."""

import pandas as pd
import streamlit as st

from ipt_training import auth, auth_sessions
from ipt_training.config import get_settings
from ipt_training.display import readable
from ipt_training.ui.common import get_db, require_user
from ipt_training.finding import PAGE_SIZE
from ipt_training.ui.finding import pager, search_box
from ipt_training.ui.text import plain

admin = require_user("admin")
db = get_db()
st.title("Users and roles")

c1, c2, c3 = st.columns([2, 1, 1])
with c1:
    text = search_box("Search names and e-mail", key="us_text", placeholder="e.g. okafor")
role = c2.selectbox("Role", [None, *auth.ROLES], format_func=lambda r: "Any" if r is None else r, key="us_role")
active = c3.selectbox("Account status", [None, True, False], key="us_active",
                      format_func=lambda a: {None: "Any", True: "active", False: "deactivated"}[a])
# searched and paged in SQL (issue 16): a page reads its 50 accounts
page = pager(auth.count_users(db, text, role, active), "us_page")
users = auth.find_users(db, text, role, active, PAGE_SIZE, (page - 1) * PAGE_SIZE)
if users:
    st.dataframe(
        readable(pd.DataFrame(users)[["username", "display_name", "email", "roles", "active", "locked_until"]],
                 names={"username": "Sign-in name", "display_name": "Full name", "email": "E-mail"}, flags=["active"]),
        hide_index=True, width="stretch", key="us_table",
    )
else:
    st.info("No account matches this search. Clear the search or set a filter back to Any.")

tab_new, tab_edit = st.tabs(["Create an account", "Change an account"])
with tab_new:
    with st.form("create_user", clear_on_submit=True):
        username = st.text_input("Sign-in name", key="cu_username")
        display = st.text_input("Full name", key="cu_display")
        email = st.text_input("E-mail (optional; used for institutional sign-in)", key="cu_email")
        roles = st.multiselect("Roles", auth.ROLES, default=["trainee"], key="cu_roles")
        password = st.text_input("Initial password", type="password", key="cu_password")
        st.caption(f"Sign-in names are stored in lower case; letters of one alphabet, digits and . _ - @. "
                   f"Passwords: at least {auth.MIN_PASSWORD_LENGTH} characters, not easy to guess.")
        if st.form_submit_button("Create account", type="primary"):
            try:
                u = auth.create_user(db, username, password, roles, display, email or None, actor_id=admin.id)
                st.success(f"Created {plain(u.username)} ({', '.join(u.roles)}).")
            except auth.AuthError as exc:
                st.error(plain(str(exc)))

with tab_edit:
    st.caption("The accounts to choose from are those listed above (search to find one).")
    choice = st.selectbox("Account", users, format_func=lambda u: f"{u['display_name']} ({u['username']})", key="eu_user")
    if choice:
        target = auth.get_user(db, choice["id"])
        with st.form("edit_roles"):
            new_roles = st.multiselect("Roles", auth.ROLES, default=list(target.roles), key="eu_roles")
            if st.form_submit_button("Save roles") and set(new_roles) != set(target.roles):
                try:  # a role change signs the person out everywhere (their pages change)
                    auth.set_roles(db, target.id, new_roles, admin.id)
                    st.success("Roles saved.")
                    st.rerun()
                except auth.AuthError as exc:
                    st.error(plain(str(exc)))
        with st.form("reset_pw", clear_on_submit=True):
            pw = st.text_input("New password", type="password", key="eu_pw")
            if st.form_submit_button("Reset password (also unlocks)"):
                try:
                    auth.reset_password(db, target.id, pw, admin.id)
                    st.success("Password reset; the account is unlocked.")
                except auth.AuthError as exc:
                    st.error(plain(str(exc)))
        label = "Deactivate account" if target.active else "Reactivate account"
        if st.button(label, key="eu_toggle"):
            try:
                auth.set_active(db, target.id, not target.active, admin.id)
                st.rerun()
            except auth.AuthError as exc:
                st.error(plain(str(exc)))
        live = len(auth_sessions.live_sessions(db, target.id, get_settings()))
        if st.button(f"Sign out everywhere ({live} open sign-in{'s' if live != 1 else ''})", key="eu_end_sessions",
                     disabled=live == 0):
            auth_sessions.end_all(db, target.id, admin.id)
            st.rerun()
