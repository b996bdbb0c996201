"""What a test gets back: ``Event`` and the records of the other item kinds.

They are read-only views over what the query API returned, with attributes for the fields
people assert on most.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from typing import Any


class Event(Mapping[str, Any]):
    """An event as the SDK sent it (a read-only mapping), plus where and when it arrived."""

    def __init__(self, record: dict):
        self._record = record
        self._data: dict = record.get("data") or {}

    # Mapping over the event JSON as sent.
    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"<Event {self.type} {self.event_id} project={self.project!r} title={self.title!r}>"

    @property
    def data(self) -> dict:
        return self._data

    @property
    def event_id(self) -> str:
        return self._record["event_id"]

    @property
    def type(self) -> str:
        return self._record["type"]

    @property
    def level(self) -> str | None:
        return self._data.get("level")

    @property
    def release(self) -> str | None:
        return self._data.get("release")

    @property
    def environment(self) -> str | None:
        return self._data.get("environment")

    @property
    def transaction(self) -> str | None:
        return self._data.get("transaction")

    @property
    def platform(self) -> str | None:
        return self._data.get("platform")

    @property
    def message(self) -> str | None:
        logentry = self._data.get("logentry")
        if isinstance(logentry, dict) and (logentry.get("formatted") or logentry.get("message")):
            return logentry.get("formatted") or logentry.get("message")
        message = self._data.get("message")
        if isinstance(message, dict):
            return message.get("formatted") or message.get("message")
        return message if isinstance(message, str) else None

    @property
    def tags(self) -> dict[str, str | None]:
        """Tags as a dict, whichever form (object or list of pairs) the SDK sent."""
        return dict(self._record.get("tags") or [])

    @property
    def user(self) -> dict:
        return self._data.get("user") or {}

    @property
    def contexts(self) -> dict:
        return self._data.get("contexts") or {}

    @property
    def exception(self) -> list[dict]:
        """The exception values (oldest first), whichever container form the SDK used."""
        exception = self._data.get("exception")
        values = exception.get("values") if isinstance(exception, dict) else exception
        if isinstance(values, dict):
            values = [values]
        return [v for v in values or [] if isinstance(v, dict)]

    @property
    def breadcrumbs(self) -> list[dict]:
        crumbs = self._data.get("breadcrumbs")
        values = crumbs.get("values") if isinstance(crumbs, dict) else crumbs
        return [c for c in values or [] if isinstance(c, dict)]

    @property
    def title(self) -> str:
        if self.exception:
            last = self.exception[-1]
            return f"{last.get('type', '')}: {last.get('value', '')}".strip(": ")
        return self.message or self.transaction or "<no title>"

    @property
    def trace_id(self) -> str | None:
        return (self.contexts.get("trace") or {}).get("trace_id")

    @property
    def project(self) -> str | None:
        return self._record.get("project")

    @property
    def project_id(self) -> int:
        return self._record["project_id"]

    @property
    def received_at(self) -> float:
        return self._record["received_at"]

    @property
    def stored(self) -> dict | None:
        """The event as Sentry would store it (Relay's normalization and the project's scrubbing).

        None where that view could not be made; ``stored_error`` says why.
        """
        return self._record.get("stored")

    @property
    def stored_error(self) -> str | None:
        return self._record.get("stored_error")

    @property
    def notes(self) -> list[str]:
        """Protocol notes on the envelope: what Relay would have refused or fixed."""
        return list(self._record.get("notes") or [])

    @property
    def item_id(self) -> int:
        return self._record["item_id"]


class Record:
    """An envelope item of any kind other than an event."""

    def __init__(self, record: dict):
        self._record = record

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.type} project={self.project!r}>"

    @property
    def type(self) -> str:
        return self._record.get("type", "")

    @property
    def payload(self) -> Any:
        """The item's parsed JSON, or None for binary payloads."""
        return self._record.get("payload")

    @property
    def headers(self) -> dict:
        return self._record.get("headers") or {}

    @property
    def project(self) -> str | None:
        return self._record.get("project")

    @property
    def project_id(self) -> int:
        return self._record["project_id"]

    @property
    def received_at(self) -> float:
        return self._record["received_at"]

    @property
    def event_id(self) -> str | None:
        return self._record.get("event_id")

    @property
    def item_id(self) -> int | None:
        return self._record.get("item_id")


class Attachment(Record):
    @property
    def content(self) -> bytes:
        """The attachment's bytes, exactly as received."""
        return base64.b64decode(self._record.get("content") or "")

    @property
    def filename(self) -> str | None:
        return self._record.get("filename")

    @property
    def content_type(self) -> str | None:
        return self._record.get("content_type")

    @property
    def attachment_type(self) -> str | None:
        return self._record.get("attachment_type")


class Envelope(Record):
    @property
    def type(self) -> str:
        return "envelope"

    @property
    def raw(self) -> bytes:
        """The envelope bytes as received (after decompression)."""
        return base64.b64decode(self._record["raw"])

    @property
    def items(self) -> list[Attachment]:
        return [Attachment(item) for item in self._record.get("items", [])]

    @property
    def endpoint(self) -> str:
        return self._record["endpoint"]

    @property
    def notes(self) -> list[str]:
        return list(self._record.get("notes") or [])

    @property
    def event_id(self) -> str | None:
        return self._record.get("event_id")

    @property
    def public_key(self) -> str | None:
        return self._record.get("public_key")


class Row(Record):
    """A derived row (a span, a log entry, an outcome): ``payload`` is the row itself."""

    @property
    def payload(self) -> dict:
        return self._record

    def __getitem__(self, key: str) -> Any:
        return self._record[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._record.get(key, default)
