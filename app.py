"""Start the platform: ``streamlit run app.py``.

Builds Streamlit's ASGI app (``st.App``, Streamlit 1.5x and later) around the router
``streamlit_app.py`` and adds the platform's own HTTP routes (``ipt_training/web.py``: the
sign-in cookie and the per-viewer recording links) and the security headers on every answer
(``ipt_training/http_headers.py``). ``streamlit run`` finds the ``app`` below and serves it
with uvicorn, with the same options and ``.streamlit/config.toml`` as any Streamlit app.
"""

import sys

import streamlit as st
from starlette.middleware import Middleware
from streamlit import config

from ipt_training import web
from ipt_training.http_headers import SecurityHeaders
from ipt_training.ui import warm

# Many sessions share one interpreter: each script thread gives the GIL up at every SQLite step,
# file check and message it hands to the event loop, and then waits for it to come back, up to
# the switch interval (5 ms by default) when another thread is running Python. With 20 working
# sessions at scale L that wait, not CPU, was most of a page visit (issue 16: median 0.7-1.1 s,
# the server at a third of a core); 0.5 ms gives the GIL back sooner. uvloop (requirements.txt),
# which Streamlit and uvicorn use when installed, wakes the event loop without giving the GIL up
# (README: Benchmarks, Many sessions at once).
sys.setswitchinterval(0.0005)

# lifespan: the shared caches are warmed in a background thread when the server starts (ipt_training/ui/warm.py)
app = st.App("streamlit_app.py", routes=web.routes(config.get_option("server.baseUrlPath") or ""),
             middleware=[Middleware(SecurityHeaders)], lifespan=warm.lifespan)
