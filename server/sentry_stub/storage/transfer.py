"""Envelopes out of one stub and into another, with the facts of how each was received.

The file format is ``export_format.py``'s. Exporting reads stored envelopes as its records;
importing stores each record's envelope as ingest would have, with the record's facts instead
of a request's, and derives its rows again; protocol notes about the request itself (its auth,
its URL) are not carried.
"""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Collection, Sequence
from typing import Any

import orjson

from ..export_format import ImportRecord, InvalidRecord
from ..protocol.envelope import EnvelopeError, parse_envelope
from ..settings.values import Project
from .packing import unpack
from .placeholders import placeholders
from .reader import Scope
from .received import Received, store_envelope

_COLUMNS = (
    "en.id",
    "p.slug",
    "en.project_id",
    "en.public_key",
    "en.received_at",
    "en.endpoint",
    "en.event_id",
    "en.client",
    "en.remote_addr",
    "en.dropped_items",
    "en.raw",
    "en.raw_encoding",
)


def export_page(
    connection: sqlite3.Connection,
    scope: Scope,
    *,
    since: int = 0,
    only: Collection[int] | None = None,
    limit: int = 100,
) -> list[dict]:
    """Up to ``limit`` envelopes after envelope id ``since``, in the scope (and in ``only``)."""
    in_scope, scope_params = scope.envelope_where()
    where = ["en.id > ?", *in_scope]
    params: list[Any] = [since, *scope_params]
    if only is not None:
        chosen = sorted(i for i in only if i > since)[:limit]
        where.append(f"en.id IN ({placeholders(chosen)})")
        params.extend(chosen)
    rows = connection.execute(
        f"""
        SELECT {", ".join(_COLUMNS)}
        FROM envelopes en LEFT JOIN projects p ON p.id = en.project_id
        WHERE {" AND ".join(where)} ORDER BY en.id LIMIT ?
        """,
        (*params, limit),
    ).fetchall()
    return [_export_record(row) for row in rows]


def envelopes_of_items(connection: sqlite3.Connection, item_ids: Sequence[int]) -> set[int]:
    """The envelopes the items ``item_ids`` came in."""
    found: set[int] = set()
    for start in range(0, len(item_ids), 500):
        chunk = item_ids[start : start + 500]
        rows = connection.execute(
            f"SELECT DISTINCT envelope_id FROM items WHERE id IN ({placeholders(chunk)})",
            tuple(chunk),
        ).fetchall()
        found.update(row[0] for row in rows)
    return found


def received_from(record: ImportRecord, project: Project, index: int) -> Received:
    """What ingest would have handed the writer for this record."""
    try:
        envelope = parse_envelope(record.raw)
    except EnvelopeError as error:
        raise InvalidRecord(index, f"'envelope' is not an envelope: {error}") from None
    return Received(
        envelope=envelope,
        raw=record.raw,
        project=project,
        endpoint=record.endpoint,
        public_key=record.public_key,
        received_at=record.received_at,
        event_id=record.event_id,
        client=record.client,
        remote_addr=record.remote_addr,
        dropped=record.dropped_items,
    )


def import_envelopes(connection: sqlite3.Connection, received: Sequence[Received]) -> list[int]:
    """Store each as ingest would (writer thread, one operation: all or nothing)."""
    return [store_envelope(connection, one) for one in received]


def _export_record(row: Sequence[Any]) -> dict:
    return {
        "project": row[1],
        "project_id": row[2],
        "public_key": row[3],
        "received_at": row[4],
        "endpoint": row[5],
        "event_id": row[6],
        "client": row[7],
        "remote_addr": row[8],
        "dropped_items": orjson.loads(row[9]) if row[9] else [],
        "envelope": base64.b64encode(unpack(row[10], row[11])).decode(),
        "id": row[0],
    }
