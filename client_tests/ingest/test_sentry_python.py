"""The real sentry-sdk against a real ``sentry-stub serve`` process, over HTTP on 127.0.0.1.

Each kind of data the SDK sends is checked through the public query API, with each of the
SDK's transport encodings: brotli (its default when ``brotli`` is installed), gzip, and none.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import pytest
import sentry_sdk
from sentry_sdk import logger as sentry_logger
from sentry_sdk.crons import monitor

from client_tests.support import ServerProcess, sentry_client
from sentry_stub.client import StubClient
from sentry_stub.view import StubView

ENCODINGS = {
    "br": {"transport_compression_algo": "br"},
    "gzip": {"transport_compression_algo": "gzip"},
    "identity": {"transport_compression_level": 0},
}
BINARY = bytes(range(256)) + b"\r\n\x00\n" + "ünï".encode()


@pytest.fixture(params=sorted(ENCODINGS))
def encoding(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def view(stub_process: ServerProcess) -> StubView:
    return StubView(StubClient(stub_process.url))


@contextlib.contextmanager
def sdk(dsn: str, encoding: str = "gzip", **options) -> Iterator[None]:
    """The SDK as the backend configures it, with one of its transport encodings."""
    with sentry_client(
        dsn,
        release="agentsflowai-backend@1.0.0",
        environment="staging",
        default_integrations=False,
        _experiments=ENCODINGS[encoding],
        **options,
    ):
        yield


def test_error_with_tags_user_request_and_breadcrumbs(view: StubView, encoding: str) -> None:
    with sdk(view.dsn, encoding):
        sentry_sdk.set_tag("http.status_code", "500")
        sentry_sdk.set_tag("websocket", "true")
        sentry_sdk.set_user({"id": "user-42", "email": "dev@example.com"})
        sentry_sdk.add_breadcrumb(category="ui.click", message="clicked save", level="info")
        with sentry_sdk.new_scope() as scope:
            scope.set_context("request", {"url": "http://127.0.0.1/api/save", "method": "POST"})
            try:
                raise ZeroDivisionError("division by zero in /api/save")
            except ZeroDivisionError:
                event_id = sentry_sdk.capture_exception()

    [event] = view.wait_for(f"id:{event_id}")
    assert event.type == "error"
    assert event.release == "agentsflowai-backend@1.0.0"
    assert event.environment == "staging"
    assert event.tags["http.status_code"] == "500"
    assert event.tags["websocket"] == "true"
    assert event.user["id"] == "user-42"
    assert event.exception[-1]["type"] == "ZeroDivisionError"
    assert event.exception[-1]["value"] == "division by zero in /api/save"
    assert [b["message"] for b in event.breadcrumbs] == ["clicked save"]
    assert event.stored is not None, event.stored_error
    assert event.stored["level"] == "error"
    [envelope] = [e for e in view.envelopes() if e.event_id == event_id]
    assert envelope.headers["event_id"] == event_id
    assert envelope.headers["sent_at"].endswith("Z")
    assert event["sdk"]["name"] == "sentry.python"
    assert envelope.raw.startswith(b"{")  # stored decompressed, byte for byte


def test_transaction_with_spans(view: StubView, encoding: str) -> None:
    with (
        sdk(view.dsn, encoding, traces_sample_rate=1.0),
        sentry_sdk.start_transaction(op="http.server", name="/api/users"),
        sentry_sdk.start_span(op="db.query", name="SELECT * FROM users") as span,
    ):
        span.set_data("db.table", "users")
        time.sleep(0.01)

    [transaction] = view.wait_for("event.type:transaction transaction:/api/users")
    spans = [s for s in view.spans() if s["transaction_name"] == "/api/users"]
    ops = sorted(s["op"] for s in spans)
    assert ops == ["db.query", "http.server"]
    db_span = next(s for s in spans if s["op"] == "db.query")
    assert db_span["duration"] >= 10
    assert db_span["data"]["db.table"] == "users"
    [envelope] = [e for e in view.envelopes() if e.event_id == transaction.event_id]
    assert envelope.headers["trace"]["sample_rate"] == "1.0"


def test_sessions(view: StubView, encoding: str) -> None:
    with sdk(view.dsn, encoding, auto_session_tracking=False):
        sentry_sdk.get_isolation_scope().start_session(session_mode="application")
        sentry_sdk.get_isolation_scope().end_session()

    deadline = time.monotonic() + 5
    while not view.sessions() and time.monotonic() < deadline:
        time.sleep(0.05)
    [session] = view.sessions()
    assert session.payload["attrs"]["release"] == "agentsflowai-backend@1.0.0"
    assert session.payload["attrs"]["environment"] == "staging"


def test_client_report_counts_before_send_drops(view: StubView, encoding: str) -> None:
    with sdk(view.dsn, encoding, before_send=lambda event, hint: None, send_client_reports=True):
        sentry_sdk.capture_message("dropped by before_send")
        sentry_sdk.capture_message("dropped too")
        # Client reports ride along with the next envelope or the final flush.
        sentry_sdk.get_client().transport._flush_client_reports(force=True)

    deadline = time.monotonic() + 5
    while not view.discards() and time.monotonic() < deadline:
        time.sleep(0.05)
    discards = [(d["reason"], d["category"], d["quantity"]) for d in view.discards()]
    assert ("before_send", "error", 2) in discards
    assert view.events() == []


def test_binary_attachment_is_byte_exact(view: StubView, encoding: str) -> None:
    with sdk(view.dsn, encoding), sentry_sdk.new_scope() as scope:
        scope.add_attachment(bytes=BINARY, filename="dump.bin", content_type="application/x-bin")
        event_id = sentry_sdk.capture_message("with attachment")

    view.wait_for(f"id:{event_id}")
    [attachment] = view.attachments()
    assert attachment.content == BINARY
    assert attachment.filename == "dump.bin"
    assert attachment.content_type == "application/x-bin"
    assert attachment.attachment_type == "event.attachment"
    assert attachment.event_id == event_id


def test_cron_check_ins(view: StubView, encoding: str) -> None:
    with sdk(view.dsn, encoding):

        @monitor(monitor_slug="nightly-report")
        def nightly() -> None:
            time.sleep(0.01)

        nightly()

    deadline = time.monotonic() + 5
    while len(view.check_ins()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    statuses = [c.payload["status"] for c in view.check_ins()]
    assert statuses == ["in_progress", "ok"]
    assert {c.payload["monitor_slug"] for c in view.check_ins()} == {"nightly-report"}


def test_logs(view: StubView, encoding: str) -> None:
    with sdk(view.dsn, encoding, enable_logs=True):
        sentry_logger.warning("payment {order} failed", order="A-17")

    deadline = time.monotonic() + 5
    while not view.logs() and time.monotonic() < deadline:
        time.sleep(0.05)
    [log] = view.logs()
    assert log["body"] == "payment A-17 failed"
    assert log["level"] == "warn"
    # sentry-python sends it only as the attribute sentry.severity_number; the row reads it there.
    assert log["severity_number"] == 13
    assert log["environment"] == "staging"
    assert log["attributes"]["sentry.message.template"]["value"] == "payment {order} failed"


def test_transaction_profile(view: StubView, encoding: str) -> None:
    with (
        sdk(view.dsn, encoding, traces_sample_rate=1.0, profiles_sample_rate=1.0),
        sentry_sdk.start_transaction(op="task", name="profiled-work"),
    ):
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:
            sum(i * i for i in range(1000))

    view.wait_for("transaction:profiled-work")
    [profile] = view.profiles()
    assert profile.type == "profile"
    assert profile.payload["platform"] == "python"
    assert profile.payload["profile"]["samples"], "the profile has samples"
