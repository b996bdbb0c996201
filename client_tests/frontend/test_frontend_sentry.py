"""@sentry/react in a real browser, against sentry-stub.

Each test builds the app with its Sentry configuration in ``VITE_*`` variables (as the mission
guide's ``.env`` does), opens it in headless Chromium, clicks through it, and reads what arrived.
"""

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from playwright.sync_api import Page, Request, Response

RELEASE = "agentsflowai-frontend@1.0.0"
ENVIRONMENT = "staging"


def staging_env(sentry_stub: Any, **overrides: str) -> dict[str, str]:
    """The mission's staging configuration of the frontend, pointed at sentry-stub."""
    return {
        "VITE_SENTRY_DSN": sentry_stub.dsn,
        "VITE_SENTRY_ENVIRONMENT": ENVIRONMENT,
        "VITE_SENTRY_RELEASE": RELEASE,
        "VITE_SENTRY_TRACES_SAMPLE_RATE": "1.0",
        **overrides,
    }


def origin(url: str) -> str:
    scheme, netloc, *_ = urlsplit(url)
    return f"{scheme}://{netloc}"


def leave_page(page: Page) -> None:
    """Hide the page, as a user closing the tab does.

    The browser SDK ends the pageload span and flushes its client reports only when the page
    becomes hidden; navigating away is what makes Chromium hide it. The sends still in flight
    finish first: leaving would abort them, and the SDK reports each aborted send as a
    ``network_error`` discard (seen when a second error's envelope was still on its way).
    """
    page.wait_for_load_state("networkidle")
    page.goto("about:blank")


def eventually(read: Callable[[], list], *, timeout: float = 5.0) -> list:
    """Call ``read`` until it returns something non-empty or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while not (result := read()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return result


def envelope_of(sentry_stub: Any, event: Any) -> Any:
    """The envelope that carried ``event``."""
    [envelope] = [e for e in sentry_stub.envelopes() if e.event_id == event.event_id]
    return envelope


def envelope_header(envelope: Any) -> dict:
    """The first line of an envelope, exactly as the browser posted it."""
    return json.loads(envelope.raw.split(b"\n", 1)[0])


def break_the_widget(page: Page) -> None:
    page.click("#break-widget")
    page.wait_for_selector("#error-fallback")


def test_error_boundary_error_carries_release_environment_and_sdk(
    sentry_stub, serve_frontend, page
):
    page.goto(serve_frontend(staging_env(sentry_stub)))

    break_the_widget(page)

    [event] = sentry_stub.wait_for("event.type:error")
    assert event.release == RELEASE
    assert event.environment == ENVIRONMENT
    assert event.platform == "javascript"
    assert event["sdk"]["name"] == "sentry.javascript.react"
    thrown = event.exception[-1]
    assert (thrown["type"], thrown["value"]) == ("Error", "Widget failed to render")
    assert thrown["mechanism"]["type"] == "auto.function.react.error_boundary"


def test_breadcrumbs_record_what_the_user_did_before_the_error(sentry_stub, serve_frontend, page):
    page.goto(serve_frontend(staging_env(sentry_stub)))

    page.click("#add-to-cart")
    page.click("#navigate")
    break_the_widget(page)

    [event] = sentry_stub.wait_for("event.type:error")
    trail = [
        (crumb["category"], crumb.get("message") or crumb.get("data", {}).get("to"))
        for crumb in event["breadcrumbs"]
        if crumb["category"] in {"ui.click", "ui.action", "navigation"}
    ]
    assert trail == [
        ("ui.click", "body > div#root > main > button#add-to-cart"),
        ("ui.action", "Added item to cart"),
        ("ui.click", "body > div#root > main > button#navigate"),
        ("navigation", "/settings"),
        ("ui.click", "body > div#root > main > section > button#break-widget"),
    ]
    assert all(crumb["timestamp"] <= event["timestamp"] for crumb in event["breadcrumbs"])
    assert event["request"]["url"].endswith("/settings")


def test_browser_context_comes_from_the_user_agent(sentry_stub, serve_frontend, page, chromium):
    page.goto(serve_frontend(staging_env(sentry_stub)))
    user_agent = page.evaluate("navigator.userAgent")

    break_the_widget(page)

    [event] = sentry_stub.wait_for("event.type:error")
    # The browser SDK sends only the User-Agent; Sentry derives the browser context from it.
    assert event["request"]["headers"]["User-Agent"] == user_agent
    browser = event.stored["contexts"]["browser"]
    assert browser["name"] == "Chrome"
    assert browser["version"].split(".")[0] == chromium.version.split(".")[0]


def test_pageload_is_traced_when_the_sample_rate_is_one(sentry_stub, serve_frontend, page):
    app_url = serve_frontend(staging_env(sentry_stub, VITE_SENTRY_TRACES_SAMPLE_RATE="1.0"))
    page.goto(app_url)

    leave_page(page)

    # @sentry/react 11 streams spans (span v2 containers) instead of sending transaction events.
    [pageload] = eventually(lambda: [s for s in sentry_stub.spans() if s["op"] == "pageload"])
    assert pageload["is_segment"]
    assert (pageload["release"], pageload["environment"]) == (RELEASE, ENVIRONMENT)
    attributes = pageload["data"]
    assert attributes["url.full"] == app_url
    assert attributes["sentry.sample_rate"] == 1


def test_zero_sample_rate_sends_no_spans_and_reports_the_discards(
    sentry_stub, serve_frontend, page
):
    page.goto(serve_frontend(staging_env(sentry_stub, VITE_SENTRY_TRACES_SAMPLE_RATE="0.0")))
    break_the_widget(page)
    [event] = sentry_stub.wait_for("event.type:error")

    leave_page(page)

    reports = eventually(sentry_stub.client_reports)
    discarded = [d for report in reports for d in report.payload["discarded_events"]]
    # Only "span": with streamed spans the SDK records no "transaction" outcome.
    assert {(d["reason"], d["category"]) for d in discarded} == {("sample_rate", "span")}
    assert sum(d["quantity"] for d in discarded) >= 1
    assert sentry_stub.spans() == []
    trace = envelope_header(envelope_of(sentry_stub, event))["trace"]
    assert (trace["sampled"], trace["sample_rate"]) == ("false", "0")


def test_envelopes_are_posted_cross_origin_and_pass_cors(sentry_stub, serve_frontend, page):
    stub_origin = origin(sentry_stub.url)
    to_stub: list[Response] = []
    failed: list[Request] = []
    page.on("response", lambda r: to_stub.append(r) if r.url.startswith(stub_origin) else None)
    page.on("requestfailed", lambda r: failed.append(r) if r.url.startswith(stub_origin) else None)
    app_url = serve_frontend(staging_env(sentry_stub))
    page.goto(app_url)

    # The stub stores the event before it answers, so wait_for alone could return before the
    # browser has seen the answer this test looks at.
    with page.expect_response(lambda r: r.url.startswith(stub_origin) and is_event_post(r)):
        break_the_widget(page)

    [event] = sentry_stub.wait_for("event.type:error")
    assert origin(app_url) != stub_origin
    assert origin(event["request"]["url"]) == origin(app_url)
    assert not failed, [f"{r.url}: {r.failure}" for r in failed]
    assert to_stub, "the browser sent nothing to sentry-stub"
    for response in to_stub:
        assert response.status == 200, response.url
        assert response.request.header_value("origin") == origin(app_url)
        assert response.header_value("access-control-allow-origin") in ("*", origin(app_url))


def is_event_post(response: Response) -> bool:
    """The answer to an envelope that carries an event item."""
    return b'"type":"event"' in (response.request.post_data_buffer or b"")


def unreachable_dsn(dsn: str) -> str:
    """``dsn`` with its host moved to 127.0.0.1 port 1, where nothing listens."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:1"))


def test_tunnel_carries_the_dsn_in_the_envelope_header(sentry_stub, serve_frontend, page):
    # The DSN's own host is unreachable, so an event that arrives came through the tunnel.
    dsn = unreachable_dsn(sentry_stub.dsn)
    tunnel = sentry_stub.url.rstrip("/") + "/tunnel"
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
    env = staging_env(sentry_stub, VITE_SENTRY_DSN=dsn, VITE_SENTRY_TUNNEL=tunnel)
    page.goto(serve_frontend(env))

    page.click("#send-message")

    [event] = sentry_stub.wait_for("level:info")
    assert event.message == "Checkout page viewed"
    assert event.release == RELEASE
    envelope = envelope_of(sentry_stub, event)
    assert envelope_header(envelope)["dsn"] == dsn
    assert envelope.endpoint == "tunnel"
    assert posted and set(posted) == {tunnel}
