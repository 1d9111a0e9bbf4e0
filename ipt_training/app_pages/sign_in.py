"""Sign-in form (and the optional OIDC button when the deployment configures it)."""

import streamlit as st

from ipt_training import auth
from ipt_training import demo
from ipt_training.ui.common import DEMO_LOADED, get_db, start_session
from ipt_training.ui.text import plain

db = get_db()
st.title("Sign in")
st.caption("IPT training and fidelity platform")
if st.session_state.pop(DEMO_LOADED, False):
    st.success("Demo data loaded: one account per role, a cohort, vignette attempts, recorded sessions with ratings, "
               "calibration data and credential evidence. Sign in with one of the demo accounts below.")
with st.form("sign_in"):
    username = st.text_input("Sign-in name", key="si_username")
    password = st.text_input("Password", type="password", key="si_password")
    submitted = st.form_submit_button("Sign in", type="primary")
if submitted:
    try:
        # per-client rate limit by address; a local connection (None) counts toward the overall limit only
        user = auth.sign_in(db, username, password, client=st.context.ip_address)
    except auth.AuthError as exc:
        st.error(plain(str(exc)))
    else:
        start_session(user, st.session_state.get("asked_page", ""))

# Optional institutional sign-in: only when [auth] is configured in secrets.toml.
try:
    oidc_configured = "auth" in st.secrets
except Exception:  # no secrets file at all
    oidc_configured = False
if oidc_configured:
    st.divider()
    if not st.user.is_logged_in:
        if st.button("Sign in with your institution", key="oidc_login"):
            st.login()
    else:
        try:  # a verified e-mail only; every attempt is audited
            match = auth.institutional_sign_in(db, st.user.to_dict())
        except auth.AuthError as exc:
            st.error(plain(str(exc)))
        else:
            start_session(match, st.session_state.get("asked_page", ""))

# only while the database holds demo data and nothing else: a real deployment never shows them
accounts = demo.accounts_to_show(db)
if accounts:
    st.divider()
    st.subheader("Demo accounts")
    st.caption("This database holds demo data only. Sign in with one of these accounts to try the pages of its role.")
    st.table([{"Role": a.role, "Sign-in name": a.username, "Password": a.password} for a in accounts])

st.divider()
st.page_link("ipt_training/app_pages/verify.py", label="Verify a certificate (no sign-in needed)",
             icon=":material/verified_user:")
