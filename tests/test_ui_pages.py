"""The UI's Issues, Traces and Logs pages in headless Chromium, fed by the real sentry-sdk.

The fixtures (one server per module, a fresh browser context per test) are test_ui's.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
import sentry_sdk
from playwright.sync_api import Browser, expect

from sentry_stub import StubServer
from sentry_stub.client import StubClient
from tests.test_ui import UI, XSS, api, browser, sdk, stub, table_rows, ui

__all__ = ["api", "browser", "stub", "ui"]  # fixtures, used by name


def send_checkout_trace(
    dsn: str, name: str = "POST /checkout", description: str = "SELECT * FROM orders"
) -> str:
    """A transaction with a db span, an error and a log line inside it; returns the trace id."""
    with (
        sdk(dsn, traces_sample_rate=1.0, enable_logs=True, release="shop@1.2.3"),
        sentry_sdk.start_transaction(op="http.server", name=name) as transaction,
    ):
        with sentry_sdk.start_span(op="db", name=description) as span:
            span.set_data("db.system", "postgresql")
            span.set_status("deadline_exceeded")
        sentry_sdk.logger.warning("payment slow for order {order}", order=XSS)
        try:
            raise ValueError("card declined")
        except ValueError:
            sentry_sdk.capture_exception()
        trace_id = transaction.trace_id
    return trace_id


def test_navigation_has_issues_traces_and_logs_beside_the_other_pages(ui: UI) -> None:
    ui.open("/events")
    names = ui.page.locator("header nav a").all_text_contents()
    assert names == [
        *("Issues", "Events", "Traces", "Logs", "Insights", "Releases", "Alerts"),
        *("Envelopes", "Discover", "Projects"),
    ]
    for name in ("Issues", "Traces", "Logs", "Insights", "Releases", "Alerts"):
        ui.page.get_by_role("link", name=name, exact=True).click()
        expect(ui.page.locator("h1")).to_have_text(name)
        expect(ui.page.locator("nav a.active")).to_have_text(name)
    assert ui.console_errors == []


def test_a_trace_lists_and_draws_its_spans_errors_and_logs(ui: UI, stub: StubServer) -> None:
    trace_id = send_checkout_trace(stub.dsn)

    ui.open("/traces")
    [row] = table_rows(ui.page, "table.traces")
    assert row[1:3] == ["POST /checkout", "http.server"]
    assert row[4:] == ["2", "1", "default"]  # spans, errors, projects
    ui.page.get_by_role("link", name="POST /checkout").click()

    expect(ui.page.locator("h1.title code")).to_have_text(trace_id)
    labels = ui.page.locator(".waterfall .span-label")
    expect(labels).to_have_text(["http.server POST /checkout", "db SELECT * FROM orders"])
    ui.page.get_by_role("button", name="db SELECT * FROM orders").click()
    detail = table_rows(ui.page, ".span-detail table")
    assert ["Op", "db"] in detail and ["Status", "deadline_exceeded"] in detail
    assert ["db.system", "postgresql"] in table_rows(ui.page, ".span-detail div table")
    assert table_rows(ui.page, "table.errors")[0][1] == "ValueError: card declined"
    [log] = table_rows(ui.page, "table.logs")
    assert log[1:4] == ["warn", f"payment slow for order {XSS}", "default"]


def test_an_errors_trace_id_opens_its_trace_and_release_lists_its_events(
    ui: UI, stub: StubServer, api: StubClient
) -> None:
    trace_id = send_checkout_trace(stub.dsn)
    [error] = [e for e in api.events() if e["type"] == "error"]

    ui.open(f"/events/{error['event_id']}")
    ui.page.get_by_role("link", name=trace_id).click()
    expect(ui.page.locator("h1.title code")).to_have_text(trace_id)
    expect(ui.page.locator(".waterfall .span-label").first).to_have_text(
        "http.server POST /checkout"
    )

    ui.page.go_back()
    ui.page.locator(".facts").get_by_role("link", name="shop@1.2.3").click()
    expect(ui.page.get_by_role("searchbox", name="Search")).to_have_value('release:"shop@1.2.3"')
    expect(ui.page.locator("table.events tbody tr")).to_have_count(2)  # the error, the transaction


def test_the_logs_page_lists_sentry_sdk_logger_messages_with_filters(
    ui: UI, stub: StubServer
) -> None:
    with sdk(stub.dsn, enable_logs=True):
        sentry_sdk.logger.info("cache warmed in {ms} ms", ms=12)
        sentry_sdk.logger.error("payment provider down")
    ui.open("/logs")
    messages = [row[2] for row in table_rows(ui.page, "table.logs")]
    assert messages == ["payment provider down", "cache warmed in 12 ms"]

    ui.page.get_by_role("combobox", name="Level").select_option("error")
    ui.page.get_by_role("button", name="Filter").click()
    expect(ui.page.locator("table.logs tbody tr")).to_have_count(1)
    ui.page.get_by_role("combobox", name="Level").select_option("")
    ui.page.get_by_role("searchbox", name="Search logs").fill("CACHE")
    ui.page.get_by_role("button", name="Filter").click()
    # The level filter also left one row: wait for this filter's row, not for a count of one.
    expect(ui.page.locator("table.logs tbody tr")).to_contain_text(["cache warmed in 12 ms"])
    assert [row[2] for row in table_rows(ui.page, "table.logs")] == ["cache warmed in 12 ms"]


def test_issues_group_events_with_counts(ui: UI, stub: StubServer) -> None:
    for user in ({"id": "user-42"}, {"id": "user-42"}, {"email": "ada@example.com"}):
        with sdk(stub.dsn):
            sentry_sdk.set_user(user)
            try:
                raise ValueError("card declined")
            except ValueError:
                sentry_sdk.capture_exception()
    ui.open("/issues")
    [row] = table_rows(ui.page, "table.issues")
    assert row[1:5] == ["ValueError: card declined", "error", "3", "2"]
    ui.page.get_by_role("link", name="ValueError: card declined").click()
    expect(ui.page.locator("h1.title")).to_have_text("ValueError: card declined")


def test_markup_stays_text_on_the_issues_traces_and_logs_pages(ui: UI, stub: StubServer) -> None:
    trace_id = send_checkout_trace(stub.dsn, name=XSS, description=XSS)
    with sdk(stub.dsn):
        sentry_sdk.capture_message(XSS, level="error")

    for route in ("/issues", "/traces", f"/traces/{trace_id}", "/logs", "/insights"):
        ui.open(route)
        expect(ui.page.locator("main")).to_contain_text(XSS)
        assert ui.page.locator("main img").count() == 0
    ui.open(f"/traces/{trace_id}")
    ui.page.get_by_role("button", name=f"db {XSS}").click()
    expect(ui.page.locator(".span-detail h3").first).to_have_text(f"db: {XSS}")
    assert ui.page.locator("main img").count() == 0
    assert ui.page.evaluate("window.__xss") is None
    assert ui.console_errors == []


def test_a_pii_finding_is_marked_on_the_event_page(ui: UI, stub: StubServer) -> None:
    # A card number in free text: sentry-sdk's scrubber (by key) lets it through, Relay's does not.
    def with_signup_request(event: dict, _hint: dict) -> dict:
        event["request"] = {"method": "POST", "data": {"note": "card 4111 1111 1111 1111"}}
        return event

    with sdk(stub.dsn), sentry_sdk.new_scope() as scope:  # the processor ends with the block
        scope.add_event_processor(with_signup_request)
        event_id = sentry_sdk.capture_message("signup failed")

    ui.open(f"/events/{event_id}")
    findings = table_rows(ui.page, "table.pii-findings")
    assert [row[:2] for row in findings] == [["request.data.note", "@creditcard:filter"]]
    request = ui.page.locator("section:has(h2:text-is('Request')) table")
    expect(request.locator(".badge.pii")).to_have_count(1)
    expect(request.locator("tr", has_text="data").locator(".badge.pii")).to_have_text("PII")


def test_the_screenshot_script_photographs_every_new_page(tmp_path: Path) -> None:
    script = Path(__file__).parent.parent / "scripts" / "screenshots.py"
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, timeout=120)

    for name in ("issues", "traces", "trace", "logs", "insights", "releases", "event"):
        header = (tmp_path / f"{name}.png").read_bytes()[:24]
        assert header[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", header[16:24]) == (1400, 900)  # the IHDR's width, height


def test_empty_pages_show_the_dsn_and_the_init_line_they_need(ui: UI, stub: StubServer) -> None:
    expected = {
        "/issues": f'sentry_sdk.init(dsn="{stub.dsn}")',
        "/traces": f'sentry_sdk.init(dsn="{stub.dsn}", traces_sample_rate=1.0)',
        "/logs": f'sentry_sdk.init(dsn="{stub.dsn}", enable_logs=True)\n'
        'sentry_sdk.logger.info("checkout started")',
    }
    for route, init in expected.items():
        ui.open(route)
        expect(ui.page.locator(".empty-state .dsn code")).to_have_text(stub.dsn)
        expect(ui.page.locator(".empty-state .snippet pre")).to_have_text(init)


def test_insights_rank_database_queries_by_average_duration(ui: UI, stub: StubServer) -> None:
    send_checkout_trace(stub.dsn, description="SELECT * FROM orders")
    send_checkout_trace(stub.dsn, description="SELECT * FROM orders")
    with (
        sdk(stub.dsn, traces_sample_rate=1.0),
        sentry_sdk.start_transaction(op="task", name="nightly report"),
        sentry_sdk.start_span(op="db.query", name="SELECT pg_sleep(0.05)"),
    ):
        time.sleep(0.05)

    ui.open("/insights")
    rows = table_rows(ui.page, "table.db-queries")
    assert [row[:3] for row in rows] == [
        ["SELECT pg_sleep(0.05)", "db.query", "1"],
        ["SELECT * FROM orders", "db", "2"],
    ]


def test_release_health_counts_sessions_per_release_and_environment(
    ui: UI, stub: StubServer
) -> None:
    """Three sessions of shop@2.0: one clean, one with a handled error, one crashed."""
    for user, outcome in (("ada", "exited"), ("bob", "errored"), ("cy", "crashed")):
        with sdk(stub.dsn, release="shop@2.0", auto_session_tracking=False):
            scope = sentry_sdk.get_isolation_scope()
            scope.set_user({"id": user})
            scope.start_session(session_mode="application")
            session = scope._session
            assert session is not None
            if outcome != "exited":
                session.update(errors=1, status="crashed" if outcome == "crashed" else None)
            scope.end_session()

    ui.open("/releases")
    [row] = table_rows(ui.page, "table.release-health")
    assert row == ["shop@2.0", "production", "3", "1", "1", "1", "0", "66.7%", "3", "66.7%"]
    ui.page.locator("table.release-health").get_by_role("link", name="shop@2.0").click()
    expect(ui.page.get_by_role("searchbox", name="Search")).to_have_value('release:"shop@2.0"')


@pytest.mark.parametrize("width, height", [(1400, 900), (800, 900)])
def test_the_new_pages_fit_the_window_width(
    ui: UI, stub: StubServer, width: int, height: int
) -> None:
    trace_id = send_checkout_trace(stub.dsn, description="SELECT " + "column, " * 40 + "id")
    ui.page.set_viewport_size({"width": width, "height": height})
    routes = ("/issues", "/traces", f"/traces/{trace_id}", "/logs", "/insights", "/releases")
    for route in (*routes, "/alerts", "/projects"):
        ui.open(route)
        overflow = ui.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{route} is {overflow} px wider than a {width} px window"
        nav = ui.page.locator("header nav a").last.bounding_box()
        assert nav is not None and nav["x"] + nav["width"] <= width


def test_the_rows_behind_the_pages_filter_by_trace_and_come_newest_first(stub: StubServer) -> None:
    first = send_checkout_trace(stub.dsn)
    second = send_checkout_trace(stub.dsn, description="SELECT 2")
    with httpx.Client(base_url=f"{stub.url}/stub/api") as client:
        spans = client.get("/rows/spans", params={"trace": second.upper()}).json()["data"]
        logs = client.get("/rows/logs", params={"order": "desc"}).json()["data"]
        outcomes = client.get("/rows/outcomes", params={"trace": second}).json()["data"]
        traces = client.get("/traces").json()["data"]

    assert {span["trace_id"] for span in spans} == {second}
    assert [span["description"] for span in spans] == ["POST /checkout", "SELECT 2"]
    assert [log["trace_id"] for log in logs] == [second, first]
    assert outcomes == []  # client reports belong to no trace
    assert [trace["trace_id"] for trace in traces] == [second, first]


def test_a_transactions_page_lists_its_errors_and_logs(
    ui: UI, stub: StubServer, api: StubClient
) -> None:
    trace_id = send_checkout_trace(stub.dsn, name=XSS)
    with sdk(stub.dsn):
        # Another trace, but an error naming the transaction: related too.
        sentry_sdk.get_current_scope().set_transaction_name(XSS)
        sentry_sdk.capture_exception(TimeoutError("retry failed"))
    with sdk(stub.dsn):
        sentry_sdk.capture_exception(TimeoutError("unrelated"))
    [transaction] = [e for e in api.events() if e["type"] == "transaction"]

    ui.open(f"/events/{transaction['event_id']}")
    errors = table_rows(ui.page, "table.related-errors")
    titles = ["TimeoutError: retry failed", "ValueError: card declined"]
    assert sorted(row[1] for row in errors) == titles
    [log] = table_rows(ui.page, "table.logs")
    assert log[1:4] == ["warn", f"payment slow for order {XSS}", "default"]
    assert ui.page.locator("main img").count() == 0

    ui.page.get_by_role("link", name="TimeoutError: retry failed").click()
    expect(ui.page.locator("h1.title")).to_have_text("TimeoutError: retry failed")
    ui.page.go_back()
    ui.page.locator("section:has(h2:text-is('Errors of this transaction')) p a").click()
    expect(ui.page.get_by_role("searchbox", name="Search")).to_have_value(
        f"event.type:error (trace:{trace_id} OR transaction:{json.dumps(XSS)})"
    )
    expect(ui.page.locator("table.events tbody tr")).to_have_count(2)
    assert ui.page.evaluate("window.__xss") is None
    assert ui.console_errors == []


def test_projects_show_the_release_naming_and_sample_rate_checks(ui: UI, stub: StubServer) -> None:
    send_checkout_trace(stub.dsn)  # release shop@1.2.3, environment production
    with sdk(stub.dsn, release=XSS, environment="qa"):
        sentry_sdk.capture_exception(TimeoutError("retry failed"))

    ui.open("/projects")
    check = ui.page.locator(".release-check")
    expect(check.locator("h3 .verdict")).to_have_text("failed")
    expect(check).to_contain_text(f"Releases seen: shop@1.2.3 (2), {XSS} (1)")
    problems = table_rows(ui.page, "table.release-problems")
    assert {(row[1], row[2]) for row in problems} == {("release", XSS), ("environment", "qa")}
    assert ui.page.locator("main img").count() == 0

    ui.page.get_by_role("textbox", name="Expected sample rate").fill("1")
    ui.page.get_by_role("button", name="Check sample rate").click()
    report = ui.page.locator(".sampling-report")
    expect(report.locator("p .verdict")).to_have_text("passed")
    assert ["Kept", "1"] in table_rows(ui.page, ".sampling-report table")
    ui.page.get_by_role("textbox", name="Expected sample rate").fill("0.1")
    ui.page.get_by_role("button", name="Check sample rate").click()
    expect(report.locator("p .verdict")).to_have_text("failed")
    expect(report.locator("li").first).to_contain_text("no client report arrived at all")
    assert ui.page.evaluate("window.__xss") is None
    assert ui.console_errors == []


def test_the_alerts_page_lists_alerts_fired_and_fault_rules(
    browser: Browser, tmp_path: Path
) -> None:
    config = tmp_path / "alerts.toml"
    config.write_text(
        f"[[alerts]]\nname = {json.dumps(XSS)}\nconditions = [{{ id = 'first_seen' }}]\n"
    )
    with StubServer(config=config) as server:
        StubClient(server.url).add_fault(
            {"kind": "delay", "seconds": 0.01, "categories": ["profile"]}
        )
        with sdk(server.dsn):
            event_id = sentry_sdk.capture_exception(TimeoutError(XSS))
        context = browser.new_context()
        try:
            page = context.new_page()
            ui = UI(page, server.url)
            page.on("pageerror", lambda error: ui.console_errors.append(str(error)))
            ui.open("/alerts")
            [alert] = table_rows(page, "table.alerts")
            assert alert[1:5] == [XSS, "issue", "triggered", "default"]
            page.get_by_role("link", name=event_id[:8]).click()
            expect(page.locator("h1.title")).to_have_text(f"TimeoutError: {XSS}")
            page.go_back()
            expect(page.locator("table.faults tbody tr")).to_have_count(1)
            [fault] = table_rows(page, "table.faults")
            assert fault[1:6] == ["delay", "all", "profile", "0", "active"]
            assert '"seconds":0.01' in fault[7]
            assert page.locator("main img").count() == 0
            assert page.evaluate("window.__xss") is None
            assert ui.console_errors == []
        finally:
            context.close()


def test_pii_findings_are_marked_on_contexts_and_extra(ui: UI, stub: StubServer) -> None:
    with sdk(stub.dsn):
        sentry_sdk.set_extra("note", "card 4111 1111 1111 1111")
        sentry_sdk.set_extra("order", XSS)
        sentry_sdk.set_context("payment", {"card": "4111 1111 1111 1111", "amount": XSS})
        event_id = sentry_sdk.capture_message("checkout failed")

    ui.open(f"/events/{event_id}")
    paths = [row[0] for row in table_rows(ui.page, "table.pii-findings")]
    assert sorted(paths) == ["contexts.payment.card", "extra.note"]
    for heading, key in (("Extra", "note"), ("Contexts", "card")):
        block = ui.page.locator(f"section:has(h2:text-is('{heading}')) table")
        expect(block.locator(".badge.pii")).to_have_count(1)
        expect(block.locator("tr", has_text=key).locator(".badge.pii")).to_have_text("PII")
    expect(ui.page.locator("section:has(h2:text-is('Extra'))")).to_contain_text(XSS)
    assert ui.page.locator("main img").count() == 0
    assert ui.page.evaluate("window.__xss") is None
    assert ui.console_errors == []


def send_pageload(dsn: str, page: str, **vitals: float) -> None:
    """A browser pageload transaction as @sentry/browser sends it, with web vitals."""
    now = time.time()
    units = {"cls": "none"}
    with sdk(dsn, traces_sample_rate=1.0):
        sentry_sdk.capture_event(
            {
                "type": "transaction",
                "transaction": page,
                "platform": "javascript",
                "start_timestamp": now - 1,
                "timestamp": now,
                "contexts": {
                    "trace": {"trace_id": uuid.uuid4().hex, "span_id": "a" * 16, "op": "pageload"}
                },
                "spans": [],
                "measurements": {
                    name: {"value": value, "unit": units.get(name, "millisecond")}
                    for name, value in vitals.items()
                },
            }
        )


def test_insights_show_the_p75_web_vitals_of_each_page(ui: UI, stub: StubServer) -> None:
    for lcp, cls, ttfb in ((1000, 0.01, 2000), (2000, 0.02, 2000), (3000, 0.03, 2000)):
        send_pageload(stub.dsn, "/checkout", lcp=lcp, cls=cls, ttfb=ttfb)
    send_pageload(stub.dsn, "/checkout", lcp=5000, cls=0.04, ttfb=2000)
    send_pageload(stub.dsn, XSS, fcp=900)

    ui.open("/insights")
    rows = {row[0]: row[1:] for row in table_rows(ui.page, "table.web-vitals")}
    assert rows["/checkout"] == [
        *("4", "3500 ms (needs improvement)", ""),
        *("0.033 (good)", "2000 ms (poor)", ""),
    ]
    assert rows[XSS] == ["1", "", "900 ms (good)", "", "", ""]
    ui.page.get_by_role("link", name="/checkout").click()
    expect(ui.page.get_by_role("searchbox", name="Search")).to_have_value('transaction:"/checkout"')
    expect(ui.page.locator("table.events tbody tr")).to_have_count(4)
    assert ui.page.locator("main img").count() == 0
    assert ui.page.evaluate("window.__xss") is None
