"""Start the platform: ``streamlit run app.py``.

Builds Streamlit's ASGI app (``st.App``) around the router ``streamlit_app.py`` and adds the
platform's own HTTP routes (``ipt_training/web.py``): the sign-in cookie and the per-viewer
recording links. ``streamlit run`` detects the ``app`` below and serves it with uvicorn.
"""

import streamlit as st

from ipt_training import web

app = st.App("streamlit_app.py", routes=web.routes())
