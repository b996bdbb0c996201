"""Run by ``test_image.py`` in its own pytest, with ``--sentry-stub-url`` naming the container.

Not collected by itself (its name does not start with ``test_``): without the option it would
check an in-process server, not the container. The real sentry-sdk sends from this process
through the published port; the plugin's ``sentry_stub`` fixture reads back in remote mode.
"""

from __future__ import annotations

import os

import sentry_sdk

from client_tests.support import sentry_client
from sentry_stub.view import StubView

RELEASE = os.environ["SDK_CHECK_RELEASE"]


def test_an_error_and_a_transaction_arrive(sentry_stub: StubView) -> None:
    with (
        sentry_client(sentry_stub.dsn, release=RELEASE, traces_sample_rate=1.0),
        sentry_sdk.start_transaction(name="container-check", op="test"),
    ):
        try:
            1 / 0  # noqa: B018
        except ZeroDivisionError:
            sentry_sdk.capture_exception()

    [error] = sentry_stub.wait_for(f"event.type:error release:{RELEASE}")
    assert error.exception[-1]["type"] == "ZeroDivisionError"
    [transaction] = sentry_stub.wait_for("event.type:transaction transaction:container-check")
    assert transaction.release == RELEASE
    assert error["contexts"]["trace"]["trace_id"] == transaction["contexts"]["trace"]["trace_id"]
