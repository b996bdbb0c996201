"""Reading what was stored, as plain dicts ready to be sent as JSON.

Every list takes ``after``: a receive cursor (an ``items.id``), so a caller sees only what arrived
after it took the cursor. That is how each test gets its own view of a shared server.
"""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ..protocol.tables import Table
from . import forward_queue
from .packing import unpack
from .placeholders import placeholders
from .row_dicts import json_column
from .schema import DERIVED_THROUGH, TABLES

# Payload of an item: its slice of the raw envelope, or its own blob when it was built.
PAYLOAD_SQL = (
    "COALESCE(i.payload, envelope_payload(en.raw, en.raw_encoding, i.payload_offset, i.length))"
)
# The columns of an item record (``_item_record``), for a WHERE to follow.
_ITEMS_SELECT = f"""
    SELECT i.id, i.envelope_id, i.project_id, p.slug, i.received_at, i.type, i.headers,
           {PAYLOAD_SQL}, i.content_type, i.filename, i.attachment_type, i.event_id
    FROM items i JOIN envelopes en ON en.id = i.envelope_id
    LEFT JOIN projects p ON p.id = i.project_id
"""


@dataclass(frozen=True)
class Scope:
    """Which part of the data a reader sees: received after a cursor, from some projects,
    sent with some DSN keys (the pytest plugin's per-worker views)."""

    after: int = 0
    project_ids: tuple[int, ...] = ()
    public_keys: tuple[str, ...] = ()

    def where(self, alias: str, item_column: str = "item_id") -> tuple[list[str], list[Any]]:
        """Conditions on a table whose ``item_column`` is an ``items.id``."""
        conditions = [f"{alias}.{item_column} > ?"]
        params: list[Any] = [self.after]
        if self.project_ids:
            conditions.append(f"{alias}.project_id IN ({placeholders(self.project_ids)})")
            params.extend(self.project_ids)
        if self.public_keys:
            conditions.append(
                f"{alias}.{item_column} IN (SELECT id FROM items WHERE id > ? "
                f"AND public_key IN ({placeholders(self.public_keys)}))"
            )
            params.extend([self.after, *self.public_keys])
        return conditions, params

    def envelope_where(self) -> tuple[list[str], list[Any]]:
        """Conditions on ``envelopes en``: past the cursor's envelope (so item-less envelopes
        received after it count too), from the scope's projects and DSN keys."""
        conditions = [
            "en.id > COALESCE((SELECT envelope_id FROM items WHERE id <= ? "
            "ORDER BY id DESC LIMIT 1), 0)"
        ]
        params: list[Any] = [self.after]
        if self.project_ids:
            conditions.append(f"en.project_id IN ({placeholders(self.project_ids)})")
            params.extend(self.project_ids)
        if self.public_keys:
            conditions.append(f"en.public_key IN ({placeholders(self.public_keys)})")
            params.extend(self.public_keys)
        return conditions, params


def cursor(connection: sqlite3.Connection) -> int:
    return connection.execute("SELECT COALESCE(MAX(id), 0) FROM items").fetchone()[0]


def project_slugs(connection: sqlite3.Connection) -> dict[int, str]:
    return dict(connection.execute("SELECT id, slug FROM projects").fetchall())


def events_by_item_ids(connection: sqlite3.Connection, item_ids: Sequence[int]) -> list[dict]:
    """Full event records for ``item_ids``, in that order."""
    if not item_ids:
        return []
    in_list = placeholders(item_ids)
    rows = connection.execute(
        f"""
        SELECT e.item_id, e.event_id, e.type, e.project_id, p.slug, e.received_at,
               COALESCE(e.data, {PAYLOAD_SQL}), e.stored, e.stored_error, i.envelope_id,
               en.notes
        FROM events e
        JOIN items i ON i.id = e.item_id
        JOIN envelopes en ON en.id = i.envelope_id
        LEFT JOIN projects p ON p.id = e.project_id
        WHERE e.item_id IN ({in_list})
        """,
        tuple(item_ids),
    ).fetchall()
    tags = _tags_for(connection, item_ids)
    by_id = {}
    for row in rows:
        item_id = row[0]
        by_id[item_id] = {
            "item_id": item_id,
            "event_id": row[1],
            "type": row[2],
            "project_id": row[3],
            "project": row[4],
            "received_at": row[5],
            "data": json_column(row[6]),
            "stored": json_column(row[7]),
            "stored_error": row[8],
            "envelope_id": row[9],
            "notes": json_column(row[10], []),
            "tags": tags.get(item_id, []),
        }
    return [by_id[i] for i in item_ids if i in by_id]


def event_by_id(connection: sqlite3.Connection, event_id: str) -> dict | None:
    row = connection.execute(
        "SELECT item_id FROM events WHERE event_id = ? ORDER BY item_id DESC LIMIT 1",
        (event_id,),
    ).fetchone()
    return events_by_item_ids(connection, [row[0]])[0] if row else None


def items(
    connection: sqlite3.Connection,
    scope: Scope,
    *,
    types: Sequence[str] = (),
    limit: int = 1000,
    with_content: bool = False,
) -> list[dict]:
    """Item records: headers, parsed JSON payload (or None), and for binary items the size."""
    where, params = scope.where("i", "id")
    if types:
        where.append(f"i.type IN ({placeholders(types)})")
        params.extend(types)
    rows = connection.execute(
        f"{_ITEMS_SELECT} WHERE {' AND '.join(where)} ORDER BY i.id LIMIT ?",
        (*params, limit),
    ).fetchall()
    return [_item_record(row, with_content) for row in rows]


def item_content(connection: sqlite3.Connection, item_id: int) -> tuple[bytes, str | None] | None:
    row = connection.execute(
        f"""SELECT {PAYLOAD_SQL}, i.content_type FROM items i
        JOIN envelopes en ON en.id = i.envelope_id WHERE i.id = ?""",
        (item_id,),
    ).fetchone()
    return (bytes(row[0] or b""), row[1]) if row else None


def envelopes(connection: sqlite3.Connection, scope: Scope, *, limit: int = 1000) -> list[dict]:
    """Envelopes with an item in the scope (or, item-less, received after the cursor)."""
    where, params = scope.envelope_where()
    rows = connection.execute(
        f"""
        SELECT en.id, en.received_at, en.project_id, p.slug, en.endpoint, en.event_id,
               en.headers, en.raw, en.notes, en.public_key, en.client, en.remote_addr,
               en.raw_encoding
        FROM envelopes en LEFT JOIN projects p ON p.id = en.project_id
        WHERE {" AND ".join(where)} ORDER BY en.id LIMIT ?
        """,
        (*params, limit),
    ).fetchall()
    records = []
    for row in rows:
        item_rows = items_of_envelope(connection, row[0])
        records.append(
            {
                "id": row[0],
                "received_at": row[1],
                "project_id": row[2],
                "project": row[3],
                "endpoint": row[4],
                "event_id": row[5],
                "headers": json_column(row[6]),
                "raw": base64.b64encode(unpack(row[7], row[12])).decode(),
                "notes": json_column(row[8], []),
                "public_key": row[9],
                "client": row[10],
                "remote_addr": row[11],
                "items": item_rows,
            }
        )
    envelope_ids = [record["id"] for record in records]
    forwards = forward_queue.states(connection, envelope_ids)
    events = _derived_event_ids(connection, envelope_ids)
    for record in records:
        record["forward"] = forwards.get(record["id"])  # None: not forwarded
        record["derived_event_id"] = events.get(record["id"])  # None: no event made of it
    return records


def _derived_event_ids(
    connection: sqlite3.Connection, envelope_ids: Sequence[int]
) -> dict[int, str]:
    """The id of the (first) event derived from each of ``envelope_ids`` that has one: an event
    item's, or the one built from attachments or a browser report."""
    if not envelope_ids:
        return {}
    rows = connection.execute(
        "SELECT i.envelope_id, e.event_id FROM items i JOIN events e ON e.item_id = i.id "
        f"WHERE i.envelope_id IN ({placeholders(envelope_ids)}) ORDER BY i.id",
        tuple(envelope_ids),
    )
    first: dict[int, str] = {}
    for envelope_id, event_id in rows:
        first.setdefault(envelope_id, event_id)
    return first


def items_of_envelope(connection: sqlite3.Connection, envelope_id: int) -> list[dict]:
    rows = connection.execute(
        f"{_ITEMS_SELECT} WHERE i.envelope_id = ? ORDER BY i.idx", (envelope_id,)
    ).fetchall()
    return [_item_record(row, True) for row in rows]


def rows(
    connection: sqlite3.Connection,
    scope: Scope,
    table: Table,
    *,
    limit: int = 10000,
    trace_id: str = "",
    newest_first: bool = False,
) -> list[dict]:
    """Rows of a derived table (protocol/tables.py) as the API serves them, in receive order or
    ``newest_first``; with ``trace_id``, only that trace's (tables without a trace id then have
    none)."""
    if table.row_type is None:
        raise ValueError(f"{table.name!r} is not a derived row table")
    where, params = scope.where("t")
    order = "DESC" if newest_first else "ASC"
    if trace_id:
        if not table.traced:
            return []
        where.append("t.trace_id = ?")
        params.append(trace_id)
    cursor_ = connection.execute(
        f"""SELECT t.*, p.slug AS project FROM {table.name} t
        LEFT JOIN projects p ON p.id = t.project_id
        WHERE {" AND ".join(where)} ORDER BY t.item_id {order}, t.id {order} LIMIT ?""",
        (*params, limit),
    )
    names = [d[0] for d in cursor_.description]
    return [
        table.api_record(dict(zip(names, values, strict=True))) for values in cursor_.fetchall()
    ]


def summary(connection: sqlite3.Connection, scope: Scope) -> dict:
    """What arrived in the scope, counted by item type, event type and project."""
    slugs = project_slugs(connection)

    def grouped(sql: str, alias: str, item_column: str = "item_id") -> list[tuple]:
        where, params = scope.where(alias, item_column)
        return connection.execute(sql.format(where=" AND ".join(where)), params).fetchall()

    by_project = grouped(
        "SELECT i.project_id, COUNT(*) FROM items i WHERE {where} GROUP BY i.project_id", "i", "id"
    )
    discards = grouped(
        """SELECT o.reason, o.category, SUM(o.quantity) FROM outcomes o WHERE {where}
        GROUP BY o.reason, o.category ORDER BY o.reason, o.category""",
        "o",
    )
    notes = grouped(
        """SELECT en.notes FROM envelopes en WHERE en.notes IS NOT NULL AND en.id IN
        (SELECT i.envelope_id FROM items i WHERE {where})""",
        "i",
        "id",
    )
    return {
        "items": dict(
            grouped(
                "SELECT i.type, COUNT(*) FROM items i WHERE {where} GROUP BY i.type ORDER BY 1",
                "i",
                "id",
            )
        ),
        "events": dict(
            grouped(
                "SELECT e.type, COUNT(*) FROM events e WHERE {where} GROUP BY e.type ORDER BY 1",
                "e",
            )
        ),
        "projects": {slugs.get(pid, str(pid)): count for pid, count in by_project},
        "discards": [{"reason": r, "category": c, "quantity": q} for r, c, q in discards],
        "notes": [note for (text,) in notes for note in json_column(text, [])],
    }


def reset(connection: sqlite3.Connection) -> None:
    """Delete every received envelope and what was derived from it (projects stay)."""
    for table in TABLES.values():
        if table.received:
            connection.execute(f"DELETE FROM {table.name}")
    # Envelope ids start from 1 again: so does the queue of rows to derive (watermark.py).
    connection.execute("UPDATE meta SET value = '0' WHERE key = ?", (DERIVED_THROUGH,))


def _tags_for(connection: sqlite3.Connection, item_ids: Sequence[int]) -> dict[int, list]:
    in_list = placeholders(item_ids)
    tags: dict[int, list] = {}
    for item_id, key, value in connection.execute(
        f"SELECT item_id, key, value FROM tags WHERE item_id IN ({in_list}) ORDER BY rowid",
        tuple(item_ids),
    ):
        tags.setdefault(item_id, []).append([key, value])
    return tags


def _item_record(row: tuple, with_content: bool) -> dict:
    payload = bytes(row[7] or b"")
    record = {
        "item_id": row[0],
        "envelope_id": row[1],
        "project_id": row[2],
        "project": row[3],
        "received_at": row[4],
        "type": row[5],
        "headers": json_column(row[6]),
        "payload": _json_or_none(payload),
        "length": len(payload),
        "content_type": row[8],
        "filename": row[9],
        "attachment_type": row[10],
        "event_id": row[11],
    }
    if with_content:
        record["content"] = base64.b64encode(payload).decode()
    return record


def _json_or_none(payload: bytes) -> Any:
    if not payload or payload[:1] not in b"{[":
        return None
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None


def traces(connection: sqlite3.Connection, scope: Scope, *, limit: int = 100) -> list[dict]:
    """The traces that have spans, newest first: each one's root segment (the segment span
    without a parent, from a transaction or streamed), extent, span count, errors and projects."""
    where, params = scope.where("s")
    found = connection.execute(
        f"""SELECT s.trace_id, MIN(s.start_timestamp), MAX(s.timestamp), COUNT(*),
            MAX(s.received_at)
        FROM spans s WHERE {" AND ".join(where)} AND s.trace_id IS NOT NULL
        GROUP BY s.trace_id ORDER BY MAX(s.item_id) DESC, MAX(s.id) DESC LIMIT ?""",
        (*params, limit),
    ).fetchall()
    result = []
    for trace_id, start, end, span_count, received_at in found:
        root = connection.execute(
            """SELECT transaction_name, op, description FROM spans
            WHERE trace_id = ? AND is_segment = 1
            ORDER BY (parent_span_id IS NULL OR parent_span_id = '') DESC, start_timestamp
            LIMIT 1""",
            (trace_id,),
        ).fetchone()
        projects = connection.execute(
            """SELECT DISTINCT p.slug FROM projects p WHERE p.id IN
            (SELECT project_id FROM spans WHERE trace_id = ?
             UNION SELECT project_id FROM events WHERE trace_id = ?) ORDER BY p.slug""",
            (trace_id, trace_id),
        ).fetchall()
        errors = connection.execute(
            "SELECT COUNT(*) FROM events WHERE trace_id = ? AND type != 'transaction'",
            (trace_id,),
        ).fetchone()[0]
        result.append(
            {
                "trace_id": trace_id,
                "root": (root[0] or root[2] or root[1]) if root else None,
                "root_op": root[1] if root else None,
                "start_timestamp": start,
                "duration": (end - start) * 1000 if start is not None and end is not None else None,
                "span_count": span_count,
                "errors": errors,
                "projects": [slug for (slug,) in projects],
                "received_at": received_at,
            }
        )
    return result


def issue_user_counts(connection: sqlite3.Connection, issues: Sequence[dict]) -> list[int]:
    """How many users each issue's events reached: Sentry's ``user`` tag, the first of id,
    username, email and IP address that the event has."""
    return [
        connection.execute(
            """SELECT COUNT(DISTINCT COALESCE(user_id, user_username, user_email, user_ip))
            FROM events WHERE project_id = ? AND fingerprint = ?""",
            (issue["project_id"], issue["fingerprint"]),
        ).fetchone()[0]
        for issue in issues
    ]
