"""The Sentry envelope format: parse and serialize, byte-exact, with Relay's framing rules.

An envelope is a JSON header line followed by items; each item is a JSON header line and a payload
that is either ``length`` bytes long or runs to the next newline. The parser follows Relay's own
(``relay-server/src/envelope``) step by step, so that what Relay refuses is refused here with the
same reason, plus the item index and byte offset where it went wrong.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeGuard

import orjson

from .item_types import item_type

WHITESPACE = b" \t\r\n"
NEWLINE = 0x0A
U32_MAX = 2**32 - 1  # Relay's item header ``length`` is a u32
# Strings (which JSON keeps on one line), a lone quote opening an unterminated one, and brackets.
JSON_TOKENS = re.compile(rb'"(?:[^"\\\n]|\\.)*"|"|[{}\[\]]')
_HEX = "[0-9a-fA-F]"
_DASHED = f"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"
# The forms Relay's event ids accept: simple, dashed, braced, URN.
UUID_FORMS = re.compile(f"{_HEX}{{32}}|{_DASHED}|{{{_DASHED}}}|urn:uuid:{_DASHED}")


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
        return item_type(self.type).known

    def json(self) -> Any:
        """The payload parsed as JSON; raises ``ValueError`` when it is not JSON."""
        return orjson.loads(self.payload)


@dataclass
class ParsedEnvelope:
    """An envelope as the server handles it: its header and its items, parsed or built.

    Not to be confused with ``sentry_stub.Envelope``, the client's record of a received envelope.
    """

    headers: dict[str, Any] = field(default_factory=dict)
    items: list[Item] = field(default_factory=list)

    @property
    def event_id(self) -> str | None:
        """The header's event id, normalized to 32 lowercase hex characters."""
        return normalize_event_id(self.headers.get("event_id"))

    def requires_event_id(self) -> bool:
        return any(item_type(item.type).event_bound for item in self.items)


def normalize_event_id(value: Any) -> str | None:
    """32 lowercase hex characters for a UUID in a form Relay accepts, else None.

    Relay (Rust ``uuid``) takes 32 hex digits, the dashed 8-4-4-4-12 form, that form in braces,
    or a ``urn:uuid:`` URN; Python's ``uuid.UUID`` would also take dashes in odd places.
    """
    if not isinstance(value, str):
        return None
    if not UUID_FORMS.fullmatch(value):
        return None
    return value.removeprefix("urn:uuid:").strip("{}").replace("-", "").lower()


def dashed(event_id: str) -> str:
    return str(uuid.UUID(event_id))


def parse_envelope(body: bytes) -> ParsedEnvelope:
    """Split ``body`` into an envelope, or raise ``EnvelopeError`` naming what and where."""
    if not body.strip(WHITESPACE):
        raise EnvelopeError("missing envelope header")
    headers, pos = _read_header(body, _skip_whitespace(body, 0), item_index=None)
    _check_envelope_header(headers)
    items: list[Item] = []
    while pos < len(body):
        index = len(items)
        start = _skip_whitespace(body, pos)
        if start >= len(body):
            raise EnvelopeError("unexpected end of file", item_index=index, offset=pos)
        item_headers, pos = _read_header(body, start, item_index=index)
        payload, payload_offset, pos = _read_payload(body, pos, item_headers, index)
        items.append(Item(item_headers, payload, payload_offset))
    return ParsedEnvelope(headers, items)


def serialize_envelope(envelope: ParsedEnvelope) -> bytes:
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


def _read_header(body: bytes, start: int, *, item_index: int | None) -> tuple[dict, int]:
    """Parse the JSON object at ``start``; it must be followed by a newline or the end.

    Like Relay's streaming JSON reader, the object may span lines (pretty-printed headers).
    """
    fast = _single_line_object(body, start)
    if fast is not None and (item_index is not None or _keys_appear_once(body, start, fast)):
        return fast
    what = "envelope header" if item_index is None else "item header"

    def invalid(problem: str) -> EnvelopeError:
        return EnvelopeError(f"invalid {what}: {problem}", item_index=item_index, offset=start)

    if body[start : start + 1] != b"{":
        raise invalid("expected a JSON object")
    end = _object_end(body, start)
    if end is None:
        raise invalid("unterminated JSON object or string")
    try:
        value = _loads_header(body[start:end], envelope=item_index is None)
    except RecursionError:
        raise invalid("recursion limit exceeded") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise invalid(_short(error)) from None
    if end < len(body) and body[end] != NEWLINE:
        raise EnvelopeError(
            "missing newline after header or payload", item_index=item_index, offset=end
        )
    return value, min(end + 1, len(body))


def _single_line_object(body: bytes, start: int) -> tuple[dict, int] | None:
    """The common case, parsed fast: a header that is one line ending in ``}``.

    Anything else (no newline before the object ends, a stray byte after it, invalid JSON)
    returns None and goes the careful way, which names the problem.
    """
    newline = body.find(b"\n", start)
    end = len(body) if newline < 0 else newline
    if body[end - 1 : end] != b"}":
        return None
    try:
        value = orjson.loads(body[start:end])
    except orjson.JSONDecodeError:
        return None
    return (value, min(end + 1, len(body))) if isinstance(value, dict) else None


def _keys_appear_once(body: bytes, start: int, parsed: tuple[dict, int]) -> bool:
    """True when no top-level key of the envelope header can have been written twice.

    JSON parsers keep the last of repeated keys, where Relay refuses the envelope. Each key's
    quoted name must occur once in the header's bytes, and no escape may spell one differently;
    anything else (a value equal to a key name, an escaped slash) goes the careful way.
    """
    headers, end = parsed
    header = body[start:end]
    return b"\\" not in header and all(header.count(b'"%s"' % k.encode()) == 1 for k in headers)


def _object_end(body: bytes, start: int) -> int | None:
    """Where the JSON object at ``start`` ends (brackets balanced outside strings), or None."""
    depth = 0
    for token in JSON_TOKENS.finditer(body, start):
        text = token.group()
        if text == b'"':
            return None  # a string without its closing quote on the same line
        if text[0] == ord('"'):
            continue
        depth += 1 if text in b"{[" else -1
        if depth == 0:
            return token.end()
    return None


def _loads_header(text: bytes, *, envelope: bool) -> Any:
    """The header's JSON; a key given twice at the top of the envelope header is an error."""
    repeated: dict[int, str] = {}

    def to_dict(pairs: list[tuple[str, Any]]) -> dict:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                repeated[id(result)] = key
            result[key] = value
        return result

    value = json.loads(
        text.decode("utf-8"),
        object_pairs_hook=to_dict,
        parse_constant=_no_nan,
        parse_int=_json_int,
        parse_float=_json_float,
    )
    if envelope and id(value) in repeated:
        raise ValueError(f"duplicate field `{repeated[id(value)]}`")
    # Headers are written back with orjson: a lone surrogate escape ("\udc00") or nesting past
    # orjson's 255 levels would fail there (500). serde_json refuses both while parsing.
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError as error:
        raise ValueError(str(error)) from None
    return value


def _no_nan(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _json_int(text: str) -> int | float:
    """An integer as serde_json (and orjson, the fast path) reads it: past 64 bits, a float.

    Python would keep it whole, and a header the stub cannot write back out (``orjson``
    refuses such integers) failed the request with 500 or left its rows underived.
    """
    value = int(text)
    return value if -(2**63) <= value < 2**64 else _json_float(text)


def _json_float(text: str) -> float:
    """A float, or serde_json's "number out of range" where it would be infinite."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number out of range: {text[:20]}")
    return value


def _read_payload(body: bytes, pos: int, headers: dict, index: int) -> tuple[bytes, int, int]:
    length = _item_length(headers.get("length"), index, pos)
    if length is not None:
        end = pos + length
        if end > len(body):
            raise EnvelopeError(
                f"unexpected end of file: length {length} but only {len(body) - pos} bytes remain",
                item_index=index,
                offset=pos,
            )
        if end < len(body) and body[end] != NEWLINE:
            raise EnvelopeError(
                "missing newline after header or payload", item_index=index, offset=end
            )
        return body[pos:end], pos, min(end + 1, len(body))
    newline = body.find(b"\n", pos)
    end = len(body) if newline < 0 else newline
    return body[pos:end], pos, (end + 1 if newline >= 0 else end)


def _item_length(value: Any, index: int, pos: int) -> int | None:
    """The item header's ``length``: Relay's ``Option<u32>``, so null is absent and anything but
    0 to 2^32-1 fails the item header (``EnvelopeError::InvalidItemHeader``, serde's words)."""
    if value is None:
        return None
    if is_int(value) and 0 <= value <= U32_MAX:
        return value
    if is_int(value):
        found = f"invalid value: integer `{value}`"
    else:
        found = f"invalid type: {_serde_kind(value)}"
    raise EnvelopeError(
        f"invalid item header: {found}, expected u32 (length)", item_index=index, offset=pos
    )


def _serde_kind(value: Any) -> str:
    """How serde names an unexpected JSON value in its errors."""
    if isinstance(value, bool):
        return f"boolean `{str(value).lower()}`"
    if isinstance(value, float):
        return f"floating point `{value!r}`"
    if isinstance(value, str):
        return f"string {json.dumps(value)[:60]}"
    return "sequence" if isinstance(value, list) else "map"


def _check_envelope_header(headers: dict) -> None:
    """Reject header fields whose type Relay's header struct refuses (``EnvelopeHeaders``)."""

    def invalid(key: str, expected: str) -> EnvelopeError:
        return EnvelopeError(f"invalid envelope header: {key} {headers[key]!r} is not {expected}")

    if headers.get("event_id") is not None and normalize_event_id(headers["event_id"]) is None:
        raise invalid("event_id", "a UUID")
    if headers.get("sent_at") is not None and not _is_rfc3339(headers["sent_at"]):
        raise invalid("sent_at", "an RFC 3339 date-time with offset")
    for key in ("version", "retention", "downsampled_retention"):
        value = headers.get(key)
        if value is not None and not (is_int(value) and 0 <= value <= 65535):
            raise invalid(key, "an integer from 0 to 65535")
    for key in ("dsn", "origin", "client", "user_agent"):
        if headers.get(key) is not None and not isinstance(headers[key], str):
            raise invalid(key, "a string")


def is_int(value: Any) -> TypeGuard[int]:
    """A JSON integer: Python's ``bool`` is an ``int`` too, but ``true`` is no number."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_rfc3339(value: Any) -> bool:
    if not isinstance(value, str) or len(value) < 20 or value[10] not in "Tt ":
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def _short(error: Exception) -> str:
    return str(error).split("\n", 1)[0][:200]
