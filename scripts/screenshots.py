"""Take the README's screenshots of the web UI from a real run.

A stub server on 127.0.0.1 gets traffic from the real sentry-sdk: a "web" project's pageload
whose fetch reaches an "api" project's transaction (the trace continued through the
sentry-trace and baggage headers, as between two processes), with db spans, log lines and an
error. Debian's Chromium then photographs each page at 1400x900.

    .venv/bin/python scripts/screenshots.py [OUTPUT_DIRECTORY]    # default: docs/screenshots
"""

from __future__ import annotations

import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))  # for client_tests.support, when run as a script

import sentry_sdk  # noqa: E402
from playwright.sync_api import Page, expect  # noqa: E402

from client_tests.support import debian_chromium, sentry_client  # noqa: E402
from sentry_stub import StubServer  # noqa: E402
from sentry_stub.client import StubClient  # noqa: E402

PAGES = {
    "issues": "/issues",
    "traces": "/traces",
    "trace": "/traces/{trace_id}",
    "logs": "/logs",
    "insights": "/insights",
    "releases": "/releases",
    "event": "/events/{event_id}",
}


def send_checkout(web_dsn: str, api_dsn: str) -> tuple[str, str]:
    """The web project's pageload and fetch, the api project's work under it; returns the trace
    id and the api's error's event id."""
    with (
        sentry_client(
            web_dsn, traces_sample_rate=1.0, default_integrations=False, release="web@1.4.0"
        ),
        sentry_sdk.start_transaction(op="pageload", name="/checkout") as pageload,
        sentry_sdk.start_span(op="http.client", name="POST /api/checkout") as fetch,
    ):
        headers = {
            "sentry-trace": fetch.to_traceparent(),
            "baggage": fetch.to_baggage().serialize(),
        }
        event_id = serve_checkout(api_dsn, headers)
    return pageload.trace_id, event_id


def serve_checkout(api_dsn: str, headers: dict[str, str]) -> str:
    """The api's transaction, continued from ``headers``, with its own client (another process
    in a real app)."""
    client = sentry_sdk.Client(
        api_dsn,
        traces_sample_rate=1.0,
        enable_logs=True,
        default_integrations=False,
        release="api@2.0.1",
    )
    with sentry_sdk.isolation_scope(), sentry_sdk.new_scope() as scope:
        scope.set_client(client)
        sentry_sdk.set_user({"id": "user-42", "email": "ada@example.com"})
        scope.start_session(session_mode="request")  # release health: an errored session
        transaction = sentry_sdk.continue_trace(
            headers, op="http.server", name="POST /api/checkout"
        )
        with sentry_sdk.start_transaction(transaction):
            with sentry_sdk.start_span(op="db.query", name="SELECT * FROM carts WHERE id = ?"):
                pass
            sentry_sdk.logger.info("charging cart {cart} for {amount}", cart=7, amount="19.99 EUR")
            with sentry_sdk.start_span(op="db.query", name="INSERT INTO orders VALUES (?, ?)"):
                pass
            sentry_sdk.logger.error("payment provider answered 502")
            try:
                raise ConnectionError("payment provider unreachable")
            except ConnectionError:
                event_id = sentry_sdk.capture_exception()
        scope.end_session()
    client.flush(10)
    client.close()
    assert event_id is not None
    return event_id


def take(page: Page, url: str, path: Path) -> None:
    page.goto("about:blank")
    page.goto(url)
    expect(page.locator("main")).to_have_attribute("aria-busy", "false")
    expect(page.locator("#live")).to_have_text("live")  # the long poll never lets the network idle
    page.screenshot(path=str(path))


def main(output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    with StubServer() as server:
        stub = StubClient(server.url)
        web, api = stub.project("web")["dsn"], stub.project("api")["dsn"]  # created on first use
        trace_id, event_id = send_checkout(web, api)
        with debian_chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            for name, route in PAGES.items():
                route = route.format(trace_id=trace_id, event_id=event_id)
                take(page, f"{server.url}/#{route}", output / f"{name}.png")
                print(output / f"{name}.png")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPOSITORY / "docs" / "screenshots")
