"""A real ``sentry-stub serve`` process for client tests, started as the docker service starts it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """``python -m sentry_stub serve`` configured through SENTRY_STUB_* variables."""

    def __init__(self, db: Path, *, config: Path | None = None, port: int | None = None):
        self.db = db
        self.config = config
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        self.log = db.with_suffix(".log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        env = {
            **os.environ,
            "SENTRY_STUB_HOST": "127.0.0.1",
            "SENTRY_STUB_PORT": str(self.port),
            "SENTRY_STUB_DB": str(self.db),
        }
        env.pop("SENTRY_STUB_CONFIG", None)
        if self.config is not None:
            env["SENTRY_STUB_CONFIG"] = str(self.config)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sentry_stub", "serve"],
            env=env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/relay/healthcheck/ready/", timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"server not ready after {timeout}s: {self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None
