"""Security headers on every HTTP answer of the server (issue 15, finding 15).

Streamlit's configuration has no option for response headers. Since 1.5x it serves apps with
Starlette under uvicorn, and ``st.App(script, middleware=[...])`` runs ASGI middleware ahead
of Streamlit's own routes; ``app.py`` adds :class:`SecurityHeaders` there, so the page, its
scripts and the app's own routes all carry:

- ``Content-Security-Policy: frame-ancestors 'self'`` and ``X-Frame-Options: SAMEORIGIN``:
  no other site may show the platform in a frame (clickjacking). Same-origin frames stay
  allowed because Streamlit shows components and some media in frames of its own origin.
- ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin``.

A header the answer already has (a route that sets its own policy) is left as it is. Plain
ASGI, no Starlette import: tested by calling it with a stub app.
"""

from __future__ import annotations

HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", b"frame-ancestors 'self'"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


class SecurityHeaders:
    """ASGI middleware adding :data:`HEADERS` to every HTTP response that lacks them."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":  # websockets and lifespan pass through untouched
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in HEADERS if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
