"""CORS as Relay does it, so a browser SDK on any origin can post to the ingest routes."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOWED_HEADERS = (
    "x-sentry-auth, x-requested-with, x-forwarded-for, origin, referer, accept, content-type, "
    "authentication, authorization, content-encoding, transfer-encoding"
)
EXPOSED_HEADERS = "x-sentry-error, x-sentry-rate-limits, retry-after"
VARY = "origin, access-control-request-method, access-control-request-headers"
SERVER = "sentry-stub"


class CORSMiddleware:
    """Relay's CORS on the paths ``is_ingest`` names (``routing.RoutePolicies``, by route)."""

    def __init__(self, app: ASGIApp, is_ingest: Callable[[str], bool]):
        self.app = app
        self.is_ingest = is_ingest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.is_ingest(scope["path"]):
            await self.app(scope, receive, send)
            return
        # Relay's CORS layer (tower-http) answers every OPTIONS itself, as a preflight.
        if scope["method"] == "OPTIONS":
            await self._preflight(send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                exposed = (b"access-control-expose-headers", EXPOSED_HEADERS.encode())
                message["headers"] = [*message.get("headers", []), *_cors_headers(), exposed]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, send: Send) -> None:
        headers = [
            *_cors_headers(),
            (b"access-control-allow-methods", b"POST"),
            (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
            (b"access-control-max-age", b"3600"),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def _cors_headers() -> list[tuple[bytes, bytes]]:
    return [
        (b"access-control-allow-origin", b"*"),
        (b"vary", VARY.encode()),
        (b"cross-origin-resource-policy", b"cross-origin"),
        (b"server", SERVER.encode()),
    ]
