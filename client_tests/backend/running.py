"""Running the backend for real: uvicorn on a free 127.0.0.1 port, driven over HTTP.

The app runs in a thread of the test process, so each test can start it with its own
``SENTRY_*`` variables (sentry-sdk has one client per process).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sentry_sdk
import uvicorn
from fastapi import FastAPI

from client_tests.backend.app.main import create_app
from client_tests.backend.app.sentry_setup import EventProcessor, scrub_event
from client_tests.support import fresh_scopes


@dataclass
class Backend:
    """The running app: where to reach it, and how to stop it and flush what Sentry holds."""

    url: str
    database: Path
    server: uvicorn.Server
    thread: threading.Thread
    # uvicorn closes the connection after a 500, so a reused one could be reset: no keep-alive.
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        limits = httpx.Limits(max_keepalive_connections=0)
        self.http = httpx.Client(base_url=self.url, limits=limits, timeout=30)

    @property
    def websocket_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + "/ws"

    def stop(self) -> None:
        """Stop serving, then flush and close the SDK, which sends its client reports last."""
        if not self.thread.is_alive():
            return
        self.http.close()
        self.server.should_exit = True
        self.thread.join(10)
        sentry_sdk.flush(10)
        sentry_sdk.get_client().close()


@contextmanager
def serve(app: FastAPI, database: Path) -> Iterator[Backend]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        host, port = sock.getsockname()
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="backend", daemon=True
        )
        thread.start()
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the backend failed to start")
            thread.join(0.01)
        backend = Backend(f"http://{host}:{port}", database, server, thread)
        try:
            yield backend
        finally:
            backend.stop()


StartBackend = Callable[..., Backend]


def backend_starter(tmp_path: Path) -> Iterator[StartBackend]:
    """Start the app with the given variables (one app at a time); stopped at the end."""
    with ExitStack() as running:

        def start(
            environ: Mapping[str, str], *, before_send: EventProcessor = scrub_event
        ) -> Backend:
            database = tmp_path / "agentsflowai.sqlite3"
            environ = {"DATABASE_PATH": str(database), **environ}
            fresh_scopes()
            app = create_app(environ, before_send=before_send)
            return running.enter_context(serve(app, database))

        yield start
