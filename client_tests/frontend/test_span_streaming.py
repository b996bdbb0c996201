"""@sentry/browser 11.17 (through @sentry/react) streaming spans in headless Chromium.

From version 11 the browser SDK streams spans by default (its client sets ``traceLifecycle`` to
``"stream"`` unless told ``"static"``): it sends no transaction, the pageload and its children
arrive as span v2 items. The span rows answer Sentry's segment fields, and a ``wait_for`` on a
transaction that will never come says so and shows the span query that finds them.
"""

import pytest
from playwright.sync_api import expect

from client_tests.frontend.test_frontend_sentry import eventually, leave_page, staging_env


def streamed_segments(sentry_stub):
    return [span for span in sentry_stub.spans() if span.get("is_transaction")]


def test_streamed_pageload_is_a_segment_span_and_no_transaction(sentry_stub, serve_frontend, page):
    page.goto(serve_frontend(staging_env(sentry_stub)))
    leave_page(page)

    [segment] = eventually(lambda: streamed_segments(sentry_stub), timeout=10)
    items = [item for envelope in sentry_stub.envelopes() for item in envelope.items]
    span_items = [item for item in items if item.type == "span"]
    assert span_items, [item.type for item in items]
    assert span_items[0].headers["content_type"] == "application/vnd.sentry.items.span.v2+json"
    assert "transaction" not in {item.type for item in items}
    assert segment["op"] == "pageload"
    assert segment["segment_id"] == segment["span_id"]
    name = segment["description"]  # the segment span's own name: the SDK says "Pageload"
    assert name
    assert segment["segment_name"] == segment["transaction_name"] == name
    assert segment["environment"] == "staging"
    children = [s for s in sentry_stub.spans() if s["segment_id"] == segment["span_id"]]
    assert len(children) > 1  # the segment and the spans of the page's loading
    assert all(child["segment_name"] == name for child in children)
    assert [child["is_transaction"] for child in children].count(True) == 1

    rows = sentry_stub.query(["transaction", "span.op", "count()"], "is_transaction:true")
    assert rows == [{"transaction": name, "span.op": "pageload", "count()": 1}]
    of_segment = sentry_stub.query(["count()"], f"transaction.span_id:{segment['span_id']}")
    assert of_segment == [{"count()": len(children)}]

    # The web UI lists the trace by its streamed segment and counts its spans. Its row is found
    # by the trace's link: against a shared server (remote mode) other tests' pageloads are
    # listed too, with the same name.
    page.goto(f"{sentry_stub.url}/#/traces")
    link = page.locator(f'a[href="#/traces/{segment["trace_id"]}"]')
    row = page.locator("table.traces tbody tr", has=link)
    expect(row).to_have_count(1)
    expect(link).to_have_text(name)
    expect(row.locator("td").nth(2)).to_have_text("pageload")
    expect(row.locator("td").nth(4)).to_have_text(str(len(children)))


def test_waiting_for_a_transaction_says_the_spans_were_streamed(sentry_stub, serve_frontend, page):
    page.goto(serve_frontend(staging_env(sentry_stub)))
    leave_page(page)
    [segment] = eventually(lambda: streamed_segments(sentry_stub), timeout=10)

    with pytest.raises(AssertionError) as failure:
        sentry_stub.wait_for("event.type:transaction", timeout=0.5)

    report = str(failure.value)
    assert "Streamed spans arrived" in report
    assert f"1 segment(s): {segment['description']!r}" in report
    assert (
        'sentry_stub.query(["transaction", "span.op", "span.duration"], "is_transaction:true")'
        in report
    )
