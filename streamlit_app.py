"""Router only: open the store, resolve the signed-in user, register the pages their roles may use."""

from pathlib import Path

import streamlit as st

from ipt_training.access import PUBLIC, pages_for
from ipt_training.ui.common import current_user, get_db
from ipt_training.ui.errors import run_page
from ipt_training import auth

st.set_page_config(page_title="IPT Training & Fidelity", page_icon=":material/psychology:", layout="wide")

PAGES_DIR = Path(__file__).parent / "ipt_training" / "app_pages"

db = get_db()
user = current_user()
if not auth.has_any_account(db):
    pages = [st.Page(PAGES_DIR / "first_run.py", title="Welcome", icon=":material/rocket_launch:", url_path="welcome", default=True)]
    nav = st.navigation(pages, position="hidden")
elif user is None:
    pages = [st.Page(PAGES_DIR / "sign_in.py", title="Sign in", icon=":material/login:", url_path="sign_in", default=True)]
    pages += [st.Page(PAGES_DIR / spec.file, title=spec.title, icon=spec.icon, url_path=spec.url_path)
              for spec in pages_for({PUBLIC})]  # the public pages (Verify a certificate) need no sign-in
    nav = st.navigation(pages, position="hidden")
else:
    sections: dict[str, list] = {}
    for spec in pages_for(user.roles):
        path = PAGES_DIR / spec.file
        sections.setdefault(spec.section, []).append(
            st.Page(path, title=spec.title, icon=spec.icon, url_path=spec.url_path, default=spec.file == "home.py")
        )
    nav = st.navigation(sections)
    with st.sidebar:
        st.caption(f"Signed in as **{user.display_name}** ({', '.join(user.roles)})")
        if st.button("Sign out", key="sign_out", icon=":material/logout:"):
            from ipt_training.ui.common import sign_out

            sign_out()
            st.rerun()
run_page(nav)
