"""Admin: cohorts and supervisor-trainee links."""

import pandas as pd
import streamlit as st

from ipt_training import auth
from ipt_training.ui.common import get_db, require_user
from ipt_training.finding import PAGE_SIZE
from ipt_training.ui.finding import paged, pager, search_box
from ipt_training.ui.text import plain

admin = require_user("admin")
db = get_db()
st.title("Cohorts and supervision")

supervisors = auth.users_with_role(db, "supervisor")
name_of = {u["id"]: u["display_name"] for u in supervisors}


def _label(u: dict) -> str:
    return f"{u['display_name']} ({u['username']})"


def _find_trainees(label: str, key: str, outside_cohort=None) -> list[dict]:
    """Active trainees matching what was typed (not yet in ``outside_cohort``), at most a page of them: a
    body of 10,000 trainees is searched in SQL, never offered in one list (issue 16)."""
    text = search_box(label, key, placeholder="name, sign-in name or e-mail")
    found = auth.find_users(db, text, role="trainee", active=True, limit=PAGE_SIZE + 1,
                            outside_cohort=outside_cohort) if text.strip() else []
    if len(found) > PAGE_SIZE:
        st.caption(f"The first {PAGE_SIZE} matches are offered; type more of the name to narrow them.")
    elif text.strip() and not found:
        st.caption("No active trainee " + ("outside this cohort " if outside_cohort is not None else "")
                   + "matches; check the spelling or search by sign-in name.")
    return found[:PAGE_SIZE]


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
    current = set(auth.cohort_member_ids(db, cohort["id"]))
    found = {u["id"]: _label(u) for u in _find_trainees("Find trainees to add", "cm_find", cohort["id"])}
    with st.form("cohort_add", clear_on_submit=True):
        add = st.multiselect("Add to this cohort", list(found), format_func=found.get, key="cm_add",
                             placeholder="Search above, then choose the trainees to add")
        if st.form_submit_button("Add members") and add:
            try:
                auth.change_cohort_members(db, cohort["id"], add=add, actor_id=admin.id)
                st.rerun()
            except auth.AuthError as exc:
                st.error(plain(str(exc)))
    if current:  # the members a page at a time, in SQL
        page = pager(len(current), "cm_page")
        shown = auth.cohort_members(db, cohort["id"], limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        st.dataframe(pd.DataFrame(shown)[["display_name", "username"]].rename(
            columns={"display_name": "Member", "username": "Sign-in name"}), hide_index=True)
        labels = {u["id"]: _label(u) for u in shown}
        with st.form("cohort_remove", clear_on_submit=True):
            remove = st.multiselect("Remove from this cohort (members on this page)", list(labels), format_func=labels.get,
                                    key="cm_remove")
            if st.form_submit_button("Remove members") and remove:
                auth.change_cohort_members(db, cohort["id"], remove=remove, actor_id=admin.id)
                st.rerun()
    else:
        st.caption("This cohort has no members yet.")

st.subheader("Supervision")
links = auth.supervision_links(db)
if links:  # 50 a page: a body of 10,000 trainees has as many links (issue 16)
    st.dataframe(pd.DataFrame(paged(links, "ln_page"))[["supervisor", "trainee"]], hide_index=True)
else:
    st.info("No supervisor is linked to a trainee yet.")
if supervisors:
    trainees = {u["id"]: _label(u) for u in _find_trainees("Find the trainee to link or unlink", "ln_find")}
    if trainees:
        with st.form("link"):
            sup = st.selectbox("Supervisor", [s["id"] for s in supervisors], format_func=name_of.get, key="ln_sup")
            tr = st.selectbox("Trainee", list(trainees), format_func=trainees.get, key="ln_tr")
            c1, c2 = st.columns(2)
            link = c1.form_submit_button("Link")
            unlink = c2.form_submit_button("Unlink")
        if link or unlink:
            try:
                (auth.link_supervisor if link else auth.unlink_supervisor)(db, sup, tr, admin.id)
                st.rerun()
            except auth.AuthError as exc:
                st.error(plain(str(exc)))
