"""Reading values out of event payloads the way Relay reads them, noting instead of raising.

The toolkit every derivation uses (and the search, grouping and alert rules, which must read a
payload the same way): typed reads that record what cannot be read as a protocol note
(``Reader``), Relay's timestamp forms, level aliases and platforms, the exception container, the
message, and the item-container (``items`` + ``item_count``) shape.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from .envelope import is_int

# A timestamp beyond 9999-12-31T23:59:59Z is out of Relay's range; milliseconds land here.
MAX_TIMESTAMP = 253402300799
LEVELS = ("fatal", "error", "warning", "info", "debug")
LEVEL_ALIASES = {"log": "info", "critical": "fatal"}
PYTHON_LOGGING_LEVELS = {10: "debug", 20: "info", 30: "warning", 40: "error", 50: "fatal"}
# Relay's list of platforms; anything else is stored as "other".
VALID_PLATFORMS = frozenset(
    {
        *("as3", "c", "cfml", "cocoa", "csharp", "elixir", "go", "groovy", "haskell", "java"),
        *("javascript", "native", "node", "objc", "other", "perl", "php", "python", "ruby"),
    }
)
HEX = re.compile(r"[0-9a-f]+")
RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))?"
)


def exception_values(container: Any) -> list[dict]:
    """Exceptions as Relay's `Values` reads the container, oldest first.

    `{"values": [...]}`, a bare list, or one exception object (a list of one); an empty object
    is no exception at all.
    """
    values = container
    if isinstance(container, dict):
        values = container.get("values", [container] if container else [])
    if not isinstance(values, list):
        return []
    return [value for value in values if isinstance(value, dict)]


def event_exceptions(event: dict[str, Any]) -> list[dict]:
    """The exceptions of ``event`` (oldest first), read as the search and ``Event`` read them."""
    return exception_values(event.get("exception"))


def message_template(event: dict[str, Any]) -> str:
    """The message before parameters were filled in; the formatted message when there is none."""
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        text = logentry.get("message") or logentry.get("formatted")
        if isinstance(text, str) and text:
            return text
    message = event.get("message")
    if isinstance(message, dict):
        message = message.get("message") or message.get("formatted")
    return message if isinstance(message, str) else ""


def formatted_message(event: dict[str, Any]) -> str:
    """The message with its parameters filled in (``logentry.formatted``), else the template."""
    logentry = event.get("logentry")
    if isinstance(logentry, dict) and isinstance(logentry.get("formatted"), str):
        return logentry["formatted"]
    message = event.get("message")
    if isinstance(message, dict) and isinstance(message.get("formatted"), str):
        return message["formatted"]
    return message_template(event)


class Reader:
    """Typed reads of payload fields that record a note instead of raising."""

    def __init__(self, notes: list[str], where: str):
        self.notes = notes
        self.where = where

    def at(self, path: str) -> Reader:
        return Reader(self.notes, f"{self.where} {path}")

    def note(self, text: str) -> None:
        self.notes.append(f"{self.where}: {text}")

    def string(self, value: Any, name: str) -> str | None:
        if value is None or isinstance(value, str):
            return value
        self.note(f"{name}: expected a string, got {json_kind(value)}; Relay drops it")
        return None

    def lenient_string(self, value: Any, name: str) -> str | None:
        """A string, or a number written as text (Relay's `LenientString`)."""
        text = lenient_text(value)
        return text if text is not None else self.string(value, name)

    def event_id(self, value: Any) -> str | None:
        if value is None:
            return None
        event_id = uuid_hex(value)
        if event_id is None:
            self.note(f"event_id {value!r} is not a UUID; Relay replaces it")
        return event_id

    def hex_id(self, value: Any, name: str, length: int) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            text = value.replace("-", "").lower() if length == 32 else value.lower()
            if len(text) == length and HEX.fullmatch(text):
                return text
        self.note(f"{name} {value!r} is not {length} hex characters; Relay drops it")
        return None

    def level(self, value: Any, event_type: str) -> str:
        """The level Sentry stores: aliases resolved, and the default where Relay nulls it."""
        default = "info" if event_type == "transaction" else "error"
        if value is None:
            return default
        if isinstance(value, str) and (value in LEVELS or value in LEVEL_ALIASES):
            return LEVEL_ALIASES.get(value, value)
        if is_int(value) and value in PYTHON_LOGGING_LEVELS:
            return PYTHON_LOGGING_LEVELS[value]
        self.note(f"level {value!r} is not a valid level; Relay drops it and stores {default!r}")
        return default

    def platform(self, value: Any) -> str:
        if value is None:
            return "other"
        if value in VALID_PLATFORMS:
            return value
        self.note(f"platform {value!r} is not one Relay knows; it stores 'other'")
        return "other"

    def timestamp(self, value: Any, name: str) -> float | None:
        """Unix seconds (int or float) or an RFC 3339 string (no offset = UTC), to microseconds."""
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value)
        elif isinstance(value, str):
            parsed = parse_rfc3339(value)
            if parsed is None:
                self.note(f"{name} {value!r} is not an RFC 3339 date-time; Relay drops it")
                return None
            seconds = parsed
        else:
            self.note(
                f"{name}: expected a number or a string, got {json_kind(value)}; Relay drops it"
            )
            return None
        if not math.isfinite(seconds) or not 0 <= seconds <= MAX_TIMESTAMP:
            hint = "looks like milliseconds" if seconds > MAX_TIMESTAMP else "is out of range"
            self.note(f"{name} {value!r} {hint}; Relay would drop it (timestamp out of range)")
            return None
        return round(seconds, 6)


def lenient_text(value: Any) -> str | None:
    """`Reader.lenient_string` without the note: what cannot be read is None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return json_text(value)
    return value if isinstance(value, str) else None


def parse_rfc3339(text: str) -> float | None:
    text = text.strip()
    if text.endswith("Z") and len(text) in (20, 27):  # the SDKs' own forms, parsed in C
        try:
            return datetime.fromisoformat(text).timestamp()
        except ValueError:
            pass
    match = RFC3339.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, _z, sign, off_h, off_m = match.groups()
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC
        )
    except ValueError:
        return None
    seconds = moment.timestamp() + (float(f"0.{fraction}") if fraction else 0.0)
    if sign:
        offset = int(off_h) * 3600 + int(off_m) * 60
        seconds -= offset if sign == "+" else -offset
    return seconds


def duration_ms(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start) * 1000, 3)


def uuid_hex(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value).hex
    except ValueError:
        return None


def dict_at(value: Any, *path: str) -> dict:
    """The object at ``path``, or an empty one when anything on the way is not an object."""
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else {}


def first_string(values: dict, *keys: str) -> str | None:
    for key in keys:
        if isinstance(values.get(key), str):
            return values[key]
    return None


def int_or_none(value: Any, name: str, reader: Reader) -> int | None:
    if value is None or is_int(value):
        return value
    reader.note(f"{name}: expected an integer, got {json_kind(value)}; Relay rejects it")
    return None


def number_or_none(value: Any, name: str, reader: Reader) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    reader.note(f"{name}: expected a number, got {json_kind(value)}; Relay rejects it")
    return None


def float_or_none(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def json_text(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # integers beyond 64 bits: the standard library writes them
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def json_or_none(value: Any) -> str | None:
    return None if value is None else json_text(value)


def json_kind(value: Any) -> str:
    """How a JSON value's type reads in a note."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def attribute_values(attributes: Any, reader: Reader) -> dict:
    """`{name: {"type": .., "value": ..}}` flattened to `{name: value}`."""
    if attributes is None:
        return {}
    if not isinstance(attributes, dict):
        reader.note(f"attributes: expected an object, got {json_kind(attributes)}; ignored")
        return {}
    return {
        name: attribute.get("value")
        for name, attribute in attributes.items()
        if isinstance(attribute, dict)
    }


def container_items(payload: dict, headers: dict, reader: Reader) -> list:
    """Entries of an item container, with a note when `item_count` disagrees (Relay drops it)."""
    items = payload.get("items")
    if not isinstance(items, list):
        reader.note(f"items: expected a list, got {json_kind(items)}; nothing indexed")
        return []
    declared = headers.get("item_count")
    if declared is None:
        reader.note("item header has no item_count; Relay drops the container")
    elif declared != len(items):
        reader.note(
            f"item_count is {declared!r} but the container holds {len(items)} items; "
            "Relay drops the whole container"
        )
    return items
