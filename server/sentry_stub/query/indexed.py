"""An event's fields as the search reads them: the ``indexed`` object of every event record.

Each value comes from the very SQL expression ``resolve_field`` gives the search, so whatever a
test reads from ``Event.level`` or ``Event.message`` is what ``level:...`` or ``message:...``
compares, never a second reading of the raw JSON. Keys are the search's field names.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from sentry_stub.query import sqlite_functions
from sentry_stub.query.fields import ARRAY, BOOLEAN, EVENTS, resolve_field

from ..protocol.payload import exception_values
from ..storage.placeholders import placeholders

# The fields an event record carries; ``message`` is the event's own (formatted) message, which
# ``message:`` and free text search together with the title (see ``sqlite_functions``).
INDEXED_FIELDS = (
    *("event.type", "level", "title", "error.type", "error.value", "error.handled"),
    *("environment", "release", "dist", "transaction", "transaction.op", "transaction.status"),
    *("platform", "logger", "server_name", "trace", "trace.span", "trace.parent_span"),
    *("user.id", "user.email", "user.ip", "user.username", "sdk.name", "sdk.version"),
    *("http.method", "http.url", "http.status_code", "browser.name", "os.name"),
    *("transaction.duration", "timestamp"),
)
_MESSAGE_SQL = "e.message"


def add_indexed(connection: sqlite3.Connection, records: Sequence[dict[str, Any]]) -> None:
    """Give each event record (from ``storage.reader``) its ``indexed`` object.

    Besides the fields: ``tags`` as the search reads them (the first value of a repeated key) and
    ``exception``, the exception values in Relay's reading of the container (see
    ``payload.exception_values``), oldest first.
    """
    by_item = indexed_fields(connection, [record["item_id"] for record in records])
    for record in records:
        indexed = by_item.get(record["item_id"], {})
        tags: dict[str, str | None] = {}
        for key, value in record.get("tags") or []:
            tags.setdefault(key, value)
        data = record.get("data")
        container = data.get("exception") if isinstance(data, dict) else None
        record["indexed"] = {**indexed, "tags": tags, "exception": exception_values(container)}


def indexed_fields(
    connection: sqlite3.Connection, item_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """``{item_id: {field: value}}`` for the events of ``item_ids`` (tags: see ``add_indexed``)."""
    if not item_ids:
        return {}
    sqlite_functions.register(connection)
    fields = [resolve_field(name, EVENTS) for name in INDEXED_FIELDS]
    columns = ", ".join([_MESSAGE_SQL, *(field.sql for field in fields)])
    params = [param for field in fields for param in field.params]
    marks = placeholders(item_ids)
    rows = connection.execute(
        f"SELECT e.item_id, {columns} FROM events AS e WHERE e.item_id IN ({marks})",
        (*params, *item_ids),
    ).fetchall()
    names = ("message", *INDEXED_FIELDS)
    kinds = dict(zip(INDEXED_FIELDS, (field.type for field in fields), strict=True))
    result = {}
    for item_id, *values in rows:
        indexed = dict(zip(names, values, strict=True))
        for name, kind in kinds.items():
            if kind == ARRAY:
                indexed[name] = json.loads(indexed[name]) if indexed[name] else []
            elif kind == BOOLEAN and indexed[name] is not None:
                indexed[name] = bool(indexed[name])
        result[item_id] = indexed
    return result
