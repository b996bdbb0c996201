"""The export file format, shared by the client that writes and reads files and the server.

JSON Lines. The first line says what the file is::

    {"format": "sentry-stub-export", "version": 1, "exported_at": 1767225600.0, "source": "http://..."}

and each further line is one envelope, in receive order::

    {"project": "backend", "project_id": 2, "public_key": "...", "received_at": 1767225599.5,
     "endpoint": "envelope", "event_id": "...", "client": "sentry.python/2.x",
     "remote_addr": "127.0.0.1", "dropped_items": [], "envelope": "<base64 of the raw bytes>",
     "id": 17}

``envelope`` is the envelope exactly as stored (as received for ``/envelope/`` and ``/tunnel``;
as the stub built it from the request for the other endpoints); ``dropped_items`` are the
indexes of items a fault rule kept out, which the importing stub keeps out too; ``project_id``
and ``id`` are the exporting stub's, for reference: an import finds the project by its slug.
Nothing here imports the server, so the pytest plugin can write exports without loading it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

FORMAT = "sentry-stub-export"
VERSION = 1
# The endpoints ingest names envelopes by (endpoints.py).
ENDPOINTS = frozenset(
    {"envelope", "tunnel", "store", "minidump", "attachments", "unreal", "security", "nel", "cron"}
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


def header(source: str, exported_at: float) -> dict:
    return {"format": FORMAT, "version": VERSION, "exported_at": exported_at, "source": source}


def check_header(value: Any) -> None:
    """The first line of an export; a ValueError says why a file is not one this reads."""
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        raise ValueError(f"the first line is not a {FORMAT} header")
    if value.get("version") != VERSION:
        raise ValueError(f"export version {value.get('version')!r} is not {VERSION}")


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
