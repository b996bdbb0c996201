"""The legacy ``/store/`` endpoint: one event JSON per request, turned into an envelope.

Relay reads just enough of the event (``event_id`` and ``type``) to answer with the id, so
invalid JSON is refused at once with 400. Older SDKs may send the body as base64, or as base64
of zlib; sentry-python and raven-python may write the invalid tokens ``NaN`` and ``Infinity``,
which Relay rewrites to ``0`` before parsing. A body sent with the envelope content type is an
envelope, and ``GET /store/?sentry_data=`` carries the event in the query.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
import zlib

from ..protocol.envelope import (
    EnvelopeError,
    Item,
    ParsedEnvelope,
    normalize_event_id,
    parse_envelope,
)
from ..protocol.errors import IngestError
from ..settings.values import Limits

ENVELOPE_CONTENT_TYPE = "application/x-sentry-envelope"
LEGACY_PYTHON_CLIENTS = ("sentry-python/", "raven-python/")

# A JSON string (skipped as a whole) or one of the tokens Python's json module writes for
# non-finite floats.
_STRING_OR_NONFINITE = re.compile(rb'"(?:[^"\\]|\\.)*"|-?Infinity|NaN', re.DOTALL)


def envelope_from_store(
    body: bytes,
    *,
    content_type: str | None,
    client: str | None,
    limits: Limits | None = None,
) -> ParsedEnvelope:
    """The envelope for a ``POST /store/`` body.

    ``content_type`` is the raw header (Relay compares it exactly); ``client`` is the SDK
    identifier from the auth header (``sentry_client``) or the User-Agent.
    """
    if content_type == ENVELOPE_CONTENT_TYPE:
        try:
            return parse_envelope(body)
        except EnvelopeError as error:
            raise IngestError(400, "invalid event envelope", [error.describe()]) from None
    return _envelope_from_event(body, client, limits or Limits())


def envelope_from_store_get(
    sentry_data: str, *, client: str | None = None, limits: Limits | None = None
) -> ParsedEnvelope:
    """The envelope for ``GET /store/?sentry_data=<event>`` (answered with a 1x1 GIF)."""
    return _envelope_from_event(sentry_data.encode("utf-8"), client, limits or Limits())


def _envelope_from_event(body: bytes, client: str | None, limits: Limits) -> ParsedEnvelope:
    body = decode_store_body(body, limits.max_event_size)
    if not body:
        raise IngestError(400, "empty request body")
    if client is not None and client.startswith(LEGACY_PYTHON_CLIENTS):
        body = replace_nonfinite_numbers(body)
    event = _minimal_event(body)
    item_type = "transaction" if event.get("type") == "transaction" else "event"
    event_id = _event_id(event.get("event_id")) or uuid.uuid4().hex
    item = Item({"type": item_type, "content_type": "application/json"}, body)
    return ParsedEnvelope({"event_id": event_id}, [item])


def decode_store_body(body: bytes, limit: int) -> bytes:
    """``body`` itself when it is empty or starts with ``{``, else base64 (of zlib) decoded.

    As in Relay, zlib output stops at ``limit`` bytes; a cut-off event then fails as JSON.
    """
    if not body or body.startswith(b"{"):
        return body
    try:
        binary = base64.b64decode(body, validate=True)
    except binascii.Error as error:
        raise IngestError(400, "invalid request body", [f"invalid base64: {error}"]) from None
    if binary.startswith(b"{"):
        return binary
    decompressor = zlib.decompressobj()
    try:
        return decompressor.decompress(binary, limit)
    except zlib.error as error:
        raise IngestError(400, "invalid request body", [f"invalid zlib data: {error}"]) from None


def replace_nonfinite_numbers(body: bytes) -> bytes:
    """``NaN``, ``Infinity`` and ``-Infinity`` outside strings become ``0`` padded with spaces,
    so byte offsets stay the same (Relay's ``json-forensics``)."""

    def replace(match: re.Match[bytes]) -> bytes:
        token = match.group()
        if token.startswith(b'"'):
            return token
        zero = b"-0" if token.startswith(b"-") else b"0"
        return zero.ljust(len(token))

    return _STRING_OR_NONFINITE.sub(replace, body)


def _minimal_event(body: bytes) -> dict:
    try:
        event = json.loads(body, parse_constant=_reject_nonfinite)
    except (ValueError, RecursionError) as error:
        raise invalid_json_error(error) from None
    if not isinstance(event, dict):
        raise IngestError(
            400, "invalid JSON data", [f"expected an event object, got {type(event).__name__}"]
        )
    return event


def invalid_json_error(error: ValueError | RecursionError) -> IngestError:
    """Relay's 400 for a body that is not JSON; the detail has serde's shape,
    ``invalid JSON data: Error("<what>", line: L, column: C)``, with Python's wording.

    JSON nested past Python's recursion limit is refused as serde_json refuses what nests
    past its own (128 levels): "recursion limit exceeded".
    """
    if isinstance(error, RecursionError):
        return IngestError(400, "invalid JSON data", ["recursion limit exceeded"])
    if isinstance(error, json.JSONDecodeError):
        where = f"line: {error.lineno}, column: {error.colno}"
        return IngestError(
            400,
            f'invalid JSON data: Error("{error.msg}", {where})',
            [f"{error.msg} at line {error.lineno} column {error.colno}"],
        )
    return IngestError(400, "invalid JSON data", [str(error)])


def _reject_nonfinite(token: str) -> None:
    """Python's json module reads NaN and Infinity; Relay's parser does not."""
    raise ValueError(f"{token} is not a JSON number (only sentry-python clients may send it)")


def _event_id(value: object) -> str | None:
    if value is None:
        return None
    event_id = normalize_event_id(value)
    if event_id is None:
        raise IngestError(400, "invalid JSON data", [f"invalid event_id {value!r}: not a UUID"])
    return event_id
