"""The baseline: a no-op Starlette endpoint on the stub's own uvicorn settings.

It reads the request body and answers 200, nothing more, so the ratio of the stub's figures
to these says what parsing, storing and committing cost on top of HTTP itself.

Run as ``python -m benchmarks.baseline PORT``.
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sentry_stub.server import uvicorn_config
from sentry_stub.sockets import bind_socket


async def envelope(request: Request) -> Response:
    await request.body()
    return Response(b'{"id":null}', media_type="application/json")


app = Starlette(routes=[Route("/api/{project_id}/envelope/", envelope, methods=["POST"])])


def main() -> None:
    sock = bind_socket("127.0.0.1", int(sys.argv[1]))
    uvicorn.Server(uvicorn_config(app)).run(sockets=[sock])


if __name__ == "__main__":
    main()
