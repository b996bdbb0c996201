"""The event Relay builds from crash-reporter attachments and form fields.

Native crash reporters (sentry-native with Crashpad or Breakpad, Electron) do not send an
``event`` item. They send a MessagePack ``event.payload`` attachment, up to two
``event.breadcrumbs`` attachments (rotating buffers) and plain form fields (a ``form_data``
item). Relay turns these into the event during processing, long after the HTTP answer, so a
payload it cannot read is dropped, never refused: here that is ``None`` plus a protocol note.

Relay takes the event from exactly one source, in this order: an ``event``, ``security``,
``transaction``, ``feedback`` or ``raw_security`` item; else the attachments; else the form
fields. Sources that lose are discarded, which we also report as notes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import msgpack

from ..protocol.envelope import Item
from ..protocol.form_data import decode_form_data, event_from_form_data
from ..protocol.item_types import EVENT_PAYLOAD_TYPES
from ..settings.values import Limits

EVENT_PAYLOAD = "event.payload"
BREADCRUMBS = "event.breadcrumbs"


class UnreadableAttachment(ValueError):
    """An attachment Relay would fail to decode; the event is then dropped."""


def event_from_attachments(
    items: list[Item], *, limits: Limits | None = None
) -> tuple[dict[str, Any] | None, list[str]]:
    """The event Relay would build from ``items``' attachments or form fields, and notes.

    Returns ``(None, notes)`` when the envelope has no such source, when another item carries
    the event, or when Relay would drop the event because a payload cannot be read.
    """
    limits = limits or Limits()
    payload = _first(items, EVENT_PAYLOAD)
    breadcrumb_files = [item for item in items if _attachment_type(item) == BREADCRUMBS][:2]
    form_data = next((item for item in items if item.type == "form_data"), None)
    has_attachments = payload is not None or bool(breadcrumb_files)
    if not has_attachments and form_data is None:
        return None, []

    winner = next((item.type for item in items if item.type in EVENT_PAYLOAD_TYPES), None)
    if winner is not None:
        return None, [
            f"{_sources(has_attachments, form_data)} ignored: the `{winner}` item is the event"
        ]

    if form_data is not None and not has_attachments:
        return event_from_form_data(decode_form_data(form_data.payload)), []

    notes = []
    if form_data is not None:
        notes.append(
            "form fields ignored: Relay builds the event from the event.payload/"
            "event.breadcrumbs attachments and drops the form_data item"
        )
    try:
        event = _read_event_payload(payload, limits.max_event_size)
        crumbs = merge_breadcrumb_files(
            [_read_breadcrumbs(item, limits.max_event_size) for item in breadcrumb_files]
        )
    except UnreadableAttachment as error:
        return None, [*notes, f"event dropped as Relay drops it: {error}"]
    if crumbs:
        event["breadcrumbs"] = {"values": crumbs}
    return event, notes


def merge_breadcrumb_files(files: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Relay's merge of the two rotating breadcrumb buffers.

    The file whose last timestamped breadcrumb is older goes first (a file without any
    timestamp counts as oldest); the concatenation keeps its last ``max(len1, len2)`` entries.
    """
    if len(files) < 2:
        return files[0] if files else []
    first, second = files
    if _last_timestamp(first) > _last_timestamp(second):
        first, second = second, first
    keep = max(len(first), len(second))
    merged = first + second
    return merged[len(merged) - keep :]


def _last_timestamp(crumbs: list[dict[str, Any]]) -> tuple[int, float]:
    """Sort key: (0, 0) when no breadcrumb has a readable timestamp, else (1, seconds)."""
    for crumb in reversed(crumbs):
        seconds = _seconds(crumb.get("timestamp"))
        if seconds is not None:
            return 1, seconds
    return 0, 0.0


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    return None


def _read_event_payload(item: Item | None, max_size: int) -> dict[str, Any]:
    if item is None or not item.payload:
        return {}
    _check_size(item, max_size)
    unpacker = _unpacker(item.payload)
    try:
        event = next(unpacker)
    except (StopIteration, ValueError, msgpack.UnpackException) as error:
        raise UnreadableAttachment(
            f"{_describe(item)} is not valid MessagePack ({error})"
        ) from None
    if not isinstance(event, dict):
        raise UnreadableAttachment(f"{_describe(item)} is not a MessagePack map")
    return event


def _read_breadcrumbs(item: Item, max_size: int) -> list[dict[str, Any]]:
    if not item.payload:
        return []
    _check_size(item, max_size)
    crumbs = []
    try:
        for crumb in _unpacker(item.payload):
            if not isinstance(crumb, dict):
                raise UnreadableAttachment(f"{_describe(item)} holds a value that is not a map")
            crumbs.append(crumb)
    except (ValueError, msgpack.UnpackException) as error:
        raise UnreadableAttachment(
            f"{_describe(item)} is not a MessagePack stream ({error})"
        ) from None
    return crumbs


def _unpacker(payload: bytes) -> Iterator[Any]:
    """The MessagePack values in ``payload``, made JSON-ready; a cut-off last value is an error.

    Timestamps become float seconds and binary strings become text.
    """
    unpacker = msgpack.Unpacker(raw=False, timestamp=1, unicode_errors="replace")
    unpacker.feed(payload)
    for value in unpacker:
        yield _jsonable(value)
    if unpacker.tell() < len(payload):
        raise ValueError(f"unexpected end of data at byte {unpacker.tell()}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {str(_jsonable(key)): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def _check_size(item: Item, max_size: int) -> None:
    if len(item.payload) > max_size:
        raise UnreadableAttachment(
            f"{_describe(item)} is {len(item.payload)} bytes, over max_event_size {max_size}"
        )


def _first(items: list[Item], attachment_type: str) -> Item | None:
    return next((item for item in items if _attachment_type(item) == attachment_type), None)


def _attachment_type(item: Item) -> str | None:
    return item.headers.get("attachment_type") if item.type == "attachment" else None


def _describe(item: Item) -> str:
    name = item.headers.get("filename")
    return f"{item.headers.get('attachment_type')} attachment" + (f" {name!r}" if name else "")


def _sources(has_attachments: bool, form_data: Item | None) -> str:
    if has_attachments and form_data is not None:
        return "event.payload/event.breadcrumbs attachments and form fields"
    return "event.payload/event.breadcrumbs attachments" if has_attachments else "form fields"
