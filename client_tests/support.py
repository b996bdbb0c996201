"""A real ``sentry-stub serve`` process for client tests, started as the container starts it."""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sentry_sdk
from playwright.sync_api import Browser, Playwright, sync_playwright

# The container's CMD (see the Dockerfile): the installed console script, not ``python -m``.
SERVE_COMMAND = ("sentry-stub", "serve")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Relay's readiness route, which the image's HEALTHCHECK asks too.
READY = "/api/relay/healthcheck/ready/"


def wait_until_answering(
    url: str,
    describe: Callable[[], str],
    *,
    timeout: float = 20.0,
    exited: Callable[[], bool] = lambda: False,
) -> None:
    """Until a GET of ``url`` succeeds; else a RuntimeError that quotes ``describe()`` (a log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if exited():
            raise RuntimeError(f"server exited: {describe()}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} not answering after {timeout}s: {describe()}")


class ServerProcess:
    """``sentry-stub serve`` configured through SENTRY_STUB_* variables, as in the container."""

    def __init__(
        self,
        db: Path,
        *,
        config: Path | None = None,
        port: int | None = None,
        arguments: tuple[str, ...] = (),
        environment: dict[str, str] | None = None,
        bin_dir: Path | None = None,
    ):
        self.db = db
        self.config = config
        self.port = port or free_port()
        self.arguments = arguments  # after ``serve``, e.g. ``("--allowed-host", "ci-runner")``
        self.environment = environment or {}  # overrides of the SENTRY_STUB_* variables
        # Where the console script lies: this interpreter's environment unless another is named.
        self.bin_dir = bin_dir or Path(sys.executable).parent
        self.process: subprocess.Popen | None = None
        self.log = db.with_suffix(".log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings_environment(self) -> dict[str, str]:
        """The SENTRY_STUB_* variables the server gets; the container sets the same names."""
        env = {
            "SENTRY_STUB_HOST": "127.0.0.1",
            "SENTRY_STUB_ALLOWED_HOSTS": "sentry-stub",  # the service name, as in the container
            "SENTRY_STUB_PORT": str(self.port),
            "SENTRY_STUB_DB": str(self.db),
        }
        if self.config is not None:
            env["SENTRY_STUB_CONFIG"] = str(self.config)
        return env

    def command(self) -> list[str]:
        """``SERVE_COMMAND`` with the console script of ``bin_dir``."""
        script = self.bin_dir / SERVE_COMMAND[0]
        return [str(script), *SERVE_COMMAND[1:], *self.arguments]

    def start(self) -> ServerProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_STUB_")}
        env.update(self.settings_environment())
        env.update(self.environment)
        self.process = subprocess.Popen(
            self.command(),
            env=env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 20.0) -> None:
        process = self.process
        assert process is not None
        wait_until_answering(
            f"{self.url}{READY}",
            self.log.read_text,
            timeout=timeout,
            exited=lambda: process.poll() is not None,
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.process = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None


def running_server(folder: Path, config: Path | None = None) -> Iterator[ServerProcess]:
    """A server on ``folder/stub.sqlite3`` for a fixture to ``yield from``; stopped after."""
    server = ServerProcess(folder / "stub.sqlite3", config=config).start()
    yield server
    server.stop()


def fresh_scopes() -> None:
    """Forget tags, users and breadcrumbs a previous test left on sentry-sdk's scopes."""
    for scope in (
        sentry_sdk.get_global_scope(),
        sentry_sdk.get_isolation_scope(),
        sentry_sdk.get_current_scope(),
    ):
        scope.clear()


@contextlib.contextmanager
def sentry_client(dsn: str, **options: Any) -> Iterator[None]:
    """A real sentry-sdk client with fresh scopes for the block; flushed and closed at its end.

    The scopes are cleared again afterwards: a user or tag set in the block would otherwise
    ride along on the next test's events.
    """
    fresh_scopes()
    sentry_sdk.init(dsn=dsn, **options)
    try:
        yield
    finally:
        sentry_sdk.flush(10)
        sentry_sdk.get_client().close()
        fresh_scopes()


CHROMIUM = Path("/usr/bin/chromium")
# The flags the machine notes prescribe: no sandbox as root, and no background connections,
# which the closed network would refuse.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextlib.contextmanager
def debian_chromium(*extra_args: str) -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright (never a browser Playwright downloads)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run scripts/setup-frontend.sh to install Chromium")
    browser = _playwright().chromium.launch(
        executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args]
    )
    try:
        yield browser
    finally:
        browser.close()


@functools.cache
def _playwright() -> Playwright:
    """One Playwright per test process, shared by every browser: its sync API refuses to start
    while another instance runs, as when one xdist worker holds the frontend suite's
    session-scoped browser and then reaches a UI module with a browser of its own."""
    playwright = sync_playwright().start()
    atexit.register(playwright.stop)
    return playwright
