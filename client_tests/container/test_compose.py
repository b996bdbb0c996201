"""docker-compose.yml up for real: the stub and the example backend, as the README starts them.

The backend's DSN names the stub by its service name, ``sentry-stub``, which only the compose
network resolves; the host reads what arrived through the stub's published 127.0.0.1:8990.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from client_tests.container.engine import Engine
from client_tests.support import wait_until_answering
from sentry_stub.client import StubClient
from sentry_stub.view import StubView
from tests.container_files import COMPOSE_FILE, ROOT, compose
from tests.test_examples import divide_by_zero

PROJECT = "sentry-stub-compose-test"
STUB_URL = "http://127.0.0.1:8990"
BACKEND_URL = "http://127.0.0.1:8000"


def run_compose(engine: Engine, *arguments: str, timeout: float = 600) -> None:
    command = [*engine.compose(), "--file", str(COMPOSE_FILE), "--project-name", PROJECT]
    result = subprocess.run(
        [*command, *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def services(engine: Engine) -> Iterator[None]:
    run_compose(engine, "down", "--volumes")  # what a run that was cut short left
    run_compose(engine, "up", "--build", "--detach")
    try:
        yield
    finally:
        run_compose(engine, "down", "--volumes")


def container_of(engine: Engine, service: str) -> str:
    """The container compose started for ``service`` (both composes label it so)."""
    [container] = engine.run(
        "ps",
        "--quiet",
        f"--filter=label=com.docker.compose.project={PROJECT}",
        f"--filter=label=com.docker.compose.service={service}",
    ).split()
    return container


def test_the_backend_reports_to_the_stub_service_and_the_host_reads_it(
    engine: Engine, services: None
) -> None:
    engine.wait_healthy(container_of(engine, "sentry-stub"))
    backend = container_of(engine, "example-backend")
    wait_until_answering(
        f"{BACKEND_URL}/health", lambda: engine.run("logs", backend, check=False), timeout=60
    )
    view = StubView(StubClient(STUB_URL))

    assert divide_by_zero(BACKEND_URL) == 500

    [event] = view.wait_for("event.type:error", project="agentsflowai-backend", timeout=30)
    settings = compose()["services"]["example-backend"]["environment"]
    assert event.exception[-1]["type"] == "ZeroDivisionError"
    assert event.transaction == "/api/divide"
    assert event.release == settings["SENTRY_RELEASE"]
    assert event.environment == settings["SENTRY_ENVIRONMENT"]
    # The backend ran in its own container: sentry-sdk names the host it runs on.
    assert event["server_name"] == engine.inspect(backend, "{{.Config.Hostname}}")
