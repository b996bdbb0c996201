"""Replay: stored envelopes sent again, in receive order, to the ingest endpoint of a DSN.

Each goes out as forwarding sends it (``outgoing.py``): its bytes as stored, the header's ``dsn``
rewritten, items a fault rule kept out left out, and with ``new_ids`` a fresh event id. An
answer that says *later* (``429``, ``5xx``, no connection) is waited out as ``policy.py`` says,
up to ``ATTEMPTS`` tries; anything else is the envelope's outcome.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..outbound import post
from .outgoing import data_categories, outgoing_envelope
from .policy import decide
from .upstream import Upstream

ATTEMPTS = 5
TIMEOUT = 10.0


@dataclass
class Summary:
    sent: int = 0
    failed: list[str] = field(default_factory=list)  # one line per envelope not accepted

    @property
    def total(self) -> int:
        return self.sent + len(self.failed)


def replay(
    records: Iterable[dict],
    upstream: Upstream,
    *,
    new_ids: bool = False,
    progress: Callable[[Summary], None] = lambda summary: None,
    sleep: Callable[[float], None] = time.sleep,
) -> Summary:
    """Send each export record's envelope to ``upstream``; what was accepted and what not."""
    summary = Summary()
    for record in records:
        new_id = uuid.uuid4().hex if new_ids else None
        body = outgoing_envelope(
            base64.b64decode(record["envelope"]),
            dropped=record.get("dropped_items") or (),
            dsn=upstream.dsn,
            new_event_id=new_id,
        )
        outcome = _send(body, upstream, sleep)
        if outcome is None:
            summary.sent += 1
        else:
            summary.failed.append(f"envelope {record.get('event_id') or record['id']}: {outcome}")
        progress(summary)
    return summary


def _send(body: bytes, upstream: Upstream, sleep: Callable[[float], None]) -> str | None:
    """None once accepted, else why not."""
    categories = data_categories(body)
    attempt = 0
    while True:
        attempt += 1
        answer = post(upstream.envelope_url, body, upstream.auth_headers, TIMEOUT)
        decision = decide(answer, attempt, categories)
        if decision.state == "sent":
            return None
        if decision.state == "dropped" or attempt >= ATTEMPTS:
            return decision.reason or answer.describe()
        sleep(decision.retry_in)
