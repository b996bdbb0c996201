"""Every Sentry envelope item type and what it is, in one table.

Relay keeps these facts on the item type itself (``ItemType``, ``Item::quantities()``) and
sentry-python on ``Item.data_category``; here each type is one ``ItemType`` entry, and the rest
of the server asks this table instead of keeping its own set: the envelope parser (known,
event-bound and internal types), the limits (which size and count limit applies), the fault
rules (data categories, what a limit on the event also drops), the derivation (JSON or binary,
which derivation makes its rows, which item is the event), forwarding (which payloads repeat
the event id), and on the client side the view (which method lists it) and the arrival hints.
A new item type is one entry here, plus a derivation module in ``processing/`` if it has rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ItemType:
    name: str
    # Data categories it counts against (rate limits, outcomes, faults; spec §5.4); empty: none.
    categories: tuple[str, ...] = ()
    # Makes Relay generate an event id when the envelope header carries none (Relay's
    # ``Item::requires_event``).
    event_bound: bool = False
    # Carries the envelope's event, so a rate limit on it is a limit on the event (Relay's
    # ``Item::creates_event``; an attachment does only by its attachment type, see
    # ``ingest/faults.CRASH_ATTACHMENTS``).
    creates_event: bool = False
    # Dropped with the envelope's event when a rate limit removes the event (Relay's
    # ``EnvelopeLimiter`` drops what ``requires_event``; ``feedback`` and ``replay_event`` are
    # kept here, as they always were).
    dropped_with_event: bool = False
    # The payload is the event itself: it wins over crash attachments and form fields (Relay's
    # ``event::extract`` takes these items first).
    event_payload: bool = False
    # The JSON payload repeats the envelope's event id (rewritten when forwarding with new ids).
    repeats_event_id: bool = False
    # The two data categories (UI platform, other platform) added when the item header names
    # its ``platform`` (Relay's ``ItemHeaders::platform`` for profiles and profile chunks).
    platform_categories: tuple[str, str] | None = None
    # The payload is a JSON document the server parses (else binary, kept as bytes).
    json: bool = False
    # Relay's per-envelope count and size group (``protocol/limits.py``), and the ``Limits``
    # field capping one item's size; a container's per-entry cap is ``entry_limit``.
    limit_group: str | None = None
    size_limit: str | None = None
    entry_limit: str | None = None
    # Only Relay itself may produce it: refused from clients.
    internal: bool = False
    # Relay knows the type (unknown types are kept and passed on, never refused).
    known: bool = True
    # The derivation ``processing/`` runs on its payload (a name it dispatches on); None: no rows.
    derivation: str | None = None
    # The ``StubView`` method that lists its items (``"sessions"``); None: only ``envelopes()``.
    listed_by: str | None = None
    # The SDK sends it when it flushes, so its arrival shows a flush (``hints.py``).
    sent_on_flush: bool = False


# Facts several entries share: templates that entries copy with their own name and facts
# (``replace`` is checked by mypy against the fields, as a constructor call is).
# Relay's one event slot per envelope: event-bound, counted and capped as the event.
_EVENT_SLOT = ItemType(
    "", event_bound=True, json=True, limit_group="event", size_limit="max_event_size"
)
# An event slot whose payload is the event itself.
_EVENT = replace(_EVENT_SLOT, event_payload=True)
_SESSIONS = ItemType(
    "",
    ("session",),
    json=True,
    limit_group="sessions",
    listed_by="sessions",
    sent_on_flush=True,
)
_PROFILES = ItemType(
    "", json=True, limit_group="profile", size_limit="max_profile_size", listed_by="profiles"
)
_PROFILE_CHUNKS = replace(_PROFILES, platform_categories=("profile_chunk_ui", "profile_chunk"))
_REPLAY_MEDIA = ItemType(
    "", ("replay",), size_limit="max_replay_compressed_size", listed_by="replays"
)

ITEM_TYPES: dict[str, ItemType] = {
    entry.name: entry
    for entry in (
        replace(
            _EVENT,
            name="event",
            categories=("error",),
            creates_event=True,
            repeats_event_id=True,
            derivation="event",
        ),
        replace(
            _EVENT,
            name="transaction",
            categories=("transaction", "transaction_indexed", "span", "span_indexed"),
            creates_event=True,
            repeats_event_id=True,
            derivation="transaction",
        ),
        replace(
            _EVENT,
            name="security",
            categories=("security",),
            creates_event=True,
            repeats_event_id=True,
            derivation="security",
        ),
        replace(
            _EVENT,
            name="raw_security",
            categories=("security",),
            creates_event=True,
            derivation="security_report",
        ),
        replace(
            _EVENT,
            name="feedback",
            categories=("feedback",),
            repeats_event_id=True,
            derivation="feedback",
            listed_by="feedback",
        ),
        replace(_EVENT_SLOT, name="replay_event", categories=("replay",), listed_by="replays"),
        replace(_EVENT_SLOT, name="form_data", json=False, dropped_with_event=True),
        ItemType(
            "attachment",
            ("attachment", "attachment_item"),
            event_bound=True,
            dropped_with_event=True,
            limit_group="attachments",
            size_limit="max_attachment_size",
            listed_by="attachments",
        ),
        ItemType("nel", json=True),
        ItemType(
            "unreal_report",
            ("error",),
            event_bound=True,
            creates_event=True,
            limit_group="attachments",
            size_limit="max_attachments_size",
        ),
        ItemType(
            "user_report",
            ("feedback",),
            event_bound=True,
            dropped_with_event=True,
            repeats_event_id=True,
            json=True,
            limit_group="attachments",
            listed_by="feedback",
        ),
        ItemType(
            "client_report",
            json=True,
            limit_group="client_reports",
            derivation="client_report",
            listed_by="client_reports",
            sent_on_flush=True,
        ),
        replace(_SESSIONS, name="session", derivation="session"),
        replace(_SESSIONS, name="sessions", derivation="sessions"),
        ItemType("statsd", size_limit="max_statsd_size"),
        ItemType("metric_buckets", size_limit="max_statsd_size"),
        replace(
            _PROFILES,
            name="profile",
            categories=("profile", "profile_indexed"),
            event_bound=True,
            dropped_with_event=True,
            platform_categories=("profile_ui", "profile_backend"),
        ),
        replace(_PROFILE_CHUNKS, name="profile_chunk"),
        replace(_PROFILE_CHUNKS, name="profile_chunk_ui"),
        replace(_REPLAY_MEDIA, name="replay_recording", limit_group="replay_recording"),
        replace(_REPLAY_MEDIA, name="replay_video", limit_group="replay_video"),
        ItemType(
            "check_in",
            ("monitor",),
            json=True,
            limit_group="check_in",
            size_limit="max_check_in_size",
            derivation="check_in",
            listed_by="check_ins",
        ),
        ItemType(
            "log",
            ("log_byte", "log_item"),
            json=True,
            limit_group="log",
            entry_limit="max_log_size",
            derivation="log",
        ),
        ItemType(
            "trace_metric",
            ("trace_metric",),
            json=True,
            limit_group="trace_metric",
            entry_limit="max_trace_metric_size",
        ),
        ItemType(
            "span",
            ("span", "span_indexed"),
            json=True,
            limit_group="span",
            size_limit="max_span_size",
            entry_limit="max_span_size",
            derivation="span",
        ),
        ItemType("integration", internal=True),
        # Early sentry-python logs; Relay no longer knows the type and drops it.
        ItemType("otel_log", json=True, known=False, derivation="otel_log"),
    )
}

UNKNOWN = ItemType("", known=False)


def item_type(name: str) -> ItemType:
    """The table's entry for ``name``; an unknown type is known to nobody and has no rows."""
    return ITEM_TYPES.get(name, UNKNOWN)


def derivation_of(name: str) -> str | None:
    return item_type(name).derivation


def _names(has: Callable[[ItemType], bool]) -> tuple[str, ...]:
    """The names of the types ``has`` holds for, in table order."""
    return tuple(name for name, entry in ITEM_TYPES.items() if has(entry))


def listed_by(method: str) -> tuple[str, ...]:
    """The types whose items the ``StubView`` method ``method`` lists, in table order.

    A name no entry gives raises: an empty tuple would make the view list every item.
    """
    names = _names(lambda entry: entry.listed_by == method)
    if not names:
        raise KeyError(f"no item type is listed by {method!r}")
    return names


KNOWN_TYPES = frozenset(_names(lambda entry: entry.known))
INTERNAL_TYPES = frozenset(_names(lambda entry: entry.internal))
CREATES_EVENT = frozenset(_names(lambda entry: entry.creates_event))
DROPPED_WITH_EVENT = frozenset(_names(lambda entry: entry.dropped_with_event))
EVENT_PAYLOAD_TYPES = frozenset(_names(lambda entry: entry.event_payload))
REPEATS_EVENT_ID = frozenset(_names(lambda entry: entry.repeats_event_id))
SENT_ON_FLUSH = _names(lambda entry: entry.sent_on_flush)
