"""Admin: cohorts and supervisor-trainee links."""

import pandas as pd
import streamlit as st

from ipt_training import auth
from ipt_training.ui.common import get_db, require_user
from ipt_training.ui.finding import paged
from ipt_training.ui.text import plain

admin = require_user("admin")
db = get_db()
st.title("Cohorts and supervision")

trainees = auth.users_with_role(db, "trainee")
supervisors = auth.users_with_role(db, "supervisor")
name_of = {u["id"]: u["display_name"] for u in trainees + supervisors}

st.subheader("Cohorts")
cohorts = auth.list_cohorts(db)
if cohorts:
    st.dataframe(pd.DataFrame(cohorts)[["name", "members"]], hide_index=True)
with st.form("new_cohort", clear_on_submit=True):
    name = st.text_input("New cohort name", key="nc_name")
    if st.form_submit_button("Create cohort"):
        try:
            auth.create_cohort(db, name, admin.id)
            st.rerun()
        except auth.AuthError as exc:
            st.error(plain(str(exc)))
if cohorts:
    cohort = st.selectbox("Edit members of", cohorts, format_func=lambda c: c["name"], key="cm_cohort")
    current = auth.cohort_member_ids(db, cohort["id"])
    with st.form("cohort_members"):
        members = st.multiselect("Trainees in this cohort", [t["id"] for t in trainees],
                                 default=[m for m in current if m in name_of],
                                 format_func=lambda i: name_of.get(i, str(i)), key="cm_members")
        if st.form_submit_button("Save members"):
            auth.set_cohort_members(db, cohort["id"], members, admin.id)
            st.success("Members saved.")

st.subheader("Supervision")
links = auth.supervision_links(db)
if links:  # 50 a page: a body of 10,000 trainees has as many links (issue 16)
    st.dataframe(pd.DataFrame(paged(links, "ln_page"))[["supervisor", "trainee"]], hide_index=True)
else:
    st.info("No supervisor is linked to a trainee yet.")
if supervisors and trainees:
    with st.form("link"):
        sup = st.selectbox("Supervisor", [s["id"] for s in supervisors], format_func=name_of.get, key="ln_sup")
        tr = st.selectbox("Trainee", [t["id"] for t in trainees], format_func=name_of.get, key="ln_tr")
        c1, c2 = st.columns(2)
        link = c1.form_submit_button("Link")
        unlink = c2.form_submit_button("Unlink")
    if link or unlink:
        try:
            (auth.link_supervisor if link else auth.unlink_supervisor)(db, sup, tr, admin.id)
            st.rerun()
        except auth.AuthError as exc:
            st.error(plain(str(exc)))
