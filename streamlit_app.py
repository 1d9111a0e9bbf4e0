"""Router only: open the store, resolve the signed-in user, register the pages their roles may use.

Started through ``app.py`` (``streamlit run app.py``), which adds the sign-in cookie and
recording routes (``ipt_training/web.py``).
"""

from pathlib import Path

import streamlit as st

from ipt_training.access import PAGES, PUBLIC, pages_for
from ipt_training.ui.common import current_user, follow_redirect, get_db
from ipt_training.ui.errors import run_page
from ipt_training.ui.styles import accessible_styles
from ipt_training.ui.text import plain
from ipt_training import auth, notifications, web

ROOT = Path(__file__).parent
PAGES_DIR = ROOT / "ipt_training" / "app_pages"
# a file of our own: a ":material/...:" page icon makes the browser fetch the favicon from a
# third-party font host (issue 17: no request leaves the server)
st.set_page_config(page_title="IPT Training & Fidelity", page_icon=str(ROOT / "ipt_training" / "static" / "favicon.png"),
                   layout="wide")
accessible_styles()  # captions at 4.5:1 and more, 24 px targets (WCAG 2.2 AA, issue 17)
follow_redirect()

db = get_db()
user = current_user()
if not auth.has_any_account(db):
    pages = [st.Page(PAGES_DIR / "first_run.py", title="Welcome", icon=":material/rocket_launch:", url_path="welcome", default=True)]
    nav = st.navigation(pages, position="hidden")
elif user is None:
    # the public pages (Verify a certificate) need no sign-in; the sign-in form answers at every
    # other page's address, so a bookmark of a page lands on the form (not on "Page not found")
    # and the person is returned to that page afterwards
    sign_in = PAGES_DIR / "sign_in.py"
    public = pages_for({PUBLIC})
    pages = [st.Page(sign_in, title="Sign in", icon=":material/login:", url_path="sign_in", default=True)]
    pages += [st.Page(PAGES_DIR / spec.file, title=spec.title, icon=spec.icon, url_path=spec.url_path)
              for spec in public]
    pages += [st.Page(sign_in, title="Sign in", icon=":material/login:", url_path=spec.url_path)
              for spec in PAGES if spec.file != "home.py" and spec not in public]
    nav = st.navigation(pages, position="hidden")
    st.session_state["asked_page"] = nav.url_path
else:
    sections: dict[str, list] = {}
    unread = notifications.unread_count(db, user.id)
    for spec in pages_for(user.roles):
        path = PAGES_DIR / spec.file
        # the unread count is in the Inbox's title in the sidebar (issue 17)
        title = f"{spec.title} ({unread})" if spec.file == "inbox.py" and unread else spec.title
        sections.setdefault(spec.section, []).append(
            st.Page(path, title=title, icon=spec.icon, url_path=spec.url_path, default=spec.file == "home.py")
        )
    # every page the person may use is listed, none hidden behind "View N more" (issue 17)
    nav = st.navigation(sections, expanded=True)
    with st.sidebar:
        st.caption(f"Signed in as **{plain(user.display_name)}** ({', '.join(user.roles)})")
        if not web.ROUTES_INSTALLED and st.context.url:
            st.warning("Started without the app's routes: a reload signs you out and recordings do not play. "
                       "Start the server with `streamlit run app.py`.")
        if st.button("Sign out", key="sign_out", icon=":material/logout:"):
            from ipt_training.ui.common import sign_out

            sign_out()
            st.rerun()
run_page(nav)
