"""The pytest plugin, exercised the way users run it: inner pytest sessions via ``pytester``."""

from __future__ import annotations

import pytest

from client_tests.support import ServerProcess

pytest_plugins = ["pytester"]

SEND = """
import sentry_sdk

def send(dsn, message, **options):
    sentry_sdk.init(dsn=dsn, default_integrations=False, **options)
    sentry_sdk.capture_message(message)
    sentry_sdk.flush()
"""


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(helpers=SEND)
    pytester.syspathinsert()
    return pytester


def test_events_and_wait_for_pass(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        from helpers import send

        def test_message(sentry_stub):
            send(sentry_stub.dsn, "checkout failed", environment="production")
            [event] = sentry_stub.wait_for("message:checkout environment:production")
            assert event.message == "checkout failed"
            assert event.tags == {}
            assert event.project == "default"
            assert sentry_stub.events("environment:staging") == []
        """
    )
    inner.runpytest("-p", "no:randomly").assert_outcomes(passed=1)


def test_wait_for_timeout_reports_what_arrived_and_the_nearest_miss(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        from helpers import send

        def test_wrong_environment(sentry_stub):
            send(sentry_stub.dsn, "checkout failed", environment="staging")
            sentry_stub.wait_for("message:checkout environment:production", timeout=0.5)
        """
    )
    result = inner.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*waited 0.5s for 1 event(s) matching 'message:checkout environment:production'*",
            "*events by type:   default=1*",
            "*'checkout failed' (project default): excluded by environment:production*",
        ]
    )


def test_wait_for_timeout_names_client_report_discards(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import sentry_sdk
        from helpers import send

        def test_dropped(sentry_stub):
            send(sentry_stub.dsn, "never sent", before_send=lambda event, hint: None)
            sentry_sdk.get_client().transport._flush_client_reports(force=True)
            sentry_sdk.flush()
            sentry_stub.wait_for("message:never", timeout=1)
        """
    )
    result = inner.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the SDK reported dropping*", "*1 x error (before_send)*"])


def test_each_test_sees_only_its_own_events(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        from helpers import send

        def test_first(sentry_stub):
            send(sentry_stub.dsn, "first")
            sentry_stub.wait_for("message:first")

        def test_second(sentry_stub):
            send(sentry_stub.dsn, "second")
            events = sentry_stub.wait_for("message:second")
            assert [e.message for e in sentry_stub.events()] == ["second"]
        """
    )
    inner.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_fail_on_unasserted_events(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest
        from helpers import send

        @pytest.mark.sentry_stub(fail_on_unasserted=True)
        def test_guarded(sentry_stub):
            send(sentry_stub.dsn, "expected")
            send(sentry_stub.dsn, "surprise from the backend")
            sentry_stub.wait_for("message:expected")
        """
    )
    result = inner.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*1 event(s) arrived that the test never looked at*", "*surprise*"]
    )


def test_snapshot_written_then_compared(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner.makepyfile(
        test_snap="""
        import os
        from helpers import send

        def test_snapshot(sentry_stub):
            send(sentry_stub.dsn, os.environ.get("MESSAGE", "stable"), release="app@1")
            [event] = sentry_stub.wait_for("release:app@1")
            sentry_stub.assert_snapshot(event, "message")
        """
    )
    inner.runpytest("--sentry-stub-update-snapshots").assert_outcomes(passed=1)
    snapshot = inner.path / "__snapshots__" / "test_snapshot" / "message.json"
    assert '"event_id": "<event_id>"' in snapshot.read_text()
    inner.runpytest().assert_outcomes(passed=1)  # ids and timestamps differ; normalized away
    monkeypatch.setenv("MESSAGE", "changed")
    result = inner.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*event differs from snapshot*", '*+*"changed"*'])


def test_sdk_in_the_test_process_does_not_trace_the_stub(inner: pytest.Pytester) -> None:
    """An app with default integrations and tracing on, sending to the in-process server."""
    inner.makepyfile(
        """
        import sentry_sdk

        def test_app(sentry_stub):
            sentry_sdk.init(dsn=sentry_stub.dsn, traces_sample_rate=1.0)
            with sentry_sdk.start_transaction(name="app-work"):
                sentry_sdk.capture_message("from the app")
            sentry_sdk.flush()
            sentry_stub.wait_for("transaction:app-work")
            sentry_stub.wait_for("message:from the app")
            events = sentry_stub.events()
            assert sorted(e.title for e in events) == ["app-work", "from the app"], events
            [message] = sentry_stub.events("message:from the app")
            crumbs = [b.get("data", {}).get("url", "") for b in message.breadcrumbs]
            assert not any("/stub/api" in url for url in crumbs), crumbs
        """
    )
    inner.runpytest().assert_outcomes(passed=1)


def test_remote_mode_uses_a_running_server(inner: pytest.Pytester, tmp_path) -> None:
    server = ServerProcess(tmp_path / "remote.sqlite3").start()
    try:
        inner.makepyfile(
            f"""
            from helpers import send

            def test_remote(sentry_stub):
                assert sentry_stub.url == "{server.url}"
                send(sentry_stub.dsn, "to the service")
                sentry_stub.wait_for("message:service")
            """
        )
        inner.runpytest(f"--sentry-stub-url={server.url}").assert_outcomes(passed=1)
    finally:
        server.stop()


def test_remote_mode_with_xdist_workers_stay_isolated(inner: pytest.Pytester, tmp_path) -> None:
    server = ServerProcess(tmp_path / "shared.sqlite3").start()
    tests = "\n".join(
        f"""
def test_{n}(sentry_stub):
    send(sentry_stub.dsn, "message {n}")
    sentry_stub.wait_for("message:{n}")
    time.sleep(0.3)  # let the other worker's events arrive meanwhile
    assert [e.message for e in sentry_stub.events()] == ["message {n}"]
"""
        for n in range(6)
    )
    try:
        inner.makepyfile("import time\nfrom helpers import send\n" + tests)
        result = inner.runpytest("-n", "2", f"--sentry-stub-url={server.url}")
        result.assert_outcomes(passed=6)
    finally:
        server.stop()


def test_unreachable_remote_server_fails_clearly(inner: pytest.Pytester) -> None:
    inner.makepyfile("def test_x(sentry_stub):\n    pass\n")
    result = inner.runpytest("--sentry-stub-url=http://127.0.0.1:9")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*Connection refused*"])
