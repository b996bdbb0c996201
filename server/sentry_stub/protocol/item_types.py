"""Every Sentry envelope item type and what it is, in one table.

Relay keeps these facts on the item type itself (``ItemType``, ``Item::quantities()``) and
sentry-python on ``Item.data_category``; here each type is one ``ItemType`` entry, and the rest
of the server asks this table instead of keeping its own set: the envelope parser (known,
event-bound and internal types), the limits (which size and count limit applies), the fault
rules (data categories), the derivation (JSON or binary, and which derivation makes its rows).
A new item type is one entry here, plus a derivation module in ``processing/`` if it has rows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ItemType:
    name: str
    # Data categories it counts against (rate limits, outcomes, faults; spec §5.4); empty: none.
    categories: tuple[str, ...] = ()
    # Makes Relay generate an event id when the envelope header carries none.
    event_bound: bool = False
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


def _event_slot(
    name: str, categories: tuple[str, ...] = (), derivation: str | None = None, *, json: bool = True
) -> ItemType:
    """A type that takes Relay's one event slot per envelope: event-bound, ``max_event_size``."""
    return ItemType(
        name,
        categories,
        event_bound=True,
        json=json,
        limit_group="event",
        size_limit="max_event_size",
        derivation=derivation,
    )


ITEM_TYPES: dict[str, ItemType] = {
    entry.name: entry
    for entry in (
        _event_slot("event", ("error",), "event"),
        _event_slot(
            "transaction",
            ("transaction", "transaction_indexed", "span", "span_indexed"),
            "transaction",
        ),
        _event_slot("security", ("security",), "security"),
        _event_slot("raw_security", ("security",), "security_report"),
        _event_slot("feedback", ("feedback",), "feedback"),
        _event_slot("replay_event", ("replay",)),
        _event_slot("form_data", json=False),
        ItemType(
            "attachment",
            ("attachment", "attachment_item"),
            event_bound=True,
            limit_group="attachments",
            size_limit="max_attachment_size",
        ),
        ItemType("nel", json=True),
        ItemType(
            "unreal_report",
            ("error",),
            event_bound=True,
            limit_group="attachments",
            size_limit="max_attachments_size",
        ),
        ItemType(
            "user_report", ("feedback",), event_bound=True, json=True, limit_group="attachments"
        ),
        ItemType("session", ("session",), json=True, limit_group="sessions", derivation="session"),
        ItemType(
            "sessions", ("session",), json=True, limit_group="sessions", derivation="sessions"
        ),
        ItemType("statsd", size_limit="max_statsd_size"),
        ItemType("metric_buckets", size_limit="max_statsd_size"),
        ItemType(
            "client_report", json=True, limit_group="client_reports", derivation="client_report"
        ),
        ItemType(
            "profile",
            ("profile", "profile_indexed"),
            event_bound=True,
            json=True,
            limit_group="profile",
            size_limit="max_profile_size",
        ),
        ItemType("profile_chunk", json=True, limit_group="profile", size_limit="max_profile_size"),
        ItemType(
            "profile_chunk_ui", json=True, limit_group="profile", size_limit="max_profile_size"
        ),
        ItemType(
            "replay_recording",
            ("replay",),
            limit_group="replay_recording",
            size_limit="max_replay_compressed_size",
        ),
        ItemType(
            "replay_video",
            ("replay",),
            limit_group="replay_video",
            size_limit="max_replay_compressed_size",
        ),
        ItemType(
            "check_in",
            ("monitor",),
            json=True,
            limit_group="check_in",
            size_limit="max_check_in_size",
            derivation="check_in",
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


KNOWN_TYPES = frozenset(name for name, entry in ITEM_TYPES.items() if entry.known)
INTERNAL_TYPES = frozenset(name for name, entry in ITEM_TYPES.items() if entry.internal)
