"""The bytes a stored envelope is sent on with: as received, its header rewritten for the upstream.

Only the envelope header line can change: its ``dsn`` (present when the SDK sent through a
tunnel) names the upstream project instead, and ``new_event_id`` replaces the event id. Items a
fault rule kept out are left out, since the stub never accepted them; the others keep their bytes.
"""

from __future__ import annotations

import re
from collections.abc import Collection

import orjson

from ..ingest.faults import item_categories
from ..protocol.envelope import dashed, parse_envelope
from ..protocol.item_types import REPEATS_EVENT_ID


def outgoing_envelope(
    raw: bytes,
    *,
    dropped: Collection[int] = (),
    dsn: str | None = None,
    new_event_id: str | None = None,
) -> bytes:
    """``raw`` for the upstream: ``dsn`` replaces a ``dsn`` header, ``new_event_id`` the id.

    Each kept item is copied from ``raw`` whole; a new event id has the length of the old one,
    so the items' ``length`` headers stay true.
    """
    envelope = parse_envelope(raw)
    headers = envelope.headers
    old_id = envelope.event_id
    rewrite: dict = {}
    if dsn is not None and "dsn" in headers:
        rewrite["dsn"] = dsn
    if new_event_id is not None and old_id is not None:
        rewrite["event_id"] = new_event_id
    header_end = _header_end(raw)
    parts = [orjson.dumps({**headers, **rewrite}) if rewrite else raw[:header_end]]
    position = header_end
    for index, item in enumerate(envelope.items):
        assert item.offset is not None  # parsed from raw
        end = item.offset + len(item.payload)
        if index not in dropped:
            chunk = raw[position:end]
            if "event_id" in rewrite and item.type in REPEATS_EVENT_ID:
                chunk = _replace_id(chunk, old_id or "", new_event_id or "")
            parts.append(chunk)
        position = end
    parts.append(raw[position:])
    return b"".join(parts)


def data_categories(body: bytes) -> set[str]:
    """The data categories an envelope's items count against (for the upstream's rate limits)."""
    return {c for item in parse_envelope(body).items for c in item_categories(item)}


def _header_end(raw: bytes) -> int:
    """Where the envelope header line ends (its newline, or the end of an item-less envelope)."""
    start = len(raw) - len(raw.lstrip(b" \t\r\n"))
    end = raw.find(b"\n", start)
    return len(raw) if end < 0 else end


def _replace_id(chunk: bytes, old_id: str, new_id: str) -> bytes:
    """``chunk`` with the event id replaced in both spellings SDKs use (hex and dashed)."""
    pattern = re.compile(f"{old_id}|{dashed(old_id)}".encode(), re.IGNORECASE)
    return pattern.sub(lambda m: (dashed(new_id) if b"-" in m[0] else new_id).encode(), chunk)
