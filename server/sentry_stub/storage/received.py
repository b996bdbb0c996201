"""What acknowledging an envelope stores: one ``envelopes`` row, inside the writer's transaction.

``store_envelope`` runs while the sender waits for its answer; everything else an envelope yields
(items, events, tags, spans ...) is derived from this row after the response has gone, by the
derivation the database was given (``processing/derivation.py``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

import orjson

from ..protocol.envelope import ParsedEnvelope
from ..settings.values import Project
from . import packing
from .inserts import insert


@dataclass
class Received:
    """An accepted envelope and the facts of its request, ready to be stored."""

    envelope: ParsedEnvelope
    raw: bytes
    project: Project
    endpoint: str
    public_key: str
    received_at: float
    event_id: str | None = None
    client: str | None = None
    remote_addr: str | None = None
    notes: list[str] = field(default_factory=list)
    dropped: frozenset[int] = frozenset()  # indexes of items a fault rule kept from storage


def store_envelope(connection: sqlite3.Connection, received: Received) -> int:
    """Insert the envelope row that acknowledging ``received`` needs; returns its id.

    Everything else an envelope yields (items, events, tags, spans ...) is derived from this row
    after the response has gone: see ``processing/derivation.py``.
    """
    raw, raw_encoding = packing.pack(received.raw)
    return insert(
        connection,
        "envelopes",
        {
            "received_at": received.received_at,
            "project_id": received.project.id,
            "endpoint": received.endpoint,
            "event_id": received.event_id,
            "headers": orjson.dumps(received.envelope.headers).decode(),
            "raw": raw,
            "raw_encoding": raw_encoding,
            "notes": orjson.dumps(received.notes).decode() if received.notes else None,
            "dropped_items": orjson.dumps(sorted(received.dropped)).decode()
            if received.dropped
            else None,
            "public_key": received.public_key,
            "client": received.client,
            "remote_addr": received.remote_addr,
        },
    )
