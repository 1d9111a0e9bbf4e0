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

# Many sessions share one interpreter: uvloop (requirements.txt), which Streamlit and uvicorn use
# when installed, wakes the event loop from a script thread without giving up the GIL (issue 16).
# Python's switch interval stays at its default (5 ms): 0.5 ms was measured slower idle with 20
# sessions (docs/BENCHMARKS.md: Many sessions at once; README: Latest run).
# lifespan: the shared caches are warmed in a background thread when the server starts (ipt_training/ui/warm.py)
app = st.App("streamlit_app.py", routes=web.routes(config.get_option("server.baseUrlPath") or ""),
             middleware=[Middleware(SecurityHeaders)], lifespan=warm.lifespan)
