"""Running the app under uvicorn: in the foreground (``sentry-stub serve``) or in a thread.

``StubServer`` is the library entry point for any test runner::

    with StubServer() as stub:
        sentry_sdk.init(dsn=stub.dsn)
        ...
"""

from __future__ import annotations

import socket
import threading
from dataclasses import replace
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from .app import StubApp
from .config import Settings, load_settings
from .header_deadline import with_header_timeout
from .server_handle import ServerHandle
from .settings.values import Limits
from .sockets import bind_socket
from .storage.preflight import check_database

# Loggers whose records sentry-sdk's logging integration must never turn into events.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "sentry_stub")


def uvicorn_config(
    app: ASGIApp,
    *,
    log_level: str = "warning",
    header_timeout: int = Limits.header_timeout,
) -> uvicorn.Config:
    """uvicorn's settings for the stub (and the benchmarks' reference servers)."""
    return uvicorn.Config(
        app,
        http=with_header_timeout(header_timeout) if header_timeout else "auto",
        lifespan="on",
        log_level=log_level,
        access_log=False,
        server_header=False,
        date_header=False,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=3,  # long polls end with the server, not when they time out
    )


def bind(settings: Settings) -> tuple[Settings, socket.socket]:
    """The settings with the port bound, and its socket: ``UnusableDatabase`` before anything
    else, then ``OSError`` when the address cannot be had (in use, not ours, a privileged port)."""
    check_database(settings.db)
    sock = bind_socket(settings.host, settings.port)
    return replace(settings, port=sock.getsockname()[1]), sock


def serve(
    settings: Settings, sock: socket.socket, *, log_level: str = "info", on_ready=None
) -> None:
    """Serve on ``sock`` (from ``bind``) in the foreground until interrupted."""
    app = StubApp(settings)
    if on_ready is not None:
        on_ready(settings, app)
    config = uvicorn_config(app, log_level=log_level, header_timeout=settings.limits.header_timeout)
    uvicorn.Server(config).run(sockets=[sock])


class StubServer(ServerHandle):
    """A sentry-stub server in a background thread, on a free 127.0.0.1 port by default."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        db: str | Path | None = None,
        config: str | Path | None = None,
    ):
        if db is None:
            db = self._workdir() / "sentry-stub.sqlite3"
        self.settings = load_settings(
            host=host,
            port=port or None,
            db=str(db),
            config=str(config) if config else None,
            environ={},
        )
        if not port:
            self.settings = replace(self.settings, port=0)
        self.app: StubApp | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.settings.base_url

    @property
    def dsn(self) -> str:
        """The DSN of the default project (the first configured one in strict mode)."""
        assert self.app is not None, "start the server first"
        return self.app.projects.all()[0].dsn(self.url)

    def dsn_for(self, slug: str) -> str:
        """The DSN of project ``slug``, created on first use in open mode."""
        assert self.app is not None, "start the server first"
        project = self.app.projects.by_slug(slug)
        if project is None:
            if self.app.projects.strict:
                raise KeyError(f"no project {slug!r} in the config")
            project = self.app.projects.create(slug)
        return project.dsn(self.url)

    def start(self) -> StubServer:
        _keep_sentry_sdk_away()
        self.settings, sock = bind(self.settings)
        self.app = StubApp(self.settings)
        self._server = uvicorn.Server(
            uvicorn_config(self.app, header_timeout=self.settings.limits.header_timeout)
        )
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="sentry-stub", daemon=True
        )
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("sentry-stub server failed to start")
            self._thread.join(0.01)
        return self

    def _stop_server(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
            self._server = None
            self._thread = None


def _keep_sentry_sdk_away() -> None:
    """If sentry-sdk is installed, never let its logging integration report the server's logs."""
    try:
        from sentry_sdk.integrations.logging import ignore_logger
    except ImportError:
        return
    for name in SERVER_LOGGERS:
        ignore_logger(name)
