"""What a test gets back: ``Event`` and the records of the other item kinds.

They are read-only views over what the query API returned, with attributes for the fields
people assert on most.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import StubClient


class Event(Mapping[str, Any]):
    """An event: ``event["..."]`` is the JSON as the SDK sent it (a read-only mapping); the
    attributes are the fields as the server indexed them, i.e. what a search on them matches
    (``event.level`` is what ``level:`` compares); ``.stored`` is the event as Sentry stores it.
    """

    def __init__(self, record: dict, *, client: StubClient | None = None):
        self._record = record
        self._data: dict = record.get("data") or {}
        self._indexed: dict = record.get("indexed") or {}
        self._client = client  # for what the server works out on request (source maps)

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
        """The event JSON as sent."""
        return self._data

    @property
    def indexed(self) -> dict[str, Any]:
        """Every field as searches read it, keyed by search field name (``level``, ``error.type``,
        ``user.email``, ``tags``...): ``field:value`` matches this event where ``value`` is here."""
        return self._indexed

    def _field(self, name: str) -> Any:
        """An indexed text field; empty (how the search reads a missing value) is None."""
        value = self._indexed.get(name)
        return None if value == "" else value

    @property
    def event_id(self) -> str:
        return self._record["event_id"]

    @property
    def type(self) -> str:
        """``event.type``: error, default, transaction, csp, feedback..."""
        return self._record["type"]

    @property
    def level(self) -> str | None:
        """The level Relay stores: aliases resolved (critical is fatal), the default filled in."""
        return self._field("level")

    @property
    def release(self) -> str | None:
        return self._field("release")

    @property
    def environment(self) -> str | None:
        """The environment, also when the SDK sent it only as an ``environment`` tag."""
        return self._field("environment")

    @property
    def transaction(self) -> str | None:
        return self._field("transaction")

    @property
    def platform(self) -> str | None:
        """The platform Relay stores: ``other`` for a missing or unknown one."""
        return self._field("platform")

    @property
    def message(self) -> str | None:
        """``logentry`` (or ``message``) formatted with its params, as Relay formats it."""
        return self._field("message")

    @property
    def tags(self) -> dict[str, str | None]:
        """Tags as the search reads them, whichever form (object or pairs) the SDK sent: keys
        cleaned as Relay cleans them, the first value of a repeated key, the tags Relay moves
        into fields (release, environment, user...) left out."""
        return dict(self._indexed.get("tags") or {})

    @property
    def user(self) -> dict[str, str]:
        """The indexed user fields (``id``, ``email``, ``ip_address``, ``username``) it has;
        ``event["user"]`` has the rest as sent."""
        fields = {"id": "user.id", "email": "user.email", "ip_address": "user.ip"}
        fields["username"] = "user.username"
        return {key: value for key, name in fields.items() if (value := self._field(name))}

    @property
    def contexts(self) -> dict:
        """The contexts as sent (searches index only trace, browser and os of them)."""
        return self._data.get("contexts") or {}

    @property
    def exception(self) -> list[dict]:
        """The exception values (oldest first) in Relay's reading of the container: from
        ``{"values": [...]}``, a bare list, or one exception object."""
        return list(self._indexed.get("exception") or [])

    @property
    def breadcrumbs(self) -> list[dict]:
        """The breadcrumbs as sent (searches do not index them)."""
        crumbs = self._data.get("breadcrumbs")
        values = crumbs.get("values") if isinstance(crumbs, dict) else crumbs
        return [c for c in values or [] if isinstance(c, dict)]

    @property
    def title(self) -> str:
        """Sentry's title: ``Type: value`` of an error, a transaction's name, else the message."""
        return self._field("title") or "<no title>"

    @property
    def trace_id(self) -> str | None:
        """``trace``: the trace id of ``contexts.trace``, 32 lower-case hex characters."""
        return self._field("trace")

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

    @property
    def symbolicated_frames(self) -> list[dict]:
        """Each stack frame as Sentry would show it with the uploaded source maps: ``resolved``,
        ``source``, ``line``, ``column``, ``function``, ``context_line``, else ``reason``.

        Worked out by the server on each read (uploads may change); empty for an event that is
        not JavaScript.
        """
        if self._client is None:
            raise RuntimeError(
                "symbolicated_frames asks the server: use an Event from a StubView "
                "(sentry_stub.events() or wait_for())"
            )
        report = self._client.check_sourcemaps(items=[self.item_id])
        return [frame for event in report["events"] for frame in event["frames"]]


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


class EnvelopeItem(Record):
    """An item of a received envelope (``Envelope.items``), of any type, with its exact bytes."""

    @property
    def content(self) -> bytes:
        """The item's payload bytes, exactly as received."""
        return base64.b64decode(self._record.get("content") or "")


class Attachment(EnvelopeItem):
    """An attachment item: its bytes (``.content``) and what its header says of the file."""

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
    """A received envelope as the query API returns it (the server's own is ``ParsedEnvelope``)."""

    @property
    def type(self) -> str:
        return "envelope"

    @property
    def raw(self) -> bytes:
        """The envelope bytes as received (after decompression)."""
        return base64.b64decode(self._record["raw"])

    @property
    def items(self) -> list[EnvelopeItem]:
        """Its items in order: attachments as ``Attachment``, every other as ``EnvelopeItem``."""
        return [
            Attachment(item) if item.get("type") == "attachment" else EnvelopeItem(item)
            for item in self._record.get("items", [])
        ]

    @property
    def endpoint(self) -> str:
        return self._record["endpoint"]

    @property
    def notes(self) -> list[str]:
        return list(self._record.get("notes") or [])

    @property
    def event_id(self) -> str | None:
        """The event id its header names (an envelope of sessions may name one too)."""
        return self._record.get("event_id")

    @property
    def derived_event_id(self) -> str | None:
        """The id of the event made of it, as a search finds it; None when none was (no event
        item, or one whose JSON was broken)."""
        return self._record.get("derived_event_id")

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
