"""A FastAPI backend set up as the mission's Sentry guide says, run for real against sentry-stub.

Each test starts the app (``app/``) under uvicorn on 127.0.0.1 with one environment profile of
the guide, drives it over HTTP and WebSocket, and reads what reached the ``sentry_stub`` fixture.
The alert and ownership tests use ``mission_stub``, a server with the mission's rules.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from dotenv import dotenv_values
from websockets.sync.client import connect as websocket_connect

from client_tests.backend.app.sentry_setup import (
    FILTERED,
    SENSITIVE_KEYS,
    SentryConfigError,
    sentry_options,
)
from client_tests.backend.running import Backend, StartBackend
from client_tests.support import free_port
from sentry_stub.records import Envelope
from sentry_stub.view import StubView

HERE = Path(__file__).parent
PROJECT = "agentsflowai-backend"
RELEASE = "agentsflowai-backend@1.0.0"
GUIDE_VARIABLES = {
    "SENTRY_DSN",
    "SENTRY_ENVIRONMENT",
    "SENTRY_TRACES_SAMPLE_RATE",
    "SENTRY_PROFILES_SAMPLE_RATE",
    "SENTRY_RELEASE",
    "SENTRY_ENABLE_TRACING",
}
# The guide's "Environment-Specific Configuration": trace sampling per environment.
TRACE_RATES = {"development": 1.0, "staging": 0.5, "production": 0.1}
# Enough requests that the rate is measured well, few enough to stay quick.
REQUESTS = {"development": 50, "staging": 200, "production": 400}
# A true rate falls outside a 99% interval in 1% of runs; the passing checks use a wider one.
STEADY = 0.9999
SECRETS = {
    "password": "hunter2-correct-horse",
    "token": "tok_8f14e45fceea167a",
    "api_key": "ak_live_5a105e8b9d40e132",
    "credit_card": "4111 1111 1111 1111",
}
ORDER = {
    "items": [{"sku": "agent-pro", "quantity": 1}],
    "account": {"email_opt_in": True, "password": SECRETS["password"]},
    "token": SECRETS["token"],
    "api_key": SECRETS["api_key"],
    "payment": {"credit_card": SECRETS["credit_card"], "amount": 49},
}
USER = {"X-User-Id": "42"}
# The app runs inside pytest, so sentry-sdk reports pytest's command line as the process's
# (``pytest -k secret`` would look like a leak); in production it is uvicorn's.
PYTEST_ARGV = "extra.sys.argv"


def settings_for(stub: StubView, environment: str, **variables: str) -> dict[str, str]:
    """The guide's variables for ``environment``, reporting to ``stub``."""
    return {
        "SENTRY_DSN": stub.dsn_for(PROJECT),
        "SENTRY_ENVIRONMENT": environment,
        "SENTRY_TRACES_SAMPLE_RATE": str(TRACE_RATES[environment]),
        "SENTRY_PROFILES_SAMPLE_RATE": "0.0",
        "SENTRY_RELEASE": RELEASE,
        "SENTRY_ENABLE_TRACING": "true",
        **variables,
    }


def checkout(backend: Backend, **headers: str) -> None:
    response = backend.http.post("/api/checkout", json=ORDER, headers={**USER, **headers})
    assert response.status_code == 500


def envelopes_of(stub: StubView, event_ids: set[str]) -> list[Envelope]:
    return [e for e in stub.envelopes() if e.event_id in event_ids]


def sampled_trace() -> dict[str, str]:
    """The header of a request that continues a sampled trace (the frontend's pageload).

    Sentry keeps such a request whatever the backend's own rate: production's 10% would
    otherwise make the alert tests a lottery.
    """
    return {"sentry-trace": f"{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-1"}


def eventually(read: Callable[[], list], *, timeout: float = 10.0) -> list:
    """Call ``read`` until it returns something non-empty or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while not (result := read()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return result


# --- configuration --------------------------------------------------------------------------


def test_env_example_names_the_guides_variables() -> None:
    example = dotenv_values(HERE / ".env.example")
    assert set(example) >= GUIDE_VARIABLES
    options = sentry_options(example)
    assert (options["environment"], options["release"]) == ("development", RELEASE)
    assert (options["traces_sample_rate"], options["profiles_sample_rate"]) == (1.0, 1.0)
    assert options["dsn"].startswith("http://") and "@127.0.0.1:" in options["dsn"]


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        ("SENTRY_ENVIRONMENT", "prod", "expected one of development, staging, production"),
        ("SENTRY_TRACES_SAMPLE_RATE", "10%", "expected a number from 0.0 to 1.0"),
        ("SENTRY_PROFILES_SAMPLE_RATE", "1.5", "a sample rate lies between 0.0 and 1.0"),
        ("SENTRY_ENABLE_TRACING", "maybe", "expected true or false"),
    ],
)
def test_a_bad_variable_stops_the_app_naming_it(variable: str, value: str, complaint: str) -> None:
    with pytest.raises(SentryConfigError) as error:
        sentry_options({variable: value})
    assert str(error.value) == f"{variable}={value!r}: {complaint}"


def test_the_app_reads_its_dotenv_file(sentry_stub: StubView, tmp_path: Path) -> None:
    """The real start-up: ``uvicorn app.main:create_app --factory`` in a directory with ``.env``."""
    example = (HERE / ".env.example").read_text()
    dsn_line = next(line for line in example.splitlines() if line.startswith("SENTRY_DSN="))
    (tmp_path / ".env").write_text(
        example.replace(dsn_line, f"SENTRY_DSN={sentry_stub.dsn_for(PROJECT)}")
    )
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"]
    address = ["--app-dir", str(HERE), "--host", "127.0.0.1", "--port", str(port)]
    with subprocess.Popen(
        [*command, *address], cwd=tmp_path, env=environ, stderr=subprocess.PIPE
    ) as app:
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_listening(port, app)
            assert httpx.get(f"{url}/api/users").status_code == 200
            assert httpx.post(f"{url}/api/checkout", json=ORDER).status_code == 500
            [error] = sentry_stub.wait_for("event.type:error")
        finally:
            app.terminate()

    assert (error.release, error.environment) == (RELEASE, "development")
    assert (tmp_path / "agentsflowai.sqlite3").exists()  # DATABASE_PATH from the file too
    transactions = sentry_stub.wait_for("event.type:transaction", count=2)
    assert {t.transaction for t in transactions} == {"/api/users", "/api/checkout"}


def wait_until_listening(port: int, app: subprocess.Popen, timeout: float = 20.0) -> None:
    """Wait for the port to open: a request would add a transaction of its own."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.poll() is not None:
            raise RuntimeError(f"the app exited: {app.stderr.read().decode()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the app did not start within {timeout}s")


# --- environment profiles -------------------------------------------------------------------


@pytest.mark.parametrize("environment", sorted(TRACE_RATES))
def test_each_environment_profile_samples_and_labels_as_the_guide_says(
    sentry_stub: StubView, start_backend: StartBackend, environment: str
) -> None:
    rate, requests = TRACE_RATES[environment], REQUESTS[environment]
    backend = start_backend(settings_for(sentry_stub, environment))
    for _ in range(requests):
        assert backend.http.get("/api/users").status_code == 200
    checkout(backend)
    backend.stop()
    [error] = sentry_stub.wait_for("event.type:error")
    if rate < 1:
        eventually(lambda: [d for d in sentry_stub.discards() if d["reason"] == "sample_rate"])

    assert (error.release, error.environment) == (RELEASE, environment)
    sentry_stub.assert_releases(environments=[environment])
    report = sentry_stub.assert_sample_rate(rate, confidence=STEADY)
    assert report["trials"] == requests + 1
    transactions = sentry_stub.events("event.type:transaction")
    for transaction in transactions:
        assert (transaction.release, transaction.environment) == (RELEASE, environment)
    carried = {t.event_id for t in transactions} | {error.event_id}
    declared = {e.headers["trace"]["sample_rate"] for e in envelopes_of(sentry_stub, carried)}
    assert declared == {str(rate)}  # each envelope's dynamic sampling context
    for other in set(TRACE_RATES.values()) - {rate}:  # the traffic tells the profiles apart
        with pytest.raises(AssertionError, match="outside"):
            sentry_stub.assert_sample_rate(other)


# --- what the events carry ------------------------------------------------------------------


def test_api_transactions_carry_a_db_span_per_query(
    sentry_stub: StubView, start_backend: StartBackend
) -> None:
    backend = start_backend(settings_for(sentry_stub, "development"))
    assert [u["username"] for u in backend.http.get("/api/users").json()] == ["ada", "grace"]

    [transaction] = sentry_stub.wait_for("event.type:transaction transaction:/api/*")
    assert transaction.transaction == "/api/users"
    assert transaction.contexts["trace"]["op"] == "http.server"
    assert transaction.tags["http.status_code"] == "200"
    [query] = [s for s in sentry_stub.spans() if s["op"] == "db.query"]
    assert query["transaction_name"] == "/api/users"
    assert query["description"] == "SELECT id, username, plan FROM users ORDER BY id"
    assert {key: query["data"][key] for key in ("db.table", "db.system", "db.rows")} == {
        "db.table": "users",
        "db.system": "sqlite",
        "db.rows": 2,
    }
    [row] = sentry_stub.query(["transaction", "count()"], "event.type:transaction")
    assert row == {"transaction": "/api/users", "count()": 1}


def test_a_server_error_is_tagged_500_and_names_the_user_by_id_only(
    sentry_stub: StubView, start_backend: StartBackend
) -> None:
    backend = start_backend(settings_for(sentry_stub, "production"))
    checkout(backend)

    [error] = sentry_stub.wait_for("event.type:error")
    assert error.tags["http.status_code"] == "500"
    assert error.transaction == "/api/checkout"
    [thrown] = error.exception
    assert thrown["type"] == "PaymentGatewayError"
    assert thrown["mechanism"]["handled"] is False
    assert error.user == {"id": "42"}
    # Nor does Sentry derive an address, e-mail or name from anything the SDK sent.
    assert not {"ip_address", "email", "username"} & set(error.stored["user"])
    assert "env" not in error.stored["request"]  # where REMOTE_ADDR would be
    # The conditions of the guide's "Critical Backend Errors" alert.
    critical = "event.type:error environment:production http.status_code:500"
    assert sentry_stub.events(critical) == [error]


def test_a_failed_login_is_tagged_auth_error(
    sentry_stub: StubView, start_backend: StartBackend
) -> None:
    backend = start_backend(settings_for(sentry_stub, "production"))
    wrong = {"username": "ada", "password": SECRETS["password"]}
    assert backend.http.post("/api/login", json=wrong).status_code == 401
    right = {"username": "ada", "password": "correct-horse"}
    assert backend.http.post("/api/login", json=right).json() == {"user_id": 1}

    # The guide's "Failed Authentication Attempts" search.
    [error] = sentry_stub.wait_for('event.type:error message:"authentication failed"')
    assert error.tags["auth_error"] == "wrong_password"
    assert error.exception[-1]["value"] == "authentication failed: wrong password"
    assert error.exception[-1]["mechanism"]["handled"] is True
    assert sentry_stub.events("event.type:error has:auth_error") == [error]


def test_a_websocket_error_carries_websocket_and_connection_id(
    sentry_stub: StubView, start_backend: StartBackend
) -> None:
    backend = start_backend(settings_for(sentry_stub, "production"))
    with websocket_connect(backend.websocket_url) as socket_:
        connection_id = json.loads(socket_.recv())["connection_id"]
        socket_.send(json.dumps({"action": "ping"}))
        assert json.loads(socket_.recv()) == {"action": "pong"}
        socket_.send(json.dumps({"action": "unsubscribe-all"}))
    checkout(backend)  # an error of another kind, which the WebSocket searches must leave out
    sentry_stub.wait_for("event.type:error", count=2)

    [error] = sentry_stub.events("event.type:error has:websocket")
    assert error.tags["websocket"] == "true"
    assert error.tags["connection_id"] == connection_id
    assert error.exception[-1]["value"] == "unknown websocket action 'unsubscribe-all'"
    # The guide's "WebSocket Connection Failures", with has: (tags.websocket:* matches all).
    rows = sentry_stub.query(["connection_id", "count()"], "event.type:error has:websocket")
    assert rows == [{"connection_id": connection_id, "count()": 1}]


# --- nothing sensitive leaves the app -------------------------------------------------------


def send_secrets(backend: Backend) -> None:
    """A failed login and a crashed checkout, both with secrets in their JSON bodies."""
    wrong = {"username": "ada", "password": SECRETS["password"]}
    assert backend.http.post("/api/login", json=wrong).status_code == 401
    checkout(backend)
    backend.stop()


def guide_example_before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """The guide's ``before_send`` example, with the ``scrub_sensitive_data`` it leaves out.

    It looks at the top level of the request body only, as sentry-python's scrubber does.
    """

    def scrub_sensitive_data(data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {k: FILTERED if k in SENSITIVE_KEYS else v for k, v in data.items()}

    if "request" in event and "data" in event["request"]:
        event["request"]["data"] = scrub_sensitive_data(event["request"]["data"])
    return event


def test_the_apps_before_send_lets_no_secret_out(
    sentry_stub: StubView, start_backend: StartBackend
) -> None:
    send_secrets(start_backend(settings_for(sentry_stub, "development")))

    events = sentry_stub.wait_for(count=4)  # two errors, two transactions
    report = sentry_stub.assert_no_pii(allow=[PYTEST_ARGV])
    assert report["checked"] == 4
    [failed_checkout] = sentry_stub.events("event.type:error transaction:/api/checkout")
    body = failed_checkout["request"]["data"]
    assert body["account"]["password"] == body["payment"]["credit_card"] == FILTERED
    assert body["token"] == body["api_key"] == FILTERED
    assert body["payment"]["amount"] == 49  # the rest stays useful
    sent = b"".join(envelope.raw for envelope in sentry_stub.envelopes())
    assert {name for name, secret in SECRETS.items() if secret.encode() in sent} == set()
    assert {e.type for e in events} == {"error", "transaction"}


def test_the_guides_example_before_send_leaks_nested_secrets(
    sentry_stub: StubView, start_backend: StartBackend
) -> None:
    environ = settings_for(sentry_stub, "development")
    send_secrets(start_backend(environ, before_send=guide_example_before_send))
    sentry_stub.wait_for(count=4)

    with pytest.raises(AssertionError) as failure:
        sentry_stub.assert_no_pii(allow=[PYTEST_ARGV])
    message = str(failure.value)
    assert "request.data.account.password" in message
    assert "request.data.payment.credit_card" in message
    assert SECRETS["password"] not in message  # the report never repeats a secret
    # Both top-level fields were masked, as the example intends, and the login's password too.
    assert "request.data.token" not in message
    assert "request.data.api_key" not in message
    assert "request.data.password" not in message


# --- tracing and profiling switches ---------------------------------------------------------


@pytest.mark.parametrize(("rate", "profiles"), [("1.0", 1), ("0.0", 0)])
def test_profiles_follow_the_profiles_sample_rate(
    sentry_stub: StubView, start_backend: StartBackend, rate: str, profiles: int
) -> None:
    environ = settings_for(sentry_stub, "development", SENTRY_PROFILES_SAMPLE_RATE=rate)
    backend = start_backend(environ)
    # Long enough for the sampling profiler to take samples even on a busy machine.
    assert backend.http.get("/api/slow", params={"seconds": 0.6}).json() == {"slept": 0.6}
    backend.stop()

    [transaction] = sentry_stub.wait_for("transaction:/api/slow")
    assert transaction["spans"][0]["op"] == "task"
    kept = sentry_stub.profiles()
    assert len(kept) == profiles
    for record in kept:
        [profiled] = record.payload["transactions"]
        assert (profiled["id"], profiled["name"]) == (transaction.event_id, "/api/slow")
        assert record.payload["release"] == RELEASE
        assert record.payload["profile"]["samples"]


def test_enable_tracing_false_sends_errors_only(
    sentry_stub: StubView, start_backend: StartBackend
) -> None:
    environ = settings_for(
        sentry_stub,
        "development",
        SENTRY_ENABLE_TRACING="false",
        SENTRY_PROFILES_SAMPLE_RATE="1.0",
    )
    backend = start_backend(environ)
    backend.http.get("/api/slow", params={"seconds": 0.2})
    checkout(backend, **sampled_trace())  # not even a sampled caller turns tracing back on
    backend.stop()

    [error] = sentry_stub.wait_for("event.type:error")
    assert error.tags["http.status_code"] == "500"
    assert sentry_stub.events("event.type:transaction") == []
    assert sentry_stub.spans() == sentry_stub.profiles() == []


# --- the mission's alert and ownership rules ------------------------------------------------


def fired(stub: StubView, rule: str) -> list[dict]:
    """The firings of ``rule`` during this test (issue alerts run just after the event)."""
    return eventually(lambda: stub.alerts(rule))


def actions_of(alert: dict) -> dict[str, str]:
    return {action["kind"]: action["target"] for action in alert["actions"]}


def test_critical_backend_errors_fire_for_production_500s_only(
    mission_stub: StubView, start_backend: StartBackend
) -> None:
    backend = start_backend(settings_for(mission_stub, "staging"))
    checkout(backend)
    mission_stub.wait_for("event.type:error")
    backend.stop()
    assert mission_stub.alerts("Critical Backend Errors") == []

    checkout(start_backend(settings_for(mission_stub, "production")))

    [error] = mission_stub.wait_for("event.type:error environment:production")
    [alert] = fired(mission_stub, "Critical Backend Errors")
    assert (alert["event_id"], alert["environment"]) == (error.event_id, "production")
    assert "tag http.status_code eq '500': yes (value '500')" in alert["reasons"]
    assert actions_of(alert) == {
        "slack": "#backend-alerts",
        "webhook": "http://127.0.0.1:9099/sentry-webhook",
    }
    [slack] = [action for action in alert["actions"] if action["kind"] == "slack"]
    assert slack["message"]["text"] == (
        "[agentsflowai-backend] PaymentGatewayError: payment gateway unavailable for amount 49"
    )


def test_database_connection_errors_page_on_call(
    mission_stub: StubView, start_backend: StartBackend
) -> None:
    backend = start_backend(settings_for(mission_stub, "production"))
    assert backend.http.get("/api/users").status_code == 200
    backend.database.unlink()  # the database goes away under the running app
    assert backend.http.get("/api/users").status_code == 500

    [error] = mission_stub.wait_for("event.type:error")
    assert error.exception[-1]["type"] == "DatabaseConnectionError"
    assert error.exception[-1]["value"] == (
        "database connection failed: unable to open database file"
    )
    [alert] = fired(mission_stub, "Database Connection Errors")
    assert alert["event_id"] == error.event_id
    assert actions_of(alert)["pagerduty"] == "service on-call"
    # A 500 in production, so the critical-errors rule fires for this new issue as well.
    [critical] = fired(mission_stub, "Critical Backend Errors")
    assert critical["event_id"] == error.event_id


def test_slow_and_long_running_transactions_fire_the_metric_alerts(
    mission_stub: StubView, start_backend: StartBackend
) -> None:
    backend = start_backend(settings_for(mission_stub, "production"))
    for _ in range(5):
        backend.http.get("/api/slow", params={"seconds": 0.05}, headers=sampled_trace())
    mission_stub.wait_for("event.type:transaction", count=5)
    mission_stub.evaluate_alerts()
    assert mission_stub.alerts() == []

    # Concurrently, so that the suite waits 5 seconds and not 10.
    with ThreadPoolExecutor() as pool:
        for seconds in (2.2, 2.2, 5.2):
            params = {"seconds": seconds}
            pool.submit(backend.http.get, "/api/slow", params=params, headers=sampled_trace())
    mission_stub.wait_for("event.type:transaction transaction.duration:>2000", count=3)
    mission_stub.evaluate_alerts()

    [slow] = fired(mission_stub, "Slow API Responses")
    [long_running] = fired(mission_stub, "Long-Running Transactions")
    assert slow["value"] > 2000
    assert slow["reasons"][0].startswith("p95(transaction.duration) = ")
    assert actions_of(slow)["email"] == "team:dev-team"
    assert long_running["value"] > 5000
    assert actions_of(long_running) == {"webhook": "http://127.0.0.1:9099/sentry-webhook"}


def test_ownership_rules_name_the_teams_of_the_guide(
    mission_stub: StubView, start_backend: StartBackend
) -> None:
    backend = start_backend(settings_for(mission_stub, "development"))
    checkout(backend)
    wrong = {"username": "ada", "password": SECRETS["password"]}
    assert backend.http.post("/api/login", json=wrong).status_code == 401
    with websocket_connect(backend.websocket_url) as socket_:
        socket_.recv()
        socket_.send(json.dumps({"action": "unsubscribe-all"}))
    mission_stub.wait_for("event.type:error", count=3)

    def owners(query: str) -> list[str]:
        [event] = mission_stub.events(f"event.type:error {query}")
        ownership = mission_stub.owners(event)
        assert ownership["assignee"] == ownership["owners"][0]
        return [owner["identifier"] for owner in ownership["owners"]]

    # Every backend error has a frame under **/backend/**, and Sentry ranks the rules that match
    # a frame before tag rules: the backend team is assigned, the others are owners too.
    assert owners("transaction:/api/checkout") == ["backend-team"]
    assert owners("has:auth_error") == ["backend-team", "security-team"]
    assert owners("has:websocket") == ["backend-team", "realtime-team"]
