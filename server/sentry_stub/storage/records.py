"""Writing one received envelope: its raw bytes, then one row per item and the rows tests query.

Both run inside the writer's transaction: ``store_envelope`` while the sender waits for its
answer, ``derive_rows`` afterwards (see ``derivation.py``). Each stores everything or nothing.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..ingest.attachment_event import event_from_attachments
from ..ingest.extract import Rows, dsc_notes, extract_rows
from ..ingest.security import security_event
from ..protocol.envelope import EVENT_BOUND_TYPES, Envelope, Item
from ..rules.processing import event_fingerprint, process_event
from ..settings.values import Project
from . import packing, stored
from .projects import save_project

# Items whose payload is a JSON document we index.
JSON_TYPES = frozenset(
    {
        "event",
        "transaction",
        "feedback",
        "security",
        "raw_security",
        "client_report",
        "session",
        "sessions",
        "check_in",
        "log",
        "otel_log",
        "span",
        "trace_metric",
        "user_report",
        "profile",
        "profile_chunk",
        "profile_chunk_ui",
        "replay_event",
        "nel",
    }
)
# Attachment types that Relay turns into (part of) an event.
EVENT_ATTACHMENTS = frozenset({"event.payload", "event.breadcrumbs"})


@dataclass
class Received:
    """An accepted envelope and the facts of its request, ready to be stored."""

    envelope: Envelope
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
    after the response has gone: see ``derivation.py``.
    """
    raw, raw_encoding = packing.pack(received.raw)
    return _insert(
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


def derive_rows(connection: sqlite3.Connection, received: Received, envelope_id: int) -> None:
    """Insert the items of envelope ``envelope_id`` and the rows tests query."""
    save_project(connection, received.project)
    notes = list(received.notes) + dsc_notes(received.envelope.headers.get("trace"))
    context = _Context(connection, received, envelope_id, notes)
    for index, item in enumerate(received.envelope.items):
        context.store_item(index, item)
    context.store_attachment_event()
    if notes != received.notes:
        connection.execute(
            "UPDATE envelopes SET notes = ? WHERE id = ?",
            (orjson.dumps(notes).decode(), envelope_id),
        )


class _Context:
    def __init__(
        self, connection: sqlite3.Connection, received: Received, envelope_id: int, notes: list
    ):
        self.connection = connection
        self.received = received
        self.envelope_id = envelope_id
        self.notes = notes
        self.has_event = False
        self.event_attachments: list[tuple[int, Item]] = []

    def store_item(self, index: int, item: Item) -> None:
        received = self.received
        headers = item.headers
        event_id = received.event_id if item.type in EVENT_BOUND_TYPES else None
        item_id = _insert(
            self.connection,
            "items",
            {
                "envelope_id": self.envelope_id,
                "project_id": received.project.id,
                "received_at": received.received_at,
                "idx": index,
                "type": item.type,
                "headers": orjson.dumps(headers).decode(),
                "payload_offset": item.offset,
                "length": len(item.payload),
                "payload": item.payload if item.offset is None else None,
                "content_type": _text(headers.get("content_type")),
                "filename": _text(headers.get("filename")),
                "attachment_type": _text(headers.get("attachment_type"))
                or ("event.attachment" if item.type == "attachment" else None),
                "event_id": event_id,
                "public_key": received.public_key,
            },
        )
        if item.type == "attachment" and headers.get("attachment_type") in EVENT_ATTACHMENTS:
            self.event_attachments.append((item_id, item))
        if item.type == "form_data":
            self.event_attachments.append((item_id, item))
        if item.type not in JSON_TYPES:
            return
        try:
            payload: Any = orjson.loads(item.payload)
        except orjson.JSONDecodeError as error:
            self.notes.append(
                f"item {index} ({item.type}): payload is not valid JSON ({error}); "
                "Relay accepts the envelope and drops this item as invalid"
            )
            return
        if item.type == "raw_security":
            self.store_security_event(item_id, payload, headers, event_id)
            return
        rows = extract_rows(item.type, payload, headers)
        self.store_rows(item_id, rows, payload if isinstance(payload, dict) else None, event_id)

    def store_security_event(
        self, item_id: int, report: Any, headers: dict, event_id: str | None
    ) -> None:
        """A browser report becomes the event Relay makes of it (type ``csp``)."""
        event, notes = security_event(
            report,
            release=_text(headers.get("sentry_release")),
            environment=_text(headers.get("sentry_environment")),
            origin=_text(self.received.envelope.headers.get("origin")),
        )
        self.notes.extend(notes)
        if event is not None:
            rows = extract_rows("event", event, {"type": "event"})
            self.store_rows(item_id, rows, event, event_id, synthesized=True)

    def store_attachment_event(self) -> None:
        """The event Relay builds from MessagePack attachments and form data, when no event item."""
        if self.has_event or not self.event_attachments:
            return
        event, notes = event_from_attachments(self.received.envelope.items)
        self.notes.extend(notes)
        if event is None:
            return
        if self.received.event_id:
            event["event_id"] = self.received.event_id
        rows = extract_rows("event", event, {"type": "event"})
        item_id = self.event_attachments[0][0]
        self.store_rows(item_id, rows, event, self.received.event_id, synthesized=True)

    def store_rows(
        self,
        item_id: int,
        rows: Rows,
        event: dict | None,
        event_id: str | None,
        *,
        synthesized: bool = False,
    ) -> None:
        received = self.received
        common = {
            "item_id": item_id,
            "project_id": received.project.id,
            "received_at": received.received_at,
        }
        self.notes.extend(rows.notes)
        if rows.event is not None and event is not None:
            self.has_event = True
            row = {**rows.event, **common}
            if event_id:
                row["event_id"] = event_id
            row["data"] = orjson.dumps(event).decode() if synthesized else None
            row.update(stored.at_ingest())  # made on first read: see storage/stored.py
            row["fingerprint"] = event_fingerprint(row["type"], event)
            _insert(self.connection, "events", row)
            process_event(self.connection, received.project, row, event)
        if rows.tags:
            self.connection.executemany(
                "INSERT INTO tags (item_id, key, value) VALUES (?, ?, ?)",
                [(item_id, key, value) for key, value in rows.tags],
            )
        for table in ("spans", "outcomes", "sessions", "check_ins", "logs"):
            _insert_many(
                self.connection, table, [{**row, **common} for row in getattr(rows, table)]
            )


def _insert(connection: sqlite3.Connection, table: str, row: dict[str, Any]) -> int:
    columns = ", ".join(row)
    marks = ", ".join("?" * len(row))
    cursor = connection.execute(
        f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(row.values())
    )
    return cursor.lastrowid or 0


def _insert_many(connection: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """Rows of one table at once; rows with the same columns share one statement."""
    by_columns: dict[tuple[str, ...], list[tuple]] = {}
    for row in rows:
        by_columns.setdefault(tuple(row), []).append(tuple(row.values()))
    for columns, values in by_columns.items():
        marks = ", ".join("?" * len(columns))
        connection.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", values
        )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
