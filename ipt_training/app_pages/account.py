"""Every signed-in person: their account, and changing their own password."""

import streamlit as st

from ipt_training import auth
from ipt_training.account_rules import MIN_PASSWORD_LENGTH
from ipt_training.ui.common import get_db, keep_sign_in_after_own_change, require_user
from ipt_training.ui.text import plain

user = require_user()
db = get_db()
st.title("My account")
st.text(f"Sign-in name: {user.username}\nName: {user.display_name}\nE-mail: {user.email or '(none)'}\n"
        f"Roles: {', '.join(user.roles)}")

st.subheader("Change my password")
st.caption(f"At least {MIN_PASSWORD_LENGTH} characters and not easy to guess: not a common password, not your "
           "name or sign-in name, no simple patterns or repeats. Several unrelated words work well.")
with st.form("change_password", clear_on_submit=True):
    current = st.text_input("Current password", type="password", key="acc_current")
    new = st.text_input("New password", type="password", key="acc_new")
    repeat = st.text_input("Repeat the new password", type="password", key="acc_repeat")
    if st.form_submit_button("Change password", type="primary"):
        if new != repeat:
            st.error("The two new passwords differ; type the same new password twice.")
        else:
            try:
                auth.change_password(db, user.id, current, new, client=st.context.ip_address)
            except auth.AuthError as exc:
                st.error(plain(str(exc)))
            else:
                keep_sign_in_after_own_change()
                st.success("Your password is changed; use the new one from your next sign-in. "
                           "Every other sign-in of yours (other browsers, other devices) has ended.")
