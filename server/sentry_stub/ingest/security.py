"""Browser security reports (``/security/``, ``/csp-report/``) and NEL reports (``/nel/``).

The endpoint stores the browser's JSON untouched as a ``raw_security`` item; Relay turns it into
an event later, during processing (``processing/security_event.py``). NEL reports become one
``nel`` item each.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from ..protocol.envelope import Item, ParsedEnvelope
from ..protocol.errors import IngestError
from .store import invalid_json_error

# (type, subtype, suffix) accepted by Relay's security endpoint; anything else is 415.
SECURITY_MIME_TYPES = {
    ("application", "json", None),
    ("application", "csp-report", None),
    ("application", "expect-ct-report", None),
    ("application", "expect-ct-report", "json"),
    ("application", "expect-staple-report", None),
}
NEL_MIME_TYPES = {("application", "json", None), ("application", "reports", "json")}
UNSUPPORTED_MEDIA_TYPE = "unsupported media type"


def envelope_from_security_report(
    content_type: str | None,
    body: bytes,
    *,
    release: str | None,
    environment: str | None,
    origin: str | None,
) -> ParsedEnvelope:
    """The envelope for a security report: a random event id and one ``raw_security`` item.

    ``release`` and ``environment`` come from the ``sentry_release``/``sentry_environment``
    query parameters and go into the item header, as Relay writes them; ``origin`` (the
    request's Origin header) goes into the envelope header, where ``security_event`` reads it.
    """
    _check_mime(content_type, SECURITY_MIME_TYPES)
    if not body:
        raise IngestError(400, "empty request body")
    item_headers: dict[str, Any] = {"type": "raw_security", "content_type": "application/json"}
    if release is not None:
        item_headers["sentry_release"] = release
    if environment is not None:
        item_headers["sentry_environment"] = environment
    headers: dict[str, Any] = {"event_id": uuid.uuid4().hex}
    if origin is not None:
        headers["origin"] = origin
    return ParsedEnvelope(headers, [Item(item_headers, body)])


def envelope_from_nel(content_type: str | None, body: bytes) -> ParsedEnvelope:
    """The envelope for a ``/nel/`` body: one ``nel`` item per report in the JSON array.

    A body that is JSON but not an array yields no items (Relay answers 200 and ignores it).
    """
    _check_mime(content_type, NEL_MIME_TYPES)
    try:
        reports = json.loads(body)
        # A lone surrogate escape ("\udc00") parses here but cannot be written as UTF-8
        # (UnicodeEncodeError, a ValueError); serde_json refuses it while parsing.
        payloads = [_dumps(report) for report in (reports if isinstance(reports, list) else [])]
    except (ValueError, RecursionError) as error:
        raise invalid_json_error(error) from None
    items = [Item({"type": "nel", "content_type": "application/json"}, p) for p in payloads]
    return ParsedEnvelope({}, items)


def _check_mime(content_type: str | None, accepted: set[tuple[str, str, str | None]]) -> None:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    kind, _, subtype = media_type.partition("/")
    subtype, _, suffix = subtype.partition("+")
    if (kind, subtype, suffix or None) not in accepted:
        shown = content_type if content_type else "no content type"
        raise IngestError(415, UNSUPPORTED_MEDIA_TYPE, [f"content type {shown!r} not accepted"])


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
