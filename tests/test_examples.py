"""The compose example, run for real without Docker: example-backend reporting to sentry-stub.

Both run as their containers run them: the stub with ``examples/sentry-stub.toml`` (strict mode,
the two mission projects), the app with its image's uvicorn command and the environment
docker-compose.yml gives it. Only the addresses change: 127.0.0.1 and free ports instead of
0.0.0.0 and the ``sentry-stub`` service name.
"""

from __future__ import annotations

import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from urllib.parse import urlsplit

import pytest

from client_tests.support import ServerProcess, free_port, wait_until_answering
from sentry_stub.client import StubClient
from sentry_stub.view import StubView
from tests.container_files import (
    EXAMPLE_CONFIG,
    EXAMPLE_DOCKERFILE,
    compose,
    final_stage,
    instruction,
    script,
)

BACKEND = compose()["services"]["example-backend"]


@pytest.fixture(scope="module")
def stub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db = tmp_path_factory.mktemp("example-stub") / "stub.sqlite3"
    server = ServerProcess(db, config=EXAMPLE_CONFIG).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def backend(stub: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The example backend's URL; its DSN is compose's, pointed at the stub's loopback port."""
    dsn = urlsplit(BACKEND["environment"]["SENTRY_DSN"])
    env = {
        **os.environ,
        **BACKEND["environment"],
        "SENTRY_DSN": dsn._replace(netloc=f"{dsn.username}@127.0.0.1:{stub.port}").geturl(),
    }
    port = free_port()
    [program, *arguments] = rebind(instruction(final_stage(EXAMPLE_DOCKERFILE), "CMD").value, port)
    log = tmp_path_factory.mktemp("example-backend") / "uvicorn.log"
    process = subprocess.Popen(
        [str(script(program)), *arguments],
        cwd=EXAMPLE_DOCKERFILE.parent,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(
            f"{url}/health", log.read_text, exited=lambda: process.poll() is not None
        )
        yield url
    finally:
        process.terminate()
        process.wait(10)


def rebind(command: Sequence[str], port: int) -> list[str]:
    """The image's uvicorn command, listening on 127.0.0.1:``port`` instead of 0.0.0.0."""
    arguments = list(command)
    arguments[arguments.index("--host") + 1] = "127.0.0.1"
    arguments[arguments.index("--port") + 1] = str(port)
    return arguments


def divide_by_zero(backend: str) -> int:
    """Ask the backend for 1/0; the HTTP status it answers."""
    try:
        with urllib.request.urlopen(f"{backend}/api/divide?numerator=1&denominator=0", timeout=10):
            return 200
    except urllib.error.HTTPError as error:
        return error.code


def test_an_error_in_the_backend_arrives_in_its_project(stub: ServerProcess, backend: str) -> None:
    view = StubView(StubClient(stub.url))

    assert divide_by_zero(backend) == 500

    [event] = view.wait_for("event.type:error", project="agentsflowai-backend", timeout=10)
    assert event.project == "agentsflowai-backend"
    assert event.project_id == 1
    assert event.exception[-1]["type"] == "ZeroDivisionError"
    assert event.transaction == "/api/divide"
    assert event.environment == BACKEND["environment"]["SENTRY_ENVIRONMENT"]
    assert event.release == BACKEND["environment"]["SENTRY_RELEASE"]
    assert event["sdk"]["name"] == "sentry.python.fastapi"
    assert view.events(project="agentsflowai-frontend") == []


def test_the_failing_request_is_traced_too(stub: ServerProcess, backend: str) -> None:
    view = StubView(StubClient(stub.url))

    divide_by_zero(backend)

    [transaction] = view.wait_for(
        "event.type:transaction transaction:/api/divide", project="agentsflowai-backend"
    )
    assert transaction["contexts"]["trace"]["status"] == "internal_error"
    [error] = view.wait_for("event.type:error", project="agentsflowai-backend")
    assert error["contexts"]["trace"]["trace_id"] == transaction["contexts"]["trace"]["trace_id"]
