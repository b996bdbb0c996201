"""The forward state of each envelope on the UI's Envelopes page, in headless Chromium.

Two in-process servers: A forwards its project to B; B refuses the first envelope (a status
fault rule whose detail is markup) and takes the second.
"""

from __future__ import annotations

import time
from pathlib import Path

import sentry_sdk
from playwright.sync_api import Browser, expect

from sentry_stub import StubServer
from sentry_stub.client import StubClient
from tests.test_ui import UI, XSS, browser, sdk

__all__ = ["browser"]  # fixtures, used by name

KEY = "ef" * 16


def test_envelope_cards_show_sent_and_dropped_forwards_as_text(
    browser: Browser, tmp_path: Path
) -> None:
    with StubServer() as upstream:
        StubClient(upstream.url).add_fault(
            {"kind": "status", "status": 400, "detail": XSS, "count": 1}
        )
        config = tmp_path / "a.toml"
        config.write_text(
            f'[[projects]]\nslug = "shop"\nid = 3\nkeys = ["{KEY}"]\n'
            f'forward_to = "{upstream.dsn}"\n'
        )
        with StubServer(config=config) as server:
            stub = StubClient(server.url)
            dsn = f"http://{KEY}@{server.url.removeprefix('http://')}/3"
            with sdk(dsn):
                sentry_sdk.capture_message("refused upstream")
            with sdk(dsn):
                sentry_sdk.capture_message("taken upstream")
            deadline = time.monotonic() + 20
            while stub.forwards()["counts"]["pending"] and time.monotonic() < deadline:
                time.sleep(0.05)
            assert stub.forwards()["counts"] == {"pending": 0, "sent": 1, "dropped": 1}
            context = browser.new_context()
            try:
                page = context.new_page()
                ui = UI(page, server.url)
                page.on("pageerror", lambda error: ui.console_errors.append(str(error)))
                ui.open("/envelopes")
                lines = page.locator("p.forward")
                expect(lines).to_have_count(2)
                sent, dropped = lines.all_text_contents()  # newest first
                assert ui.console_errors == []
                assert page.evaluate("window.__xss") is None
                assert page.locator("main img").count() == 0
            finally:
                context.close()
    assert sent.startswith(f"Forwarded to {upstream.dsn}: sent · HTTP 200 · 1 attempt")
    assert dropped.startswith(f"Forwarded to {upstream.dsn}: dropped · HTTP 400 · 1 attempt")
    assert f'upstream refused it: HTTP 400: {{"detail":"{XSS}"' in dropped.replace("\\", "")
