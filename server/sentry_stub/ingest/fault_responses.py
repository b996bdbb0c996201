"""What fault rules do to an answer besides its status and body: delay, headers, no answer at all.

ASGI has no message for "close the connection without answering". The outermost layer,
``FaultResponses``, gets the server's own ``send``; under uvicorn that is a method of the request
cycle, which owns the connection's transport, and closing that transport before any byte of the
answer is written is exactly a dropped connection (the client sees the remote end close, as
``RemoteDisconnected`` in Python, a network error in browsers). Under a server without that
attribute the ``502`` answer of ``ConnectionDropped`` goes out instead.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..protocol.envelope import ParsedEnvelope
from .faults import ConnectionDropped, Verdict

SCOPE_KEY = "sentry_stub.fault_response"


@dataclass
class FaultResponse:
    """What the ingest route decided about its answer, for the outermost layer to carry out."""

    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    drop: bool = False


async def answer_with_faults(scope: Scope, verdict: Verdict, envelope: ParsedEnvelope) -> None:
    """Wait out the verdict's delay, then raise its failure or note its headers for the answer."""
    if verdict.delay:
        await asyncio.sleep(verdict.delay)
    response = scope.setdefault(SCOPE_KEY, FaultResponse())
    error = verdict.rejection(envelope)
    if error is not None:
        response.drop = isinstance(error, ConnectionDropped)
        raise error
    response.headers = [
        (name.lower().encode(), value.encode())
        for name, value in verdict.rate_limit_headers().items()
    ]


class FaultResponses:
    """The outermost ASGI layer: adds noted headers to the answer, or drops the connection."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response = scope[SCOPE_KEY] = FaultResponse()
        dropped = False

        async def send_with_faults(message: Message) -> None:
            nonlocal dropped
            if message["type"] == "http.response.start":
                dropped = response.drop and _close_connection(send)
                message["headers"] = [*message.get("headers", []), *response.headers]
            if not dropped:
                await send(message)

        await self.app(scope, receive, send_with_faults)
        if dropped:
            # Let the server see the connection go before it checks whether we answered.
            await asyncio.sleep(0)


def _close_connection(send: Send) -> bool:
    """Close the connection behind uvicorn's ``send``; False where there is no such thing."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    close = getattr(transport, "close", None)  # asyncio's or uvloop's transport
    if not callable(close):
        return False
    close()
    return True
