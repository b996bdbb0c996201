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


@pytest.mark.parametrize("server", ["process", "thread"])
def test_sdk_in_the_test_process_does_not_trace_the_stub(inner: pytest.Pytester, server) -> None:
    """An app with default integrations and tracing on, sending to the plugin's server."""
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
    # A process of its own: sentry-sdk's global scope would carry breadcrumbs between sessions.
    result = inner.runpytest_subprocess("-p", "no:randomly", f"--sentry-stub-server={server}")
    result.assert_outcomes(passed=1)


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
    result.stdout.fnmatch_lines(
        [
            "*cannot reach sentry-stub at http://127.0.0.1:9: Connection refused. Start it with "
            "`sentry-stub serve`, or fix --sentry-stub-url / SENTRY_STUB_URL*"
        ]
    )
    assert "Traceback" not in result.stdout.str()


# --- query warnings, wrong arguments, failures that say what to do ------------------------------


def test_query_warnings_are_pytest_warnings_at_the_tests_line(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        test_warned="""
        import pytest
        from helpers import send
        from sentry_stub import SentryStubQueryWarning

        def test_tag_instead_of_field(sentry_stub):
            send(sentry_stub.dsn, "boom")
            sentry_stub.wait_for("message:boom")
            assert sentry_stub.events("type:error") == []

        def test_caught(sentry_stub):
            with pytest.warns(SentryStubQueryWarning, match="has:tags.nope"):
                sentry_stub.events("tags.nope:*")
            with pytest.warns(SentryStubQueryWarning, match="is SQL"):
                sentry_stub.query(["count()"], "event.type = 'error'")
        """
    )
    result = inner.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*test_warned.py:8: SentryStubQueryWarning: `type` is not a field*did you mean "
            "`event.type:error`*",
        ]
    )


def test_wait_for_timeout_names_the_warning_beside_the_miss(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        from helpers import send

        def test_wrong_key(sentry_stub):
            send(sentry_stub.dsn, "boom")
            sentry_stub.wait_for("type:error", timeout=0.5)
        """
    )
    result = inner.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*waited 0.5s for 1 event(s) matching 'type:error'*",
            "*Query warnings:",
            "*`type` is not a field*",
            "*excluded by type:error (did you mean `event.type:error`*?)",
        ]
    )


def test_a_failing_test_shows_the_query_warnings_it_met(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        from helpers import send

        def test_counts(sentry_stub):
            send(sentry_stub.dsn, "boom")
            sentry_stub.wait_for("message:boom")
            assert len(sentry_stub.events("enviroment:production")) == 1
        """
    )
    result = inner.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*sentry-stub query warnings*", "*did you mean `environment:production`*"]
    )


def test_nothing_arrived_shows_the_dsn_and_that_no_request_came(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SENTRY_DSN", raising=False)  # sentry_sdk.init() would read it
    inner.makepyfile(
        """
        import sentry_sdk

        def test_no_dsn(sentry_stub):
            sentry_sdk.init()  # the DSN was never passed: the SDK sends nothing
            sentry_sdk.capture_message("lost")
            print("DSN:", sentry_stub.dsn)
            sentry_stub.wait_for("message:lost", timeout=0.3)
        """
    )
    result = inner.runpytest("-rP")
    result.assert_outcomes(failed=1)
    dsn = next(line for line in result.outlines if line.startswith("DSN: ")).split()[1]
    result.stdout.fnmatch_lines(
        [
            "*items by type:    nothing*",
            "*Nothing arrived with this test's DSN. The app must send to:",
            f"*  {dsn}",
            "*No request reached the server at all since the test began*",
            "*call sentry_sdk.flush() before asserting*",
        ]
    )


def test_nothing_arrived_with_this_dsn_but_with_another(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        from helpers import send

        def test_other_key(sentry_stub):
            scheme, rest = sentry_stub.dsn.split("//")
            other = scheme + "//" + "f" * 32 + "@" + rest.split("@")[1]
            send(other, "elsewhere")
            # A view that sees only key e...e, as a pytest-xdist worker's does.
            scoped = sentry_stub.client.scoped(["e" * 32])
            view = type(sentry_stub)(scoped, cursor=sentry_stub.cursor)
            view.wait_for("message:elsewhere", timeout=0.3)
        """
    )
    result = inner.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*The server did receive event=1 since the test began, with another DSN key*"]
    )


def test_sample_rate_without_flush_names_the_missing_flush(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import sentry_sdk

        def test_unflushed(sentry_stub):
            sentry_sdk.init(dsn=sentry_stub.dsn, default_integrations=False, traces_sample_rate=0.5)
            for _ in range(200):
                with sentry_sdk.start_transaction(name="work"):
                    pass
            # What was sent gets through; the client report that flush() would add does not.
            sentry_sdk.get_client().transport._worker.flush(5)
            sentry_stub.wait_for("event.type:transaction")
            sentry_stub.assert_sample_rate(0.5)

        def test_nothing(sentry_stub):
            sentry_stub.assert_sample_rate(0.5)
        """
    )
    result = inner.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*likely cause: no client report arrived at all, so the transactions the SDK "
            "sampled out are not counted yet: call sentry_sdk.flush() before the assertion*",
        ]
    )
    result.stdout.fnmatch_lines(["*nothing to measure*", "*Nothing arrived with this test's DSN*"])


def test_search_mistakes_raise_clear_errors(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest
        from helpers import send
        from sentry_stub import QuerySyntaxError

        def test_errors(sentry_stub):
            send(sentry_stub.dsn, "boom")
            sentry_stub.wait_for("message:boom")
            with pytest.raises(QuerySyntaxError) as bad:
                sentry_stub.events("level:error ((")
            caret = "  level:error ((\\n  " + " " * 13 + "^"  # under the unclosed "("
            assert str(bad.value).endswith(caret)
            pipe = "event.type:error | count() by level"
            with pytest.raises(QuerySyntaxError, match=r"sentry_stub.pipe"):
                sentry_stub.query(["count()"], pipe)
            assert sentry_stub.pipe("| count() by level") == [{"level": "info", "count()": 1}]
            with pytest.raises(TypeError) as wrong:
                sentry_stub.query("count()")
            assert 'fields must be a list of strings such as ["count()"]' in str(wrong.value)
        """
    )
    inner.runpytest().assert_outcomes(passed=1)
