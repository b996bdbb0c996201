"""Fixtures that drive the React app in Debian's headless Chromium.

The built app is served from its own 127.0.0.1 origin and sentry-stub (the ``sentry_stub``
fixture of the project's pytest plugin) from another, so every envelope the browser posts is a
real cross-origin request, as it is between a web app and sentry.io.
"""

import functools
import threading
import time
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Request

from client_tests.frontend.build import build_frontend
from client_tests.support import debian_chromium

DRAIN_TIMEOUT = 5.0  # seconds to wait for the last envelopes of a page that is being left


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output free of one line per asset."""


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, started once per session."""
    with debian_chromium() as browser:
        yield browser


@pytest.fixture(scope="session")
def desktop_user_agent(chromium: Browser) -> str:
    """The browser's own User-Agent, as a desktop Chrome (not headless) would send it.

    Sentry names the browser from the User-Agent, and it would call the headless one
    "HeadlessChrome"; the app's real users run Chrome.
    """
    page = chromium.new_page()
    try:
        return page.evaluate("navigator.userAgent").replace("HeadlessChrome/", "Chrome/")
    finally:
        page.close()


@pytest.fixture
def page(chromium: Browser, desktop_user_agent: str) -> Iterator[Page]:
    """A fresh page in its own browser context: no cookies, storage or SDK state shared.

    At teardown the page is left first, and the envelopes the SDK posts on leaving (spans,
    client reports, sessions) are waited for, so they arrive during this test and not the next.
    """
    context = chromium.new_context(user_agent=desktop_user_agent)
    in_flight: set[Request] = set()
    # Playwright cannot register a builtin method such as set.add, hence the lambdas.
    context.on("request", lambda request: in_flight.add(request))
    context.on("requestfinished", lambda request: in_flight.discard(request))
    context.on("requestfailed", lambda request: in_flight.discard(request))
    page = context.new_page()
    try:
        yield page
        page.goto("about:blank")
        _wait_until(lambda: not in_flight, page, timeout=DRAIN_TIMEOUT)
    finally:
        context.close()


def _wait_until(done: Callable[[], bool], page: Page, *, timeout: float) -> None:
    # Playwright delivers its events to the callbacks only while it waits, hence the short waits.
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        page.wait_for_timeout(20)


@pytest.fixture(scope="session")
def frontend_builds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where this session keeps its builds.

    Each build names the session's server in its DSN, so builds are rarely reusable in the next
    session; pytest's temp directories are pruned, the system temp directory is not.
    """
    return tmp_path_factory.mktemp("frontend-builds")


@pytest.fixture
def serve_frontend(
    frontend_builds: Path, serve_directory: Callable[[Path], str]
) -> Callable[[dict[str, str]], str]:
    """Build the app with the given ``VITE_*`` variables, serve it, and return its URL."""
    return lambda env: serve_directory(build_frontend(env, frontend_builds))


@pytest.fixture
def serve_directory() -> Iterator[Callable[[Path], str]]:
    """Serve a built app's directory (a build, or a copy that sentry-cli changed) on 127.0.0.1."""
    servers: list[ThreadingHTTPServer] = []

    def serve(dist: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(dist))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        host, port = server.server_address[:2]
        return f"http://{host}:{port}/"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()
