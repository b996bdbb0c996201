"""The real sentry-sdk against fault rules of a real ``sentry-stub serve`` process.

A ``429`` with ``X-Sentry-Rate-Limits: 2:error:key`` must make the SDK stop sending errors for
two seconds (transactions still go out) and later report what it held back as
``ratelimit_backoff``; a ``500`` and a dropped connection must make it report ``network_error``.
Each test uses its own project, so its rules touch nothing else on the shared server.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk

from client_tests.support import ServerProcess, sentry_client
from sentry_stub.client import StubClient
from sentry_stub.view import StubView

RETRY_AFTER = 2


@pytest.fixture
def view(stub_process: ServerProcess) -> Iterator[StubView]:
    view = StubView(StubClient(stub_process.url))
    yield view
    view.remove_faults()


@contextlib.contextmanager
def sdk(dsn: str, **options: Any) -> Iterator[None]:
    """A sentry-sdk client with fresh scopes for the block; closed at its end."""
    with sentry_client(dsn, default_integrations=False, send_client_reports=True, **options):
        yield


def wait_for_discards(view: StubView, project: str, expected: tuple) -> list[tuple]:
    deadline = time.monotonic() + 5
    while True:
        discards = [
            (d["reason"], d["category"], d["quantity"]) for d in view.discards(project=project)
        ]
        if expected in discards or time.monotonic() > deadline:
            return discards
        time.sleep(0.05)


def test_429_makes_the_sdk_back_off_errors_and_report_it(view: StubView) -> None:
    project = "faults-backoff"
    dsn = view.dsn_for(project)
    rule = view.fault(
        "rate_limit", project=project, categories="error", retry_after=RETRY_AFTER, count=1
    )
    with sdk(dsn, traces_sample_rate=1.0):
        sentry_sdk.capture_message("refused by the server")
        sentry_sdk.flush(5)  # the 429 has been read when flush returns
        limited_at = time.monotonic()
        sentry_sdk.capture_message("held back by the SDK")
        sentry_sdk.capture_message("held back too")
        with sentry_sdk.start_transaction(op="task", name="still-sent"):
            pass
        sentry_sdk.flush(5)
        view.wait_for("transaction:still-sent", project=project)
        assert [e for e in view.events(project=project) if e.type != "transaction"] == []
        assert time.monotonic() - limited_at < RETRY_AFTER, "too slow to observe the backoff"

        time.sleep(max(0.0, limited_at + RETRY_AFTER + 0.2 - time.monotonic()))
        after = sentry_sdk.capture_message("sent once the limit expired")
        sentry_sdk.flush(5)

    view.wait_for(f"id:{after}", project=project)
    assert rule.hits == 1
    discards = wait_for_discards(view, project, ("ratelimit_backoff", "error", 2))
    assert ("ratelimit_backoff", "error", 2) in discards
    assert not any(reason == "ratelimit_backoff" and category == "transaction"
                   for reason, category, _ in discards)  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "options"), [("status", {"status": 500}), ("drop", {})], ids=["500", "drop"]
)
def test_failed_sends_are_reported_as_network_errors(
    view: StubView, kind: str, options: dict
) -> None:
    project = f"faults-{kind}"
    dsn = view.dsn_for(project)
    rule = view.fault(kind, project=project, categories="error", count=1, **options)
    with sdk(dsn):
        sentry_sdk.capture_message("lost on the way")
        sentry_sdk.flush(5)  # sends the client report after the failed envelope

    discards = wait_for_discards(view, project, ("network_error", "error", 1))
    assert ("network_error", "error", 1) in discards
    assert rule.hits == 1
    assert view.events(project=project) == []
