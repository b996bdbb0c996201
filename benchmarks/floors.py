"""Two reference servers that show how fast any stub on this stack could acknowledge.

- ``http``: a bare ASGI callable on the stub's uvicorn settings that reads the body and answers
  200, without Starlette: what HTTP itself costs, the floor under every server here.
- ``checks``: the stub's own application, every check Relay makes included (auth, framing,
  limits, CORS, fault rules), whose database acknowledges without storing anything: the
  ceiling of any storage design, however cheap, inside this one Python process.

Neither is a mode of the stub: they exist so that each benchmark run measures, beside the
baseline, how much of the gap to the issue's targets storage could ever close.

Run as ``python -m benchmarks.floors http PORT`` or ``python -m benchmarks.floors checks PORT DB``.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.types import Receive, Scope, Send

from sentry_stub.app import StubApp
from sentry_stub.config import load_settings
from sentry_stub.server import uvicorn_config
from sentry_stub.sockets import bind_socket

ANSWER = b'{"id":null}'
ANSWER_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"content-length", b"11")],
}


async def http_only(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":  # the lifespan: nothing to start
        return
    more_body = True
    while more_body:
        more_body = (await receive()).get("more_body", False)
    await send(ANSWER_START)
    await send({"type": "http.response.body", "body": ANSWER})


def checks_only(db: str) -> StubApp:
    """The stub's app, whose envelopes are checked and acknowledged but never written."""
    app = StubApp(load_settings(db=db))

    async def acknowledge(operation: Callable[[sqlite3.Connection], Any]) -> int:
        return 0  # what store_envelope returns is not used by the answer

    app.database.write = acknowledge  # type: ignore[method-assign]
    return app


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    app = http_only if kind == "http" else checks_only(sys.argv[3])
    uvicorn.Server(uvicorn_config(app)).run(sockets=[bind_socket("127.0.0.1", port)])


if __name__ == "__main__":
    main()
