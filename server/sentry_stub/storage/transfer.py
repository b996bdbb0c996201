"""Envelopes out of one stub and into another, with the facts of how each was received.

The export format (``sentry-stub export``, ``--sentry-stub-export-failed``) is JSON Lines. The
first line says what the file is::

    {"format": "sentry-stub-export", "version": 1, "exported_at": 1767225600.0, "source": "http://..."}

and each further line is one envelope, in receive order::

    {"project": "backend", "project_id": 2, "public_key": "...", "received_at": 1767225599.5,
     "endpoint": "envelope", "event_id": "...", "client": "sentry.python/2.x",
     "remote_addr": "127.0.0.1", "dropped_items": [], "envelope": "<base64 of the raw bytes>"}

``envelope`` is the envelope exactly as stored (as received for ``/envelope/`` and ``/tunnel``;
as the stub built it from the request for the other endpoints); ``dropped_items`` are the
indexes of items a fault rule kept out, which the importing stub keeps out too. Importing stores
each envelope as ingest would have, with these facts instead of the request's, and derives its
rows again; protocol notes about the request itself (its auth, its URL) are not carried.
"""

from __future__ import annotations

import base64
import binascii
import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ..ingest.envelope import EnvelopeError, parse_envelope
from ..settings.values import Project
from .packing import unpack
from .reader import Scope
from .records import Received, store_envelope

FORMAT = "sentry-stub-export"
VERSION = 1
# The endpoints ingest names envelopes by (endpoints.py).
ENDPOINTS = frozenset(
    {"envelope", "tunnel", "store", "minidump", "attachments", "unreal", "security", "nel", "cron"}
)
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


class InvalidRecord(ValueError):
    """A line of an export that cannot be imported: ``index`` counts the envelope records."""

    def __init__(self, index: int, problem: str):
        self.index = index
        super().__init__(f"record {index}: {problem}")


@dataclass(frozen=True)
class ImportRecord:
    """One exported envelope, checked: everything but the project it goes to."""

    project: str
    public_key: str
    received_at: float
    endpoint: str
    event_id: str | None
    client: str | None
    remote_addr: str | None
    dropped_items: frozenset[int]
    raw: bytes

    def received(self, project: Project, index: int) -> Received:
        try:
            envelope = parse_envelope(self.raw)
        except EnvelopeError as error:
            raise InvalidRecord(index, f"'envelope' is not an envelope: {error}") from None
        return Received(
            envelope=envelope,
            raw=self.raw,
            project=project,
            endpoint=self.endpoint,
            public_key=self.public_key,
            received_at=self.received_at,
            event_id=self.event_id,
            client=self.client,
            remote_addr=self.remote_addr,
            dropped=self.dropped_items,
        )


def header(source: str, exported_at: float) -> dict:
    return {"format": FORMAT, "version": VERSION, "exported_at": exported_at, "source": source}


def check_header(value: Any) -> None:
    """The first line of an export; a ValueError says why a file is not one this reads."""
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        raise ValueError(f"the first line is not a {FORMAT} header")
    if value.get("version") != VERSION:
        raise ValueError(f"export version {value.get('version')!r} is not {VERSION}")


def export_page(
    connection: sqlite3.Connection,
    scope: Scope,
    *,
    since: int = 0,
    only: Collection[int] | None = None,
    limit: int = 100,
) -> list[dict]:
    """Up to ``limit`` envelopes after envelope id ``since``, in the scope (and in ``only``)."""
    after_cursor = "(SELECT envelope_id FROM items WHERE id <= ? ORDER BY id DESC LIMIT 1)"
    where = ["en.id > ?", f"en.id > COALESCE({after_cursor}, 0)"]
    params: list[Any] = [since, scope.after]
    if only is not None:
        chosen = sorted(i for i in only if i > since)[:limit]
        where.append(f"en.id IN ({_marks(chosen)})")
        params.extend(chosen)
    if scope.project_ids:
        where.append(f"en.project_id IN ({_marks(scope.project_ids)})")
        params.extend(scope.project_ids)
    if scope.public_keys:
        where.append(f"en.public_key IN ({_marks(scope.public_keys)})")
        params.extend(scope.public_keys)
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
            f"SELECT DISTINCT envelope_id FROM items WHERE id IN ({_marks(chunk)})", tuple(chunk)
        ).fetchall()
        found.update(row[0] for row in rows)
    return found


def parse_record(value: Any, index: int) -> ImportRecord:
    """One envelope record of an export, checked field by field."""
    if not isinstance(value, dict):
        raise InvalidRecord(index, "must be a JSON object")
    missing = [
        name
        for name in ("project", "public_key", "received_at", "endpoint", "envelope")
        if name not in value
    ]
    if missing:
        raise InvalidRecord(index, f"missing {', '.join(repr(m) for m in missing)}")
    project, public_key = value["project"], value["public_key"]
    for name in ("project", "public_key"):
        if not isinstance(value[name], str) or not value[name]:
            raise InvalidRecord(index, f"{name!r} must be a non-empty string")
    received_at = value["received_at"]
    if isinstance(received_at, bool) or not isinstance(received_at, int | float):
        raise InvalidRecord(index, "'received_at' must be a number (seconds since 1970)")
    if value["endpoint"] not in ENDPOINTS:
        raise InvalidRecord(index, f"'endpoint' must be one of {', '.join(sorted(ENDPOINTS))}")
    optional = {}
    for name in ("event_id", "client", "remote_addr"):
        text = value.get(name)
        if text is not None and not isinstance(text, str):
            raise InvalidRecord(index, f"{name!r} must be a string or null")
        optional[name] = text
    dropped = value.get("dropped_items") or []
    if not isinstance(dropped, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in dropped
    ):
        raise InvalidRecord(index, "'dropped_items' must be a list of item indexes")
    try:
        raw = base64.b64decode(value["envelope"], validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise InvalidRecord(index, "'envelope' must be the envelope's bytes in base64") from None
    return ImportRecord(
        project=project,
        public_key=public_key,
        received_at=float(received_at),
        endpoint=value["endpoint"],
        event_id=optional["event_id"],
        client=optional["client"],
        remote_addr=optional["remote_addr"],
        dropped_items=frozenset(dropped),
        raw=raw,
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


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))
