"""First start: create the first administrator, or load the demo data."""

import streamlit as st

from ipt_training import auth, demo
from ipt_training.ui.common import DEMO_LOADED, get_db, get_library, start_session
from ipt_training.ui.text import plain

db = get_db()
st.title("Welcome to the IPT training and fidelity platform")
st.write(
    "The database is ready and empty. Choose how to start: create the first administrator "
    "account for your training body, or load demo data to try every page."
)
left, right = st.columns(2)
with left:
    st.subheader("Create the first administrator")
    with st.form("first_admin"):
        username = st.text_input("Sign-in name", key="fr_username")
        display = st.text_input("Full name", key="fr_display")
        email = st.text_input("E-mail (optional)", key="fr_email")
        pw1 = st.text_input("Password", type="password", key="fr_pw1")
        pw2 = st.text_input("Repeat password", type="password", key="fr_pw2")
        st.caption(f"At least {auth.MIN_PASSWORD_LENGTH} characters, not easy to guess: several unrelated words work well.")
        if st.form_submit_button("Create administrator", type="primary"):
            if pw1 != pw2:
                st.error("The two passwords differ; type the same password twice.")
            else:
                try:
                    user = auth.create_user(db, username, pw1, ["admin"], display, email or None)
                    start_session(user)
                except auth.AuthError as exc:
                    st.error(plain(str(exc)))
with right:
    st.subheader("Load demo data")
    st.write("Creates one account per role (" + ", ".join(a.role for a in demo.DEMO_ACCOUNTS) + "), a cohort, "
             "vignette attempts, recorded sessions with ratings, calibration data and credential evidence, to try "
             "every page. The sign-in page lists the demo accounts and their passwords once the data is loaded. "
             "Never load demo data into a real training body's database.")
    if st.button("Load demo data", key="load_demo", type="primary"):
        try:
            with st.spinner("Loading demo data..."):
                demo.load_demo(db, get_library())
        except demo.DemoError as exc:
            st.error(plain(str(exc)))
        else:
            # the next run is the sign-in page (accounts exist now): it says so, above the accounts
            st.session_state[DEMO_LOADED] = True
            st.rerun()
