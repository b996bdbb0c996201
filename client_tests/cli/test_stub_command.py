"""The ``sentry-stub`` command as a person uses it, against a real ``sentry-stub serve`` process.

Events come from the real sentry-sdk. Each test sends to its own project and reads with
``--project``, so tests sharing the module's server do not see each other's events.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sentry_sdk

from client_tests.support import ServerProcess, free_port, running_server, sentry_client
from sentry_stub.client import StubClient

START = datetime(2026, 1, 1, tzinfo=UTC)
COMMAND = (sys.executable, "-m", "sentry_stub")


@pytest.fixture(scope="module")
def stub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of this module's own: ``reset`` must not wipe other modules' data."""
    yield from running_server(tmp_path_factory.mktemp("cli"))


@pytest.fixture
def project(request: pytest.FixtureRequest) -> str:
    return request.node.name.replace("_", "-").lower()[:40]


@pytest.fixture
def dsn(stub: ServerProcess, project: str) -> str:
    return StubClient(stub.url).project(project)["dsn"]


def run(*arguments: str, input: str | None = None, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_STUB_")}
    return subprocess.run(
        [*COMMAND, *arguments],
        capture_output=True,
        text=True,
        input=input,
        timeout=60,
        env={**environment, **env},
    )


def table(result: subprocess.CompletedProcess) -> list[dict[str, str]]:
    """The rows of a table the command printed, by column (split on runs of 2+ spaces)."""
    assert result.returncode == 0, result.stderr
    header, _, *rows, footer = result.stdout.splitlines()
    assert footer.endswith(("row)", "rows)"))
    columns = header.split()
    starts = [header.index(c) for c in columns]
    ends = [*starts[1:], None]
    return [
        {c: row[s:e].strip() for c, s, e in zip(columns, starts, ends, strict=True)} for row in rows
    ]


def send_messages(dsn: str, *messages: tuple[str, str, str]) -> None:
    """(message, environment, release) each, in this order."""
    with sentry_client(dsn, default_integrations=False):
        for message, environment, release in messages:
            with sentry_sdk.new_scope() as scope:
                scope.add_event_processor(
                    lambda event, hint, e=environment, r=release: {
                        **event,
                        "environment": e,
                        "release": r,
                    }
                )
                sentry_sdk.capture_message(message)


# --- events -----------------------------------------------------------------------------------


def test_events_lists_the_newest_first_with_environment_and_release(
    stub: ServerProcess, dsn: str, project: str
) -> None:
    send_messages(
        dsn,
        ("first", "staging", "shop@1.0.0"),
        ("second", "production", "shop@1.0.1"),
        ("third", "production", "shop@1.0.2"),
    )
    rows = table(run("events", "--url", stub.url, "--project", project, "--limit", "2"))
    assert [(r["title"], r["environment"], r["release"]) for r in rows] == [
        ("third", "production", "shop@1.0.2"),
        ("second", "production", "shop@1.0.1"),
    ]
    assert {r["level"] for r in rows} == {"info"}
    assert {r["project"] for r in rows} == {project}


def test_events_oldest_first_on_request(stub: ServerProcess, dsn: str, project: str) -> None:
    send_messages(dsn, ("first", "staging", "a@1"), ("second", "staging", "a@2"))
    result = run("events", "--url", stub.url, "--project", project, "--oldest", "--limit", "1")
    assert [r["title"] for r in table(result)] == ["first"]


def test_events_arguments_are_checked(stub: ServerProcess) -> None:
    result = run("events", "--url", stub.url, "--limit", "0")
    assert result.returncode == 2
    assert "--limit: must be 1 or more, got 0" in result.stderr
    both = run("events", "--url", stub.url, "--oldest", "--follow")
    assert both.returncode == 2
    assert "argument --follow: not allowed with argument --oldest" in both.stderr


# --- numbers ----------------------------------------------------------------------------------


def test_query_tables_round_numbers_and_json_keeps_them_exact(
    stub: ServerProcess, dsn: str, project: str
) -> None:
    with sentry_client(dsn, default_integrations=False, traces_sample_rate=1.0):
        for milliseconds, status in ((100, "ok"), (200, "ok"), (200.5, "internal_error")):
            transaction = sentry_sdk.start_transaction(name="/api/users", start_timestamp=START)
            transaction.set_status(status)
            transaction.finish(end_timestamp=START + timedelta(milliseconds=milliseconds))
    query = "event.type:transaction | avg(transaction.duration), failure_rate()"
    exact = run("query", query, "--url", stub.url, "--project", project, "--json")
    [row] = json.loads(exact.stdout)["data"]
    assert row["avg(transaction.duration)"] == pytest.approx(500.5 / 3)
    assert row["failure_rate()"] == pytest.approx(1 / 3)
    [shown] = table(run("query", query, "--url", stub.url, "--project", project))
    assert shown == {"avg(transaction.duration)": "166.83", "failure_rate()": "0.333"}


# --- follow -----------------------------------------------------------------------------------


class Follower:
    """``sentry-stub events --follow`` in the background; its lines are read with a timeout."""

    def __init__(self, *arguments: str):
        self.process = subprocess.Popen(
            [*COMMAND, "events", "--follow", *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))

    def next_line(self, timeout: float = 15.0) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no line within {timeout}s") from None

    def wait_following(self) -> None:
        """Until the command says it follows (on stderr, after the first listing)."""
        assert self.process.stderr is not None
        line = self.process.stderr.readline()
        assert "following new events" in line, line

    def interrupt(self) -> tuple[int, str]:
        """Ctrl-C, then the exit status and the rest of stderr.

        Waits for the process itself rather than ``communicate``, which would read stdout too,
        beside the thread that reads its lines.
        """
        assert self.process.stderr is not None
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            stderr = self.process.stderr.read()
            raise AssertionError(f"still running 15 s after Ctrl-C; stderr:\n{stderr}") from None
        return code, self.process.stderr.read()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def follow() -> Iterator[type[Follower]]:
    started: list[Follower] = []

    class Started(Follower):
        def __init__(self, *arguments: str):
            super().__init__(*arguments)
            started.append(self)

    yield Started
    for follower in started:
        follower.kill()


def test_follow_prints_new_events_as_they_arrive_until_ctrl_c(
    stub: ServerProcess, dsn: str, project: str, follow: type[Follower]
) -> None:
    send_messages(dsn, ("before", "staging", "a@1"))
    follower = follow("--url", stub.url, "--project", project)
    header = follower.next_line()
    columns = " ".join(header.split())
    assert columns == "received project type level environment release event_id title"
    assert follower.next_line().startswith("--------")
    assert follower.next_line().endswith("before")
    follower.wait_following()
    send_messages(dsn, ("live", "production", "a@2"))
    line = follower.next_line()
    assert line.endswith("live")
    # New rows line up under the header the first listing printed.
    assert line.index("production") == header.index("environment")
    code, stderr = follower.interrupt()
    assert code == 0
    assert "Traceback" not in stderr
    assert "KeyboardInterrupt" not in stderr


def test_follow_with_json_prints_one_event_per_line_and_sees_a_reset(
    stub: ServerProcess, dsn: str, project: str, follow: type[Follower]
) -> None:
    follower = follow("--url", stub.url, "--project", project, "--json")
    follower.wait_following()
    send_messages(dsn, ("one", "production", "a@1"))
    assert json.loads(follower.next_line())["data"]["message"] == "one"
    assert run("reset", "--yes", "--url", stub.url).returncode == 0
    # After a reset item ids start again from 1: what arrives next is still printed.
    send_messages(dsn, ("after reset", "production", "a@1"))
    assert json.loads(follower.next_line())["data"]["message"] == "after reset"
    code, stderr = follower.interrupt()
    assert code == 0
    assert "the server was reset" in stderr


# --- reset ------------------------------------------------------------------------------------


def test_reset_asks_first_and_deletes_on_yes(stub: ServerProcess, dsn: str, project: str) -> None:
    send_messages(dsn, ("keep me", "staging", "a@1"))
    listing = ("events", "--url", stub.url, "--project", project)

    declined = run("reset", "--url", stub.url, input="n\n")
    assert declined.returncode == 1
    assert "Delete everything sentry-stub at" in declined.stdout
    assert "reset cancelled" in declined.stderr
    assert [r["title"] for r in table(run(*listing))] == ["keep me"]

    no_answer = run("reset", "--url", stub.url, input="")
    assert no_answer.returncode == 1
    assert [r["title"] for r in table(run(*listing))] == ["keep me"]

    confirmed = run("reset", "--url", stub.url, input="y\n")
    assert confirmed.returncode == 0, confirmed.stderr
    assert table(run(*listing)) == []
    # Projects stay: the DSN still works after a reset.
    send_messages(dsn, ("again", "staging", "a@1"))
    assert [r["title"] for r in table(run(*listing))] == ["again"]


# --- connection errors ------------------------------------------------------------------------

CLIENT_COMMANDS = [
    ("dsn",),
    ("query", "event.type:error | count()"),
    ("events",),
    ("events", "--follow"),
    ("alerts",),
    ("reset", "--yes"),
    ("check", "pii"),
    ("check", "sampling", "0.5"),
    ("check", "releases"),
]


@pytest.mark.parametrize("command", CLIENT_COMMANDS, ids=" ".join)
def test_an_unreachable_server_gets_a_hint_and_status_2(command: tuple[str, ...]) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # bound and released: nothing listens there
    result = run(*command, "--url", url)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"sentry-stub: cannot reach sentry-stub at {url}: Connection refused. "
        "Start it with `sentry-stub serve`, or point --url / SENTRY_STUB_URL at it\n"
    )


def test_a_malformed_url_is_a_usage_error() -> None:
    result = run("events", "--url", "ftp://example")
    assert result.returncode == 2
    assert "argument --url: sentry-stub URL must look like http://HOST:PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_on_a_taken_port_says_so(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--port", str(port), "--db", str(tmp_path / "stub.sqlite3"))
    assert result.returncode == 2
    assert result.stderr == (
        f"sentry-stub: cannot listen on 127.0.0.1:{port}: Address already in use. Choose "
        "another address with --port / SENTRY_STUB_PORT or --host / SENTRY_STUB_HOST\n"
    )


def test_the_hint_names_the_url_from_the_environment() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run("events", SENTRY_STUB_URL=url)
    assert result.returncode == 2
    assert f"cannot reach sentry-stub at {url}: Connection refused." in result.stderr
