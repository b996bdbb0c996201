"""The mission guide's alert and ownership rules (examples/alerts.toml) with the real sentry-sdk.

Each test starts its own server from the example config, with the config's webhook URL pointed at
a real HTTP server on 127.0.0.1 that records what it receives.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sentry_sdk

from client_tests.support import sentry_client
from sentry_stub import StubServer
from sentry_stub.client import StubClient
from sentry_stub.view import StubView

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "alerts.toml"
EXAMPLE_WEBHOOK = "http://127.0.0.1:9099"
BACKEND = "agentsflowai-backend"


class Receiver:
    """A webhook endpoint: a real HTTP server that keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict, dict]] = []
        received = self.received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.path, dict(self.headers), json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[str, dict, dict]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.received)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()


@pytest.fixture
def view(tmp_path: Path, receiver: Receiver) -> Iterator[StubView]:
    config = tmp_path / "alerts.toml"
    config.write_text(EXAMPLE.read_text().replace(EXAMPLE_WEBHOOK, receiver.url))
    with StubServer(config=config) as server:
        yield StubView(StubClient(server.url))


@contextlib.contextmanager
def sdk(view: StubView, environment: str = "production") -> Iterator[None]:
    """The backend's SDK set-up for one block of traffic."""
    with sentry_client(
        view.dsn_for(BACKEND),
        environment=environment,
        release="agentsflowai-backend@1.0.0",
        traces_sample_rate=1.0,
        default_integrations=False,
    ):
        yield


def capture(error: Exception, **tags: str) -> str:
    """Raise ``error`` and report it with ``tags`` on a fresh scope; returns the event id."""
    with sentry_sdk.new_scope() as scope:
        for key, value in tags.items():
            scope.set_tag(key, value)
        try:
            raise error
        except Exception:
            event_id = sentry_sdk.capture_exception()
    assert event_id is not None
    return event_id


def transaction(name: str, duration_ms: float) -> None:
    """A transaction that took ``duration_ms`` and ended now."""
    end = datetime.now(UTC)
    start = end - timedelta(milliseconds=duration_ms)
    sentry_sdk.start_transaction(name=name, op="http.server", start_timestamp=start).finish(
        end_timestamp=end
    )


def test_critical_backend_errors_fire_on_production_500s_only(
    view: StubView, receiver: Receiver
) -> None:
    with sdk(view, "staging"):
        capture(RuntimeError("staging is not production"), **{"http.status_code": "500"})
    with sdk(view):
        capture(KeyError("not a 500"), **{"http.status_code": "404"})
        sentry_sdk.capture_message("a message, not an error")
        event_id = capture(ValueError("boom"), **{"http.status_code": "500"})
    view.wait_for(count=4)

    [alert] = view.alerts("Critical Backend Errors")
    assert alert["event_id"] == event_id
    assert alert["issue"]["title"] == "ValueError: boom"
    slack = next(a for a in alert["actions"] if a["kind"] == "slack")
    assert slack["target"] == "#backend-alerts"
    assert slack["message"]["channel"] == "#backend-alerts"
    assert slack["message"]["text"] == f"[{BACKEND}] ValueError: boom"
    assert slack["delivery"] == {"status": "recorded"}
    assert any("tag http.status_code eq '500': yes" in reason for reason in alert["reasons"])

    [(path, headers, body)] = receiver.wait_for(1)
    assert path == "/sentry-webhook"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("sentry-webhooks/")
    assert body["triggering_rules"] == ["Critical Backend Errors"]
    assert body["project_slug"] == BACKEND and body["level"] == "error"
    assert body["event"]["event_id"] == event_id
    assert ["http.status_code", "500"] in body["event"]["tags"]
    assert body["url"].endswith(f"/issues/{alert['issue_id']}/?referrer=webhooks_plugin")


def test_database_connection_errors_page_on_either_message(
    view: StubView, receiver: Receiver
) -> None:
    with sdk(view, "staging"):
        capture(ConnectionError("connection failed: staging db"))
    with sdk(view):
        sentry_sdk.capture_message("connection failed")  # a message event is not an error
        capture(KeyError("user 42"))
        failed = capture(ConnectionError("connection failed: postgres:5432"))
        timed_out = capture(TimeoutError("query timeout after 30s"))
    view.wait_for(count=5)

    alerts = view.alerts("Database Connection Errors")
    assert [a["event_id"] for a in alerts] == [failed, timed_out]
    pagerduty = next(a for a in alerts[1]["actions"] if a["kind"] == "pagerduty")
    assert pagerduty["message"]["event_action"] == "trigger"
    assert pagerduty["message"]["payload"]["severity"] == "critical"
    assert pagerduty["message"]["payload"]["summary"] == "TimeoutError: query timeout after 30s"
    bodies = [body for _, _, body in receiver.wait_for(2)]
    assert sorted(b["event"]["event_id"] for b in bodies) == sorted([failed, timed_out])
    assert {b["triggering_rules"][0] for b in bodies} == {"Database Connection Errors"}


def test_slow_api_responses_fire_on_the_p95_of_api_transactions(
    view: StubView, receiver: Receiver
) -> None:
    with sdk(view, "staging"):
        transaction("/api/agents", 4000)
    with sdk(view):
        transaction("/health", 4000)  # not /api/*
        for _ in range(3):
            transaction("/api/agents", 100)
    view.wait_for("event.type:transaction", count=5)
    assert view.alerts("Slow API Responses") == []

    with sdk(view):
        transaction("/api/agents", 3000)
        transaction("/api/workflows", 3500)
    view.wait_for("event.type:transaction", count=7)

    [alert] = view.alerts("Slow API Responses")
    assert alert["status"] == "critical"
    assert alert["metric_alert"]["aggregate"] == "p95(transaction.duration)"
    assert alert["value"] > 2000
    email = next(a for a in alert["actions"] if a["kind"] == "email")
    assert email["message"]["to"] == ["team:dev-team"]
    assert email["message"]["subject"] == "Critical: Slow API Responses"
    [(_, headers, body)] = receiver.wait_for(1)
    assert headers["Sentry-Hook-Resource"] == "metric_alert"
    assert body["action"] == "critical"
    assert body["data"]["metric_alert"]["alert_rule"]["query"] == "transaction:/api/*"
    assert body["data"]["description_title"] == "Critical: Slow API Responses"


def test_long_running_transactions_fire_above_5000_ms_in_production(
    view: StubView, receiver: Receiver
) -> None:
    with sdk(view, "staging"):
        transaction("/reports/export", 7000)
    with sdk(view):
        transaction("/reports/export", 1000)
    view.wait_for("event.type:transaction", count=2)
    assert view.alerts("Long-Running Transactions") == []

    with sdk(view):
        transaction("/reports/export", 6000)
    view.wait_for("event.type:transaction", count=3)
    [alert] = view.alerts("Long-Running Transactions")
    assert alert["status"] == "critical" and alert["value"] > 5000
    assert "max(transaction.duration)" in alert["reasons"][0]
    [(_, _, body)] = receiver.wait_for(1)
    assert body["data"]["metric_alert"]["alert_rule"]["aggregate"] == "max(transaction.duration)"
    webhook = alert["actions"][0]
    assert webhook["delivery"]["status"] in ("pending", "delivered")


def test_ownership_assigns_the_mission_teams(view: StubView) -> None:
    backend_code = compile(
        "def connect():\n    raise ConnectionError('connection failed')\n",
        "/srv/agentsflowai/backend/db.py",
        "exec",
    )
    namespace: dict = {"__name__": "backend.db"}
    exec(backend_code, namespace)
    with sdk(view):
        try:
            namespace["connect"]()
        except ConnectionError:
            in_backend = sentry_sdk.capture_exception()
        auth = capture(PermissionError("token expired"), auth_error="expired_token")
        socket = capture(OSError("socket closed"), websocket="disconnect")
        nobody = capture(ValueError("nothing special"))
    events = {event.event_id: event for event in view.wait_for(count=4)}

    assert view.owners(events[in_backend])["owners"] == [
        {"type": "team", "identifier": "backend-team"}
    ]
    assert view.owners(events[auth])["assignee"] == {"type": "team", "identifier": "security-team"}
    assert view.owners(events[socket])["assignee"] == {
        "type": "team",
        "identifier": "realtime-team",
    }
    unowned = view.owners(events[nobody])
    assert unowned["owners"] == [] and unowned["fallthrough"] is True
    as_dict = view.owners({"tags": {"websocket": "x"}}, project="agentsflowai-frontend")
    assert as_dict["rules"][0]["matcher"] == {"type": "tags.websocket", "pattern": "*"}


def test_resolved_issue_comes_back_as_a_regression(tmp_path: Path) -> None:
    config = tmp_path / "regression.toml"
    config.write_text(
        '[[alerts]]\nname = "new"\nconditions = [{ id = "first_seen" }]\n'
        '[[alerts]]\nname = "regressed"\nconditions = [{ id = "regression" }]\n'
    )
    with StubServer(config=config) as server:
        view = StubView(StubClient(server.url))

        def report() -> None:
            with sdk(view):
                capture(ConnectionError("connection failed"))

        report()
        view.wait_for(count=1)
        report()
        view.wait_for(count=2)
        [issue] = view.issues()
        assert issue["times_seen"] == 2
        assert [a["rule"] for a in view.alerts()] == ["new"]
        view.resolve_issue(issue["id"])
        report()
        view.wait_for(count=3)
        assert [a["rule"] for a in view.alerts()] == ["new", "regressed"]
        assert view.issues()[0]["status"] == "unresolved"
