"""How the plugin runs its server: a child process by default, a thread on request."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sentry_stub import StubClient, StubConnectionError, StubProcess

pytest_plugins = ["pytester"]

SERVER_STACK = ("uvicorn", "starlette", "sqlite_utils", "sentry_stub.server", "sentry_stub.storage")

SEND_AND_READ = f"""
import sys, threading
import sentry_sdk

def send_and_read(sentry_stub):
    sentry_sdk.init(dsn=sentry_stub.dsn, default_integrations=False)
    sentry_sdk.capture_message("through the plugin's server")
    sentry_sdk.flush()
    [event] = sentry_stub.wait_for("message:plugin")
    assert event.message == "through the plugin's server"

def server_stack_loaded():
    stack = {SERVER_STACK!r}
    below = tuple(f"{{name}}." for name in stack)
    return sorted(m for m in sys.modules if m in stack or m.startswith(below))

def server_threads():
    return [t.name for t in threading.enumerate() if t.name == "sentry-stub"]
"""


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(helpers=SEND_AND_READ)
    pytester.syspathinsert()
    return pytester


def refuses(url: str) -> bool:
    try:
        StubClient(url).cursor()
    except StubConnectionError:
        return True
    return False


def test_the_default_server_is_a_child_process_and_the_test_process_stays_light(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        """
        from helpers import send_and_read, server_stack_loaded, server_threads

        def test_child(sentry_stub):
            send_and_read(sentry_stub)
            assert server_stack_loaded() == []
            assert server_threads() == []
        """
    )
    inner.runpytest_subprocess("-p", "no:randomly").assert_outcomes(passed=1)


def test_the_thread_option_serves_from_the_test_process(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        from helpers import send_and_read, server_stack_loaded, server_threads

        def test_thread(sentry_stub):
            send_and_read(sentry_stub)
            assert "sentry_stub.server" in server_stack_loaded()
            assert server_threads() == ["sentry-stub"]
        """
    )
    result = inner.runpytest_subprocess("-p", "no:randomly", "--sentry-stub-server=thread")
    result.assert_outcomes(passed=1)


def test_the_environment_can_choose_the_thread(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SENTRY_STUB_SERVER", "thread")
    inner.makepyfile(
        """
        from helpers import server_threads

        def test_thread(sentry_stub):
            assert server_threads() == ["sentry-stub"]
        """
    )
    inner.runpytest_subprocess("-p", "no:randomly").assert_outcomes(passed=1)


def test_an_unknown_server_kind_in_the_environment_fails_clearly(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SENTRY_STUB_SERVER", "fork")
    inner.makepyfile("def test_x(sentry_stub):\n    pass\n")
    result = inner.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*SENTRY_STUB_SERVER='fork': expected one of process, thread*"])


def test_a_config_error_fails_the_session_with_the_childs_message(
    inner: pytest.Pytester, tmp_path: Path
) -> None:
    config = tmp_path / "sentry-stub.toml"
    config.write_text("[server]\nbogus = 1\n")
    inner.makepyfile("def test_x(sentry_stub):\n    pass\n")
    result = inner.runpytest_subprocess("-p", "no:randomly", f"--sentry-stub-config={config}")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*the sentry-stub server did not start:*",
            "*unknown config key server.'bogus'; expected one of: allowed_hosts*",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_the_child_server_ends_with_a_killed_test_session(
    inner: pytest.Pytester, tmp_path: Path
) -> None:
    """SIGKILL leaves no time to clean up: the child sees its stdin close and stops itself."""
    url_file = tmp_path / "url"
    inner.makepyfile(
        f"""
        import pathlib, time

        def test_hangs(sentry_stub):
            pathlib.Path({str(url_file)!r}).write_text(sentry_stub.url)
            time.sleep(120)
        """
    )
    session = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider"],
        cwd=inner.path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(inner.path), *sys.path])},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not url_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        url = url_file.read_text()
        assert not refuses(url)
    finally:
        os.kill(session.pid, signal.SIGKILL)
        session.wait()
    deadline = time.monotonic() + 10
    while not refuses(url) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert refuses(url), f"the server at {url} outlived its killed test session"


def test_stub_process_as_a_library() -> None:
    with StubProcess() as stub:
        client = StubClient(stub.url)
        assert stub.dsn == client.projects()[0]["dsn"]
        web = stub.dsn_for("frontend")
        assert [p["dsn"] for p in client.projects() if p["slug"] == "frontend"] == [web]
        host, port = stub.url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        connection.request("GET", "/api/relay/healthcheck/live/")
        assert connection.getresponse().status == 200
        connection.close()
    assert refuses(stub.url)
