"""A sentry-stub server as a child process: the pytest plugin's default server.

A server in the test's own process takes turns with the app and the SDK on one interpreter
lock: every envelope it derives is time the code under test does not run. As a process of its
own it runs beside them on another core, as the docker service does in CI.

The parent binds the socket and hands it to the child, so the port is known before the child
starts and no other process can take it in between. The child watches its stdin, a pipe from
the parent: when the parent ends, however it ends, the pipe closes and the child stops.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from .client import StubClient
from .server_handle import ServerHandle
from .sockets import bind_socket

START_TIMEOUT = 30.0  # seconds; a cold start on a loaded CI machine takes well under one


class StubProcess(ServerHandle):
    """A sentry-stub server in a child process, on a free 127.0.0.1 port by default.

    The same constructor and attributes as ``StubServer``: ``with StubProcess() as stub:``,
    then ``.url``, ``.dsn``, ``.dsn_for(slug)``.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        db: str | Path | None = None,
        config: str | Path | None = None,
    ):
        self.host = host
        self.port = port
        self.db = db
        self.config = config
        self._child: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def dsn(self) -> str:
        """The DSN of the default project (the first configured one in strict mode)."""
        return StubClient(self.url).projects()[0]["dsn"]

    def dsn_for(self, slug: str) -> str:
        """The DSN of project ``slug``, created on first use in open mode."""
        return StubClient(self.url).project(slug)["dsn"]

    def start(self) -> StubProcess:
        workdir = self._workdir()
        db = self.db if self.db is not None else workdir / "sentry-stub.sqlite3"
        self._log = workdir / "server.log"
        with contextlib.closing(bind_socket(self.host, self.port)) as sock:
            self.port = sock.getsockname()[1]
            command = [sys.executable, "-m", __name__, "--fd", str(sock.fileno()), "--db", str(db)]
            if self.config is not None:
                command += ["--config", str(self.config)]
            with self._log.open("wb") as log:
                self._child = subprocess.Popen(
                    command,
                    stdin=subprocess.PIPE,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=[sock.fileno()],
                )
        # The child holds the only copy of the socket now: if it dies, connections are refused.
        try:
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_answering(self) -> None:
        assert self._child is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._child.poll() is not None:
                raise RuntimeError(f"the sentry-stub server did not start:\n{self._output()}")
            connection = http.client.HTTPConnection(self.host, self.port, timeout=1)
            try:
                connection.request("GET", "/api/relay/healthcheck/live/")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.02)
            finally:
                connection.close()
        raise RuntimeError(
            f"the sentry-stub server did not answer within {START_TIMEOUT:.0f} s:\n{self._output()}"
        )

    def _output(self) -> str:
        assert self._log is not None
        return self._log.read_text(errors="replace").strip() or "(it printed nothing)"

    def _stop_server(self) -> None:
        if self._child is not None:
            assert self._child.stdin is not None
            self._child.stdin.close()  # the child stops when its stdin closes
            try:
                self._child.wait(10)
            except subprocess.TimeoutExpired:
                self._child.kill()
                self._child.wait()
            self._child = None


def main(argv: list[str] | None = None) -> int:
    """The child's side: serve on the inherited socket until stdin closes."""
    parser = argparse.ArgumentParser(prog="python -m sentry_stub.process")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--config")
    args = parser.parse_args(argv)

    from .config import load_settings
    from .server import serve
    from .settings.validation import ConfigError
    from .storage.preflight import UnusableDatabase, check_database

    sock = socket.socket(fileno=args.fd)
    host, port = sock.getsockname()[:2]
    try:
        settings = load_settings(host=host, port=port, db=args.db, config=args.config, environ={})
        check_database(settings.db)
    except (ConfigError, UnusableDatabase) as error:
        print(f"sentry-stub: {error}", file=sys.stderr)
        return 2
    threading.Thread(target=_stop_when_stdin_closes, name="parent-watch", daemon=True).start()
    serve(settings, sock, log_level="warning")
    return 0


def _stop_when_stdin_closes() -> None:
    while sys.stdin.buffer.read(4096):
        pass
    os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's own shutdown: commits finish, then exit


if __name__ == "__main__":
    sys.exit(main())
