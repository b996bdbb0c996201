"""The web UI: static files, served with headers that keep event data inert.

Everything the UI shows comes from clients the stub does not control, so the page may load and
run nothing but its own files: the Content-Security-Policy allows this origin only.
"""

from __future__ import annotations

from pathlib import Path

from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocketClose

STATIC_DIRECTORY = Path(__file__).parent / "static"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every HTTP response of the wrapped app."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await WebSocketClose()(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def web_ui() -> ASGIApp:
    """The UI's files under ``/`` (``index.html`` for the root)."""
    return SecurityHeaders(StaticFiles(directory=STATIC_DIRECTORY, html=True))
