"""``/cron/<slug>/`` requests turned into one ``check_in`` item, as Relay's monitor endpoint does.

The check-in comes from a JSON body when the content type starts with ``application/json``,
else from the query (``status``, ``check_in_id``, ``environment``, ``duration``). The monitor
slug is always the one in the path. Relay re-serializes the check-in from its own struct, so
fields it does not know are dropped; ``missed`` (computed by Sentry, never sent) becomes
``unknown``, and slugs are cut to 50 characters. Refusals use the text of Relay's HTTP
framework (axum): 400 for unreadable input, 422 for JSON of the wrong shape.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from typing import Any

from ..protocol.envelope import Item, ParsedEnvelope
from ..protocol.errors import IngestError

STATUSES = ("ok", "error", "in_progress", "missed")
SLUG_LENGTH = 50
NIL_ID = "0" * 32
JSON_SYNTAX = "Failed to parse the request body as JSON"
JSON_SHAPE = "Failed to deserialize the JSON body into the target type"
QUERY = "Failed to deserialize query string"


def envelope_from_cron(
    monitor_slug: str, *, content_type: str | None, body: bytes, query: Mapping[str, str]
) -> ParsedEnvelope:
    """The envelope (random event id, one ``check_in`` item) for a cron request."""
    if content_type is not None and content_type.startswith("application/json"):
        fields = _fields_from_json(body)
    else:
        try:
            fields = _fields_from_query(query)
        except ValueError as error:
            raise IngestError(400, f"{QUERY}: {error}") from None
    check_in = {
        "check_in_id": fields.get("check_in_id") or NIL_ID,
        "monitor_slug": monitor_slug[:SLUG_LENGTH],
        "status": "unknown" if fields["status"] == "missed" else fields["status"],
    }
    for key in ("environment", "duration", "monitor_config", "contexts"):
        if fields.get(key) is not None:
            check_in[key] = fields[key]
    item = Item({"type": "check_in", "content_type": "application/json"}, _dumps(check_in))
    return ParsedEnvelope({"event_id": uuid.uuid4().hex}, [item])


def _fields_from_json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body, parse_constant=_reject_nonfinite)
    except (ValueError, RecursionError) as error:
        raise IngestError(400, f"{JSON_SYNTAX}: {error}") from None
    try:
        return _check_json_fields(data)
    except ValueError as error:
        raise IngestError(422, f"{JSON_SHAPE}: {error}") from None


def _check_json_fields(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"invalid type: expected struct CheckIn, got {type(data).__name__}")
    if "status" not in data:
        raise ValueError("missing field `status`")
    if not isinstance(data["status"], str):
        raise ValueError(f"invalid type for `status`: {json.dumps(data['status'])}")
    fields = dict(data)
    fields["status"] = _status(data["status"])
    fields["check_in_id"] = _check_in_id(_typed(data, "check_in_id", str))
    _typed(data, "environment", str)
    duration = _typed(data, "duration", int | float)
    fields["duration"] = float(duration) if duration is not None else None
    _typed(data, "monitor_config", dict)
    _typed(data, "contexts", dict)
    return fields


def _typed(data: dict[str, Any], key: str, kind: type | Any) -> Any:
    value = data.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, kind)):
        raise ValueError(f"invalid type for `{key}`: {json.dumps(value)}")
    return value


def _fields_from_query(query: Mapping[str, str]) -> dict[str, Any]:
    if "status" not in query:
        raise ValueError("missing field `status`")
    text = query.get("duration")
    duration: float | None = None
    if text is not None:
        try:
            duration = float(text)
        except ValueError:
            raise ValueError(f"invalid float literal for duration {text!r}") from None
    return {
        "status": _status(query["status"]),
        "check_in_id": _check_in_id(query.get("check_in_id")),
        "environment": query.get("environment"),
        # Relay writes a non-finite duration as null: the same as none.
        "duration": duration if duration is None or math.isfinite(duration) else None,
    }


def _reject_nonfinite(token: str) -> None:
    raise ValueError(f"{token} is not valid JSON")


def _status(value: str) -> str:
    """Relay's status enum: anything it does not know is ``unknown``."""
    return value if value in STATUSES else "unknown"


def _check_in_id(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return uuid.UUID(value).hex
    except ValueError:
        raise ValueError(f"UUID parsing failed for check_in_id {value!r}") from None


def _dumps(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
