"""The long poll of ``/stub/api/wait``: it answers when the cursor moves either way.

`sentry-stub events --follow`, the UI's live dot and ``wait_for`` all follow the receive cursor
with it; a reset moves the cursor back, and a follower must hear of it at once, not at its
next timeout.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor

from sentry_stub import StubServer
from sentry_stub.client import StubClient
from tests.sending import post_event

# Far longer than any answer here takes: a wait that answers at its timeout leaves the
# future unfinished when the test looks, so the test fails instead of passing late.
LONG_POLL = 60.0
SETTLE = 20.0


def _waiting(client: StubClient, after: int) -> tuple[ThreadPoolExecutor, Future[int]]:
    pool = ThreadPoolExecutor(1)
    return pool, pool.submit(client.wait, after=after, timeout=LONG_POLL)


def test_an_arrival_answers_the_wait_with_the_new_cursor(server: StubServer) -> None:
    client = StubClient(server.url, timeout=LONG_POLL + 10)
    before = client.cursor()
    pool, answer = _waiting(client, before)
    with pool:
        post_event(server, {"event_id": uuid.uuid4().hex, "message": "wakes the poll"})
        assert answer.result(SETTLE) > before


def test_a_reset_answers_the_wait_with_the_cursor_below_after(server: StubServer) -> None:
    client = StubClient(server.url, timeout=LONG_POLL + 10)
    post_event(server, {"event_id": uuid.uuid4().hex, "message": "before the reset"})
    before = client.cursor()
    assert before > 0
    pool, answer = _waiting(client, before)
    with pool:
        client.reset()
        assert answer.result(SETTLE) < before


def test_a_cursor_already_below_after_answers_at_once(server: StubServer) -> None:
    client = StubClient(server.url, timeout=LONG_POLL + 10)
    ahead = client.cursor() + 1000
    pool, answer = _waiting(client, ahead)
    with pool:
        assert answer.result(SETTLE) == client.cursor()


def test_a_quiet_server_answers_the_unchanged_cursor_at_the_timeout(server: StubServer) -> None:
    client = StubClient(server.url)
    before = client.cursor()
    started = time.monotonic()
    assert client.wait(after=before, timeout=0.3) == before
    assert time.monotonic() - started >= 0.3  # it waited: nothing moved the cursor
