"""The guard against real web pages: Debian's headless Chromium, and `sentry-stub serve`.

A page from another 127.0.0.1 port is the attacker of issue 12: it tries every write a page can
send without a preflight, the ones that need one, and a read. A page whose name is rebound to
127.0.0.1 reads the stub as its own origin: Chromium's ``--host-resolver-rules`` resolves
``rebound.test`` to 127.0.0.1, and Playwright answers the page's own document as the attacker's
server would have before the rebinding. Ingest from the page still works, with Relay's CORS,
and the stub's own UI still resets.

Chromium's Local Network Access checks would block a public page's requests to loopback on
their own; Firefox and Safari have no such block, so it is turned off here and the stub's own
defences are what the tests see.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Response

from client_tests.support import ServerProcess, debian_chromium, free_port

KEY = "0123456789abcdef0123456789abcdef"
REBOUND = "rebound.test"
PAGE = b"<!doctype html><title>another site</title><p>nothing to see"
ENVELOPE = '{}\n{"type": "event"}\n{"message": "from the page"}\n'


class _AttackerPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def attacker() -> Iterator[str]:
    """A site of its own on another 127.0.0.1 port."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _AttackerPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with debian_chromium(
        f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1",
        "--disable-features=LocalNetworkAccessChecks",
    ) as browser:
        yield browser


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def stub(tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path / "stub.sqlite3") as server:
        yield server


def state(url: str) -> tuple[list[str], list]:
    events = httpx.get(f"{url}/stub/api/events").json()["data"]
    faults = httpx.get(f"{url}/stub/api/faults").json()["data"]
    return sorted(e["data"]["message"] for e in events), faults


def answers_from(page: Page, url: str) -> list[tuple[str, str, int]]:
    """(method, path, status) of every answer the page got from ``url``, opaque ones included."""
    seen: list[tuple[str, str, int]] = []

    def record(response: Response) -> None:
        if response.url.startswith(url):
            seen.append((response.request.method, response.url[len(url) :], response.status))

    page.on("response", record)
    return seen


ATTACKS = """async ({stub, key, envelope}) => {
  const outcome = async (request) => {
    try {
      const response = await request;
      return response.type === "opaque" ? "opaque" : `${response.status} ${await response.text()}`;
    } catch (error) {
      return `blocked: ${error.name}`;
    }
  };
  const text = { "content-type": "text/plain" };
  const json = { "content-type": "application/json" };
  const noCors = (path, body) =>
    fetch(stub + path, { method: "POST", mode: "no-cors", headers: text, body });
  return {
    resetAsText: await outcome(noCors("/stub/api/reset", "x")),
    faultAsText: await outcome(noCors("/stub/api/faults", '{"kind": "drop"}')),
    resetAsJson: await outcome(fetch(stub + "/stub/api/reset", { method: "POST", headers: json })),
    clearFaults: await outcome(fetch(stub + "/stub/api/faults", { method: "DELETE" })),
    readEvents: await outcome(fetch(stub + "/stub/api/events")),
    readDiscover: await outcome(
      fetch(stub + "/api/0/organizations/sentry/events/?field=message")
    ),
    ingest: await outcome(
      fetch(`${stub}/api/1/envelope/?sentry_key=${key}`, {
        method: "POST", headers: text, body: envelope,
      })
    ),
  };
}"""


def test_a_page_of_another_origin_cannot_write_or_read_but_can_ingest(
    page: Page, stub: ServerProcess, attacker: str
) -> None:
    httpx.post(f"{stub.url}/api/1/store/?sentry_key={KEY}", json={"message": "private"})
    elsewhere = {"kind": "status", "status": 429, "project": "elsewhere"}  # not the page's
    httpx.post(f"{stub.url}/stub/api/faults", json=elsewhere)
    messages, faults = state(stub.url)
    answers = answers_from(page, stub.url)
    page.goto(attacker)
    outcome = page.evaluate(ATTACKS, {"stub": stub.url, "key": KEY, "envelope": ENVELOPE})

    # The simple requests reached the stub, which refused them; the others never got past the
    # browser's CORS check: no preflight is granted and no answer outside ingest is readable.
    assert outcome["resetAsText"] == outcome["faultAsText"] == "opaque"
    assert ("POST", "/stub/api/reset", 403) in answers
    assert ("POST", "/stub/api/faults", 403) in answers
    for name in ("resetAsJson", "clearFaults", "readEvents", "readDiscover"):
        assert outcome[name] == "blocked: TypeError", (name, outcome[name])
    writes = [a for a in answers if a[0] in ("POST", "DELETE") and a[2] < 400]
    assert [path for _, path, _ in writes] == [f"/api/1/envelope/?sentry_key={KEY}"]

    assert outcome["ingest"].startswith('200 {"id":'), outcome["ingest"]
    assert state(stub.url) == (sorted([*messages, "from the page"]), faults)

    # A form needs no script at all: the browser navigates to the stub's refusal.
    page.set_content(
        f'<form method="post" enctype="text/plain" action="{stub.url}/stub/api/reset">'
        '<input name="a" value="b"></form>'
    )
    with page.expect_navigation():
        page.evaluate("document.forms[0].submit()")
    assert "cross-site write refused" in page.content()
    assert state(stub.url) == (sorted([*messages, "from the page"]), faults)


def test_the_stubs_own_ui_still_resets(page: Page, stub: ServerProcess) -> None:
    httpx.post(f"{stub.url}/api/1/store/?sentry_key={KEY}", json={"message": "to be reset"})
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{stub.url}/")
    with page.expect_response(f"{stub.url}/stub/api/reset") as reset:
        page.get_by_role("button", name="Reset").click()
    assert reset.value.status == 200
    assert state(stub.url)[0] == []


REBOUND_READS = """async () => {
  const read = async (path) => {
    const response = await fetch(path);
    return { status: response.status, body: await response.json() };
  };
  return {
    events: await read("/stub/api/events"),
    discover: await read("/api/0/organizations/sentry/events/?field=message&field=user.email"),
  };
}"""


def rebound_reads(page: Page, server: ServerProcess) -> dict:
    """What a page served as ``rebound.test:<port>`` reads from its own origin, the stub."""
    origin = f"http://{REBOUND}:{server.port}"
    page.route(f"{origin}/", lambda route: route.fulfill(body=PAGE, content_type="text/html"))
    page.goto(f"{origin}/")
    return page.evaluate(REBOUND_READS)


def test_a_rebound_page_reads_nothing(page: Page, stub: ServerProcess) -> None:
    httpx.post(f"{stub.url}/api/1/store/?sentry_key={KEY}", json={"message": "private"})
    reads = rebound_reads(page, stub)
    for answer in reads.values():
        assert answer["status"] == 421
        assert answer["body"]["host"] == REBOUND
        assert "data" not in answer["body"]


def test_a_rebound_page_reads_everything_when_the_check_is_off(page: Page, tmp_path: Path) -> None:
    """The same page against ``--allowed-host '*'``: the browser does reach the stub."""
    with ServerProcess(tmp_path / "open.sqlite3", arguments=("--allowed-host", "*")) as server:
        httpx.post(f"{server.url}/api/1/store/?sentry_key={KEY}", json={"message": "private"})
        reads = rebound_reads(page, server)
    assert reads["events"]["status"] == 200
    assert [e["data"]["message"] for e in reads["events"]["body"]["data"]] == ["private"]
    assert reads["discover"]["body"]["data"][0]["message"] == "private"
