"""Deriving the rows tests query from one acknowledged envelope, inside the writer's transaction.

``derive_rows`` adds one ``items`` row per item (payloads are slices of the raw envelope,
never copied) and the rows its derivation makes (``extract.py``, by item kind) to a
``RowBatch``, which the caller writes, one insert per table for a whole chunk of envelopes; a
browser security report and MessagePack attachments first become the event Relay makes of
them. An event is then filed under its issue and the alert rules are evaluated
(``issues.py``). A transaction's spans are left for the first read of spans
(``span_expansion.py``). Everything or nothing is stored (see ``derivation.py``).
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from ..protocol.envelope import Item
from ..protocol.item_types import item_type
from ..protocol.tables import DERIVED_TABLES
from ..storage.inserts import RowBatch
from ..storage.projects import save_project
from ..storage.received import Received
from . import stored
from .attachment_event import event_from_attachments
from .extract import extract_rows
from .issues import event_fingerprint, process_event
from .rows import Rows
from .security_event import security_event
from .trace_header import dsc_notes

# Attachment types that Relay turns into (part of) an event.
EVENT_ATTACHMENTS = frozenset({"event.payload", "event.breadcrumbs"})


def derive_rows(
    connection: sqlite3.Connection, received: Received, envelope_id: int, batch: RowBatch
) -> None:
    """Add the items of envelope ``envelope_id`` and the rows tests query to ``batch``, which
    the caller writes (one envelope's, or a chunk's)."""
    save_project(connection, received.project)
    notes = list(received.notes) + dsc_notes(received.envelope.headers.get("trace"))
    context = _Context(connection, received, envelope_id, notes, batch)
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
        self,
        connection: sqlite3.Connection,
        received: Received,
        envelope_id: int,
        notes: list,
        batch: RowBatch,
    ):
        self.connection = connection
        self.batch = batch
        self.received = received
        self.envelope_id = envelope_id
        self.notes = notes
        self.has_event = False
        self.event_attachments: list[tuple[int, Item]] = []

    def store_item(self, index: int, item: Item) -> None:
        received = self.received
        headers = item.headers
        kind = item_type(item.type)
        event_id = received.event_id if kind.event_bound else None
        item_id = self.batch.item_id()
        self.batch.add(
            "items",
            {
                "id": item_id,
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
        if not kind.json:
            return
        try:
            payload: Any = orjson.loads(item.payload)
        except orjson.JSONDecodeError as error:
            self.notes.append(
                f"item {index} ({item.type}): payload is not valid JSON ({error}); "
                "Relay accepts the envelope and drops this item as invalid"
            )
            return
        if kind.derivation == "security_report":
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
            row.update(stored.at_ingest())  # made on first read: see stored.py
            row["fingerprint"] = event_fingerprint(row["type"], event)
            self.batch.add("events", row)
            rules = received.project.rules
            if rules.alerts or rules.metric_alerts:
                self.batch.flush()  # alert rules count and query the events written so far
            process_event(self.connection, received.project, row, event)
        for key, value in rows.tags:
            self.batch.add("tags", {"item_id": item_id, "key": key, "value": value})
        for table in DERIVED_TABLES:
            for derived in getattr(rows, table.name):
                self.batch.add(table.name, {**derived, **common})


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
