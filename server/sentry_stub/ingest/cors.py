"""CORS as Relay does it, so a browser SDK on any origin can post to the ingest routes."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOWED_HEADERS = (
    "x-sentry-auth, x-requested-with, x-forwarded-for, origin, referer, accept, content-type, "
    "authentication, authorization, content-encoding, transfer-encoding"
)
EXPOSED_HEADERS = "x-sentry-error, x-sentry-rate-limits, retry-after"
SERVER = "sentry-stub"

# Relay applies CORS to the store-like routes, not to health checks or the web API.
NOT_INGEST = ("/api/0/", "/api/relay/")


def is_ingest_path(path: str) -> bool:
    return path == "/tunnel" or (path.startswith("/api/") and not path.startswith(NOT_INGEST))


class CORSMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_ingest_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if (
            scope["method"] == "OPTIONS"
            and "origin" in headers
            and "access-control-request-method" in headers
        ):
            await self._preflight(send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_cors_headers()]
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
        (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
        (b"cross-origin-resource-policy", b"cross-origin"),
        (b"server", SERVER.encode()),
    ]
