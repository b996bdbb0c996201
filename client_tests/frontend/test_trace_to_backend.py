"""One trace across processes: the React app's fetch reaches the FastAPI backend.

The browser propagates `sentry-trace` and `baggage` to the API (a different origin, so CORS
must let them through); the backend continues the trace. `sentry_stub.trace(trace_id)` then
holds the frontend's spans and the backend's transaction, in their own projects.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from client_tests.backend.running import StartBackend
from client_tests.frontend.test_frontend_sentry import eventually, leave_page, origin
from sentry_stub.view import StubView


def test_browser_trace_continues_in_the_api(
    sentry_stub: StubView, start_backend: StartBackend, serve_frontend, page: Page
) -> None:
    backend_settings = {
        "SENTRY_DSN": sentry_stub.dsn_for("agentsflowai-backend"),
        "SENTRY_ENVIRONMENT": "development",
        "SENTRY_RELEASE": "agentsflowai-backend@1.0.0",
        "SENTRY_TRACES_SAMPLE_RATE": "1.0",
        "SENTRY_PROFILES_SAMPLE_RATE": "0",
        "SENTRY_ENABLE_TRACING": "true",
        "CORS_ORIGINS": "*",
    }
    backend = start_backend(backend_settings)
    page_url = serve_frontend(
        {
            "VITE_SENTRY_DSN": sentry_stub.dsn_for("agentsflowai-frontend"),
            "VITE_SENTRY_ENVIRONMENT": "development",
            "VITE_SENTRY_RELEASE": "agentsflowai-frontend@1.0.0",
            "VITE_SENTRY_TRACES_SAMPLE_RATE": "1.0",
            "VITE_API_URL": backend.url,
        }
    )
    assert origin(page_url) != backend.url  # a cross-origin call, as in production

    with page.expect_request(f"{backend.url}/api/users") as api_call:
        page.goto(f"{page_url}?call-api")  # the app fetches its data while the page loads
    page.wait_for_selector("#api-status:has-text('200')")
    sent = api_call.value.headers
    trace_id = sent["sentry-trace"].split("-")[0]
    assert f"sentry-trace_id={trace_id}" in sent["baggage"]
    leave_page(page)  # the browser ends and sends its pageload span when the page is hidden

    [transaction] = sentry_stub.wait_for(
        f"event.type:transaction transaction:/api/users trace:{trace_id}",
        project="agentsflowai-backend",
    )
    trace = sentry_stub.trace(trace_id)
    assert trace.transactions == [transaction]
    # The backend's transaction hangs under the browser's span that made the request.
    parent = transaction.contexts["trace"]["parent_span_id"]
    assert parent == sent["sentry-trace"].split("-")[1]
    [http_span] = eventually(
        lambda: [s for s in sentry_stub.trace(trace_id).spans if s["span_id"] == parent],
        timeout=10,
    )
    assert http_span.project == "agentsflowai-frontend"
    assert http_span["op"] == "http.client"
    [pageload] = [s for s in sentry_stub.trace(trace_id).spans if s["op"] == "pageload"]
    assert http_span["parent_span_id"] == pageload["span_id"]
    assert sentry_stub.trace(trace_id).projects == {
        "agentsflowai-frontend",
        "agentsflowai-backend",
    }

    # The stub's web UI draws both projects' spans in one waterfall, browser pageload -> fetch
    # -> FastAPI transaction -> db query, each with its op and description as text.
    page.goto(f"{sentry_stub.url}/#/traces/{trace_id}")
    labels = page.locator(".waterfall .span-label")
    expect(labels.filter(has_text="db.query")).not_to_have_count(0)
    order = [label.split(" ", 1)[0] for label in labels.all_text_contents()]
    assert order.index("pageload") < order.index("http.client") < order.index("http.server")
    assert order.index("http.server") < order.index("db.query")
    fetch = page.locator(".span-row", has=page.locator(".op", has_text="http.client"))
    expect(fetch.locator(".description")).to_have_text("GET 127.0.0.1")  # as JS SDK 11 names it
    expect(fetch.locator(".project")).to_have_text("agentsflowai-frontend")
    server = page.locator(".span-row", has=page.locator(".op", has_text="http.server"))
    expect(server.locator(".description")).to_have_text("/api/users")
    expect(server.locator(".project")).to_have_text("agentsflowai-backend")
