"""The image, built by ``scripts/image-test``, run as users run it: published on 127.0.0.1.

The main container publishes the image's own port, 8990, as the README and docker-compose.yml
do: the DSNs the server hands out name 127.0.0.1:8990, so the SDK reaches it only there.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from client_tests.container.conftest import MakeContainer
from client_tests.container.engine import CONTAINER_PORT, DATA, Container, Engine
from client_tests.support import free_port
from sentry_stub.client import StubClient
from sentry_stub.view import StubView
from tests.container_files import EXAMPLE_CONFIG, ROOT, compose, config_project

KEY = uuid.uuid4().hex  # open mode takes any 32-hex key
UID = "10001"


@pytest.fixture(scope="module")
def stub(engine: Engine, image: str) -> Iterator[Container]:
    container = Container(engine, image, f"sentry-stub-test-{uuid.uuid4().hex[:8]}", CONTAINER_PORT)
    try:
        yield container.create()
    finally:
        container.remove()


def post_event(url: str, key: str = KEY, project: int = 1) -> tuple[int, bytes, str]:
    """One event envelope, as an SDK sends it: the status, the answer and the event id."""
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=10)
    try:
        status, body, event_id = send_event(connection, key, project)
    finally:
        connection.close()
    return status, body, event_id


def send_event(
    connection: http.client.HTTPConnection, key: str, project: int
) -> tuple[int, bytes, str]:
    event_id = uuid.uuid4().hex
    event = {"event_id": event_id, "message": "from the host", "level": "info"}
    lines = [{"event_id": event_id}, {"type": "event"}, event]
    connection.request(
        "POST",
        f"/api/{project}/envelope/",
        body="\n".join(json.dumps(line) for line in lines).encode(),
        headers={"X-Sentry-Auth": f"Sentry sentry_key={key}, sentry_version=7"},
    )
    response = connection.getresponse()
    return response.status, response.read(), event_id


def test_the_healthcheck_passes(engine: Engine, stub: Container) -> None:
    engine.wait_healthy(stub.name)


def test_the_server_is_pid_1_as_uid_10001(engine: Engine, stub: Container) -> None:
    status = engine.run("exec", stub.name, "cat", "/proc/1/status").splitlines()
    fields = dict(line.split(":", 1) for line in status)
    assert fields["Uid"].split() == [UID] * 4  # real, effective, saved, filesystem
    assert fields["Gid"].split() == [UID] * 4
    command = engine.run("exec", stub.name, "cat", "/proc/1/cmdline").split("\0")
    assert any(part.endswith("/sentry-stub") for part in command), command
    assert "serve" in command


def test_sdk_events_through_the_port_read_back_in_remote_mode(stub: Container) -> None:
    view = StubView(StubClient(stub.url))
    release = f"container-check@{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_STUB_")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(Path(__file__).with_name("sdk_through_the_port.py")),
            f"--sentry-stub-url={stub.url}",
        ],
        cwd=ROOT,
        env={**env, "SDK_CHECK_RELEASE": release},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    # The container, not a server in that pytest, has them.
    kinds = sorted(event.type for event in view.events(f"release:{release}"))
    assert kinds == ["error", "transaction"]


def test_nothing_but_the_data_volume_is_written(
    engine: Engine, image: str, stub: Container
) -> None:
    status, _, event_id = post_event(stub.url)
    assert status == 200
    assert StubClient(stub.url).event(event_id)["event_id"] == event_id
    # What the engine itself changes in any container of the image (mount points such as
    # /etc/hosts) is the baseline; the server must add nothing to it.
    idle = f"sentry-stub-idle-{uuid.uuid4().hex[:8]}"
    engine.run("run", "--detach", f"--name={idle}", "--entrypoint=sleep", image, "300")
    try:
        baseline = engine.run("diff", idle)
    finally:
        engine.run("kill", idle, check=False)
        engine.run("rm", "--force", "--volumes", idle, check=False)
    assert engine.run("diff", stub.name) == baseline
    listing = engine.run("exec", stub.name, "ls", "-ln", DATA)
    [database] = [line for line in listing.splitlines() if line.endswith(" sentry-stub.sqlite3")]
    assert database.split()[2:4] == [UID, UID], listing


def test_data_survives_stop_and_start_and_a_new_container(stub: Container) -> None:
    status, _, event_id = post_event(stub.url)
    assert status == 200

    stub.stop()
    stub.start()
    assert StubClient(stub.url).event(event_id)["event_id"] == event_id

    stub.replace()  # only the volume is left of the old container
    assert StubClient(stub.url).event(event_id)["event_id"] == event_id


def test_strict_mode_with_the_mounted_example_config(new_container: MakeContainer) -> None:
    """As docker-compose.yml runs it: examples/sentry-stub.toml mounted, SENTRY_STUB_CONFIG."""
    service = compose()["services"]["sentry-stub"]
    config = service["environment"]["SENTRY_STUB_CONFIG"]
    container = new_container(
        free_port(),
        environment={"SENTRY_STUB_CONFIG": config},
        mounts=(f"{EXAMPLE_CONFIG}:{config}:ro",),
    )
    backend = config_project("agentsflowai-backend")

    accepted, _, event_id = post_event(container.url, backend["keys"][0], backend["id"])
    refused, answer, _ = post_event(container.url, uuid.uuid4().hex, backend["id"])

    assert accepted == 200
    assert StubClient(container.url).event(event_id)["project"] == backend["slug"]
    # Relay's answer to a key no project has (see tests/test_ingest_http.py).
    assert (refused, json.loads(answer)) == (
        403,
        {"detail": "event submission rejected with_reason: ProjectId"},
    )


class Burst:
    """Senders posting events on keep-alive connections until the server goes away.

    Only what the server acknowledged (200) is counted: that much must be stored.
    """

    def __init__(self, url: str, senders: int = 4, limit: int = 2000):
        self.url = url
        self.limit = limit  # per sender, so that the burst ends by itself
        self.acknowledged: list[str] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._send) for _ in range(senders)]

    def __enter__(self) -> Burst:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for thread in self.threads:
            thread.join(30)

    def _send(self) -> None:
        connection = http.client.HTTPConnection(self.url.removeprefix("http://"), timeout=10)
        try:
            for _ in range(self.limit):
                status, _, event_id = send_event(connection, KEY, 1)
                if status == 200:
                    with self.lock:
                        self.acknowledged.append(event_id)
        except (OSError, http.client.HTTPException):
            return  # the server stopped
        finally:
            connection.close()


def test_sigterm_during_a_burst_stops_fast_and_loses_nothing_acknowledged(
    engine: Engine, new_container: MakeContainer, measured: dict[str, str]
) -> None:
    container = new_container(free_port())
    with Burst(container.url) as burst:
        while len(burst.acknowledged) < 200:
            time.sleep(0.01)
        seconds = container.stop()  # SIGTERM; SIGKILL only after 10 s
        acknowledged_at_stop = len(burst.acknowledged)
    measured["stop during a burst"] = f"{seconds:.2f} s, {acknowledged_at_stop} envelopes acked"

    assert seconds < 2.0
    assert engine.inspect(container.name, "{{.State.ExitCode}}") == "0"  # not killed
    container.start()
    stored = {e["event_id"] for e in StubClient(container.url).events(limit=10_000)}
    assert set(burst.acknowledged) <= stored
    assert len(burst.acknowledged) == acknowledged_at_stop  # nothing acked after the stop
