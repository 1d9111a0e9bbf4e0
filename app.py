"""Start the platform: ``streamlit run app.py``.

Builds Streamlit's ASGI app (``st.App``, Streamlit 1.5x and later) around the router
``streamlit_app.py`` and adds the platform's own HTTP routes (``ipt_training/web.py``: the
sign-in cookie and the per-viewer recording links) and the security headers on every answer
(``ipt_training/http_headers.py``). ``streamlit run`` finds the ``app`` below and serves it
with uvicorn, with the same options and ``.streamlit/config.toml`` as any Streamlit app.
"""

import streamlit as st
from starlette.middleware import Middleware
from streamlit import config

from ipt_training import web
from ipt_training.http_headers import SecurityHeaders
from ipt_training.ui import warm

# lifespan: the shared caches are warmed in a background thread when the server starts (ipt_training/ui/warm.py)
app = st.App("streamlit_app.py", routes=web.routes(config.get_option("server.baseUrlPath") or ""),
             middleware=[Middleware(SecurityHeaders)], lifespan=warm.lifespan)
