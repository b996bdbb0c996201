"""Forwarding: every accepted envelope queued in its acknowledging commit, then sent upstream.

``Forwarder.store`` replaces ``store_envelope`` on the ingest path when a project forwards: it
stores the envelope and, in the same writer operation, its ``forwards`` row (forward_queue.py).
A ``Sender`` thread, woken after each commit, sends each project's oldest pending envelope as
``outgoing.py`` makes it, and records the outcome through the writer as ``policy.py`` decides.
Ingest never waits for it: an upstream that is slow, down or rate limiting only keeps rows
pending. Rate limits the upstream announces hold back later envelopes of those categories too.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from functools import partial

from ..outbound import Sender, post
from ..protocol.envelope import EnvelopeError
from ..settings.values import Project
from ..storage import forward_queue
from ..storage.database import Database
from ..storage.received import Received, store_envelope
from .outgoing import data_categories, outgoing_envelope
from .policy import Decision, RateLimit, decide, limit_wait
from .upstream import Upstream

logger = logging.getLogger("sentry_stub.forwarding")

TIMEOUT = 10.0  # seconds for one attempt; an SDK's own timeout is of this order


class Forwarder:
    def __init__(
        self, database: Database, default_dsn: str | None, limit: int = forward_queue.MAX_PENDING
    ):
        self.database = database
        self.default_dsn = default_dsn
        self.limit = limit
        self._sender = Sender("sentry-stub-forward", self.deliver_due, TIMEOUT + 2)
        # Per project: rate limits the upstream announced, each with when it ends.
        self._holds: dict[int, list[tuple[RateLimit, float]]] = {}

    def target(self, project: Project) -> str | None:
        """The upstream DSN of ``project``'s envelopes, if they are forwarded."""
        return project.forward_to or self.default_dsn

    def store(self, connection: sqlite3.Connection, received: Received) -> int:
        """``store_envelope``, plus the envelope's place in the forward queue (writer thread)."""
        envelope_id = store_envelope(connection, received)
        target = self.target(received.project)
        if target is not None:
            forward_queue.enqueue(
                connection, envelope_id, received.project.id, target, limit=self.limit
            )
        return envelope_id

    def start(self) -> None:
        self._sender.start()  # delivers what an earlier run left pending, configured or not

    def wake(self) -> None:
        self._sender.wake()

    def stop(self) -> None:
        self._sender.stop()

    def deliver_due(self) -> float | None:
        """Send every head that is due, until none is; the seconds until the next falls due."""
        while not self._sender.stopping:
            heads = forward_queue.heads(self.database.reader())
            if not heads:
                return None
            now = time.time()
            due = [head for head in heads if head.next_attempt_at <= now]
            if not due:
                return min(head.next_attempt_at for head in heads) - now
            for head in due:
                if self._sender.stopping:
                    return None
                self._attempt(head)
        return None

    def _attempt(self, head: forward_queue.Head) -> None:
        upstream = Upstream.from_dsn(head.target)
        try:
            body = outgoing_envelope(head.raw, dropped=head.dropped_items, dsn=upstream.dsn)
            categories = data_categories(body)
        except EnvelopeError as error:  # stored envelopes parse; this is a bug, not a retry
            self._record(head, Decision("dropped", None, f"cannot rebuild the envelope: {error}"))
            return
        now = time.time()
        hold = self._held(head.project_id, categories, now)
        if hold > 0:
            reason = f"held back {hold:.3g} s by the upstream's rate limit"
            self._record(head, Decision("pending", None, reason, hold), attempted=False)
            return
        answer = post(upstream.envelope_url, body, upstream.auth_headers, TIMEOUT)
        decision = decide(answer, head.attempts + 1, categories)
        if decision.limits:
            holds = self._holds.setdefault(head.project_id, [])
            holds.extend((limit, now + limit.seconds) for limit in decision.limits)
        if decision.state == "dropped":
            logger.warning("envelope %s not forwarded: %s", head.envelope_id, decision.reason)
        self._record(head, decision)

    def _held(self, project_id: int, categories: set[str], now: float) -> float:
        """How long the upstream's announced rate limits still hold back these categories."""
        holds = [(limit, end) for limit, end in self._holds.get(project_id, []) if end > now]
        self._holds[project_id] = holds
        active = [RateLimit(end - now, limit.categories) for limit, end in holds]
        return limit_wait(active, categories)

    def _record(self, head: forward_queue.Head, decision: Decision, attempted: bool = True) -> None:
        record = partial(
            forward_queue.record,
            head=head,
            state=decision.state,
            attempts=head.attempts + attempted,
            status=decision.status,
            reason=decision.reason,
            next_attempt_at=time.time() + decision.retry_in,
        )
        self.database.writer.run_sync(record)
