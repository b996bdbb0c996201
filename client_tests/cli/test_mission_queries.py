"""The guide's Discover queries, run with `sentry-stub query` over data sent by the real sentry-sdk.

Known traffic goes in; each query's numbers are worked out by hand below.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sentry_sdk

from client_tests.support import sentry_client
from sentry_stub import StubServer
from sentry_stub.client import StubClient
from sentry_stub.view import StubView

START = datetime(2026, 1, 1, tzinfo=UTC)


def _error(message: str, *, transaction: str, environment: str, **context) -> None:
    with sentry_sdk.new_scope() as scope:
        scope.set_transaction_name(transaction)
        scope.add_event_processor(lambda event, hint: {**event, "environment": environment})
        for key, value in context.get("tags", {}).items():
            scope.set_tag(key, value)
        if "user" in context:
            scope.set_user(context["user"])
        if "browser" in context:
            scope.set_context("browser", {"name": context["browser"]})
        sentry_sdk.capture_exception(RuntimeError(message))


def _transaction(name: str, duration_ms: int, *, db_table: str | None = None) -> None:
    transaction = sentry_sdk.start_transaction(op="http.server", name=name, start_timestamp=START)
    with transaction:
        if db_table is not None:
            span = transaction.start_child(
                op="db.query", name=f"SELECT * FROM {db_table}", start_timestamp=START
            )
            span.set_data("db.table", db_table)
            span.finish(end_timestamp=START + timedelta(milliseconds=duration_ms / 2))
        transaction.finish(end_timestamp=START + timedelta(milliseconds=duration_ms))


@pytest.fixture(scope="module")
def server() -> Iterator[StubServer]:
    with (
        StubServer() as server,
        sentry_client(server.dsn, default_integrations=False, traces_sample_rate=1.0),
    ):
        view = StubView(StubClient(server.url))
        for _ in range(3):
            _error("boom", transaction="/api/checkout", environment="production")
        _error("boom", transaction="/api/users", environment="production")
        _error("boom", transaction="/api/users", environment="staging")
        for email, times in (("mallory@example.com", 2), ("alice@example.com", 1)):
            for _ in range(times):
                _error(
                    "authentication failed for user",
                    transaction="/api/login",
                    environment="production",
                    user={"id": email.split("@")[0], "email": email},
                )
        for connection_id, times in (("c-1", 2), ("c-2", 1)):
            for _ in range(times):
                _error(
                    "socket closed",
                    transaction="/ws",
                    environment="production",
                    tags={"websocket": "true", "connection_id": connection_id},
                    user={"id": "bob"},
                )
        _error("render failed", transaction="/app", environment="production", browser="Chrome")
        _error("render failed", transaction="/app", environment="production", browser="Firefox")
        _error("render failed", transaction="/app", environment="production", browser="Chrome")
        for duration in (100, 200, 300, 400, 500):
            _transaction("/api/users", duration)
        _transaction("/api/report", 3000, db_table="orders")
        _transaction("/api/report", 2000, db_table="orders")
        _transaction("/api/export", 1500, db_table="users")
        _transaction("/health", 10_000)
        sentry_sdk.flush()
        view.wait_for("event.type:error", count=14)
        view.wait_for("event.type:transaction", count=9)
        yield server


def stub_query(server: StubServer, query: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sentry_stub", "query", query, "--url", server.url, *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )


def rows(server: StubServer, query: str) -> list[dict]:
    result = stub_query(server, query, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["data"]


def test_error_rate_by_endpoint(server: StubServer) -> None:
    query = (
        "event.type:error AND transaction:* AND environment:production"
        " | count() by transaction | sort by count DESC"
    )
    # Ties keep a stable order: by the group's value, ascending.
    assert rows(server, query) == [
        {"transaction": "/api/checkout", "count()": 3},
        {"transaction": "/api/login", "count()": 3},
        {"transaction": "/app", "count()": 3},
        {"transaction": "/ws", "count()": 3},
        {"transaction": "/api/users", "count()": 1},
    ]


def test_slow_database_queries_by_table(server: StubServer) -> None:
    query = (
        "event.type:transaction AND op:db.query AND transaction.duration:>1000"
        " | avg(transaction.duration) by db.table | sort by avg DESC"
    )
    assert rows(server, query) == [
        {"db.table": "orders", "avg(transaction.duration)": 2500.0},
        {"db.table": "users", "avg(transaction.duration)": 1500.0},
    ]


def test_failed_authentication_attempts(server: StubServer) -> None:
    query = (
        'event.type:error AND message:"authentication failed" AND environment:production'
        " | count() by user.email | sort by count DESC"
    )
    assert rows(server, query) == [
        {"user.email": "mallory@example.com", "count()": 2},
        {"user.email": "alice@example.com", "count()": 1},
    ]


def test_websocket_connection_failures(server: StubServer) -> None:
    query = (
        "event.type:error AND tags.websocket:* AND environment:production"
        " | count() by tags.connection_id | sort by count DESC"
    )
    result = rows(server, query)
    # `tags.websocket:*` matches every event, as in Sentry (a missing tag reads as empty): the
    # events without a connection id group under an empty one.
    by_connection = {row["tags.connection_id"]: row["count()"] for row in result}
    assert by_connection == {"c-1": 2, "c-2": 1, "": 10}
    warnings = json.loads(stub_query(server, query, "--json").stdout)["warnings"]
    assert any("has:" in warning for warning in warnings)


def test_frontend_errors_by_browser(server: StubServer) -> None:
    query = "event.type:error AND browser.name:* | count() by browser.name"
    by_browser = {row["browser.name"]: row["count()"] for row in rows(server, query)}
    assert by_browser["Chrome"] == 2
    assert by_browser["Firefox"] == 1


def test_api_response_time_p95(server: StubServer) -> None:
    query = "event.type:transaction AND transaction:/api/* | p95(transaction.duration)"
    # /api/* durations: 100..500 (users), 3000, 2000 (report), 1500 (export); /health excluded.
    # Sorted: 100 200 300 400 500 1500 2000 3000; p95 at 0.95 * 7 = 6.65 -> 2000 + 0.65 * 1000.
    [row] = rows(server, query)
    assert row["p95(transaction.duration)"] == pytest.approx(2650.0)


def test_user_impact(server: StubServer) -> None:
    [row] = rows(server, "event.type:error | count_unique(user.id)")
    assert row == {"count_unique(user.id)": 3}  # mallory, alice, bob


def test_table_output_and_syntax_errors(server: StubServer) -> None:
    table = stub_query(server, "event.type:error | count_unique(user.id)")
    assert table.returncode == 0
    assert table.stdout.splitlines()[0].strip() == "count_unique(user.id)"
    assert "(1 row)" in table.stdout
    bad = stub_query(server, "event.type:error | count(")
    assert bad.returncode == 1
    assert "column" in bad.stderr
