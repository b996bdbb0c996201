"""The event page shows each JavaScript frame resolved through the uploaded source maps, or why
Sentry would show it minified. The fixtures are test_ui's; the build is test_sourcemaps_api's."""

from __future__ import annotations

from playwright.sync_api import expect

from sentry_stub import StubServer
from sentry_stub.client import StubClient
from tests.sending import post_event
from tests.test_sourcemaps_api import RELEASE, js_error, upload_bundle
from tests.test_ui import UI, XSS, browser, stub, ui

__all__ = ["browser", "stub", "ui"]  # fixtures, used by name


def test_the_event_page_shows_each_frame_resolved_or_why_not(ui: UI, stub: StubServer) -> None:
    upload_bundle(stub.url, StubClient(stub.url).projects()[0]["slug"])
    vendor = f"http://127.0.0.1:5173/static/{XSS}.js"
    event = js_error(RELEASE, {"abs_path": vendor, "lineno": 3, "colno": 7, "in_app": True})
    post_event(stub, event)

    ui.open(f"/events/{event['event_id']}")
    resolved = ui.page.locator(".frame .sourcemap.resolved")
    expect(resolved).to_have_count(1)
    expect(resolved.locator("code").first).to_have_text("../src/app.js:1:16")
    expect(resolved.locator("pre .line.current")).to_contain_text("function greet(n)")
    unresolved = ui.page.locator(".frame .sourcemap.unresolved")
    expect(unresolved).to_contain_text("stays minified")
    expect(unresolved).to_contain_text(f"no file at {vendor}")
    expect(unresolved).to_contain_text("nearest uploaded URLs: ~/static/app.min.js")
    assert ui.page.evaluate("window.__xss") is None
    assert ui.console_errors == []
