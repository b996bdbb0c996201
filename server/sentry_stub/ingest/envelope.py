"""The Sentry envelope format: parse and serialize, byte-exact, with Relay's framing rules.

An envelope is a JSON header line followed by items; each item is a JSON header line and a payload
that is either ``length`` bytes long or runs to the next newline. The parser follows Relay's own
(``relay-server/src/envelope``) step by step, so that what Relay refuses is refused here with the
same reason, plus the item index and byte offset where it went wrong.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

WHITESPACE = b" \t\r\n"

# Item types that make Relay generate an event id when the envelope header carries none.
EVENT_BOUND_TYPES = frozenset(
    {
        "event",
        "transaction",
        "security",
        "raw_security",
        "attachment",
        "form_data",
        "unreal_report",
        "user_report",
        "feedback",
        "replay_event",
        "profile",
    }
)

# Item types that only Relay itself may produce.
INTERNAL_TYPES = frozenset({"integration"})

KNOWN_TYPES = frozenset(
    {
        "event",
        "transaction",
        "security",
        "raw_security",
        "attachment",
        "form_data",
        "nel",
        "unreal_report",
        "user_report",
        "feedback",
        "session",
        "sessions",
        "statsd",
        "metric_buckets",
        "client_report",
        "profile",
        "profile_chunk",
        "profile_chunk_ui",
        "replay_event",
        "replay_recording",
        "replay_video",
        "check_in",
        "log",
        "trace_metric",
        "span",
        "integration",
    }
)


class EnvelopeError(ValueError):
    """A framing error: the whole envelope is refused with 400, as Relay refuses it."""

    def __init__(self, reason: str, *, item_index: int | None = None, offset: int | None = None):
        self.reason = reason
        self.item_index = item_index
        self.offset = offset
        super().__init__(self.describe())

    def describe(self) -> str:
        where = []
        if self.item_index is not None:
            where.append(f"item {self.item_index}")
        if self.offset is not None:
            where.append(f"byte {self.offset}")
        return f"{self.reason} ({', '.join(where)})" if where else self.reason


@dataclass
class Item:
    """One envelope item: its header (kept whole, unknown keys included) and its exact payload."""

    headers: dict[str, Any]
    payload: bytes = b""
    # Where the payload starts in the envelope it was parsed from (None for built items).
    offset: int | None = None

    @property
    def type(self) -> str:
        value = self.headers.get("type")
        return value if isinstance(value, str) else ""

    @property
    def is_known(self) -> bool:
        return self.type in KNOWN_TYPES

    def json(self) -> Any:
        """The payload parsed as JSON; raises ``ValueError`` when it is not JSON."""
        return orjson.loads(self.payload)


@dataclass
class Envelope:
    headers: dict[str, Any] = field(default_factory=dict)
    items: list[Item] = field(default_factory=list)

    @property
    def event_id(self) -> str | None:
        """The header's event id, normalized to 32 lowercase hex characters."""
        return normalize_event_id(self.headers.get("event_id"))

    def requires_event_id(self) -> bool:
        return any(item.type in EVENT_BOUND_TYPES for item in self.items)


def normalize_event_id(value: Any) -> str | None:
    """32 lowercase hex characters for a UUID given with or without dashes, else None."""
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value).hex
    except ValueError:
        return None


def dashed(event_id: str) -> str:
    return str(uuid.UUID(event_id))


def parse_envelope(body: bytes) -> Envelope:
    """Split ``body`` into an envelope, or raise ``EnvelopeError`` naming what and where."""
    if not body.strip(WHITESPACE):
        raise EnvelopeError("empty request body")
    headers, pos = _read_json_line(body, _skip_whitespace(body, 0), item_index=None)
    _check_envelope_header(headers)
    items: list[Item] = []
    while pos < len(body):
        index = len(items)
        start = _skip_whitespace(body, pos)
        if start >= len(body):
            raise EnvelopeError("unexpected end of file", item_index=index, offset=pos)
        item_headers, pos = _read_json_line(body, start, item_index=index)
        payload, payload_offset, pos = _read_payload(body, pos, item_headers, index)
        items.append(Item(item_headers, payload, payload_offset))
    return Envelope(headers, items)


def serialize_envelope(envelope: Envelope) -> bytes:
    """The envelope in the length-prefixed form sentry-python writes."""
    parts = [orjson.dumps(envelope.headers), b"\n"]
    for item in envelope.items:
        headers = dict(item.headers)
        headers["length"] = len(item.payload)
        parts += [orjson.dumps(headers), b"\n", item.payload, b"\n"]
    return b"".join(parts)


def _skip_whitespace(body: bytes, pos: int) -> int:
    while pos < len(body) and body[pos] in WHITESPACE:
        pos += 1
    return pos


def _read_json_line(body: bytes, start: int, *, item_index: int | None) -> tuple[dict, int]:
    """Parse one JSON object at ``start``; it must be followed by a newline or the end."""
    what = "envelope header" if item_index is None else "item header"
    newline = body.find(b"\n", start)
    end = len(body) if newline < 0 else newline
    text = body[start:end]
    try:
        value = _loads_header(text, envelope=item_index is None)
    except _TrailingBytes as trailing:
        raise EnvelopeError(
            "missing newline after header or payload",
            item_index=item_index,
            offset=start + trailing.at,
        ) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise EnvelopeError(
            f"invalid {what}: {_short(error)}", item_index=item_index, offset=start
        ) from None
    if not isinstance(value, dict):
        raise EnvelopeError(
            f"invalid {what}: expected a JSON object", item_index=item_index, offset=start
        )
    return value, (end + 1 if newline >= 0 else end)


class _TrailingBytes(ValueError):
    def __init__(self, at: int):
        self.at = at


def _loads_header(text: bytes, *, envelope: bool) -> Any:
    decoded = text.decode("utf-8")
    decoder = json.JSONDecoder(object_pairs_hook=_reject_duplicates if envelope else None)
    value, end = decoder.raw_decode(decoded)
    if end != len(decoded):
        raise _TrailingBytes(len(decoded[:end].encode("utf-8")))
    return value


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate field `{key}`")
        result[key] = value
    return result


def _read_payload(body: bytes, pos: int, headers: dict, index: int) -> tuple[bytes, int, int]:
    length = headers.get("length")
    if isinstance(length, int) and not isinstance(length, bool) and length >= 0:
        end = pos + length
        if end > len(body):
            raise EnvelopeError(
                f"unexpected end of file: length {length} but only {len(body) - pos} bytes remain",
                item_index=index,
                offset=pos,
            )
        if end < len(body) and body[end] != 0x0A:
            raise EnvelopeError(
                "missing newline after header or payload", item_index=index, offset=end
            )
        return body[pos:end], pos, min(end + 1, len(body))
    newline = body.find(b"\n", pos)
    end = len(body) if newline < 0 else newline
    return body[pos:end], pos, (end + 1 if newline >= 0 else end)


def _check_envelope_header(headers: dict) -> None:
    """Reject header fields whose type Relay's header struct refuses."""
    event_id = headers.get("event_id")
    if event_id is not None and normalize_event_id(event_id) is None:
        raise EnvelopeError(f"invalid envelope header: event_id {event_id!r} is not a UUID")
    version = headers.get("version")
    if version is not None and not (
        isinstance(version, int) and not isinstance(version, bool) and 0 <= version <= 65535
    ):
        raise EnvelopeError("invalid envelope header: version must be an integer")
    for key in ("dsn", "sent_at"):
        value = headers.get(key)
        if value is not None and not isinstance(value, str):
            raise EnvelopeError(f"invalid envelope header: {key} must be a string")


def _short(error: Exception) -> str:
    return str(error).split("\n", 1)[0][:200]
