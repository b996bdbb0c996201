"""Relay's size and count limits, checked on decompressed sizes (``relay-config`` defaults).

Which limit applies to an item is a fact of its type (``item_types.py``); the numbers come from
``settings.values.Limits``.
"""

from __future__ import annotations

from ..settings.values import Limits
from .envelope import Item, ParsedEnvelope
from .errors import IngestError
from .item_types import item_type

SIZE_LIMITS_URL = "https://develop.sentry.dev/sdk/envelopes/#size-limits"


def exceeded(item_type: str) -> IngestError:
    return IngestError(
        413, f"envelope exceeded size limits for type '{item_type}' ({SIZE_LIMITS_URL})"
    )


def check_envelope_limits(envelope: ParsedEnvelope, limits: Limits) -> None:
    """Refuse with 413 as Relay does when an item or a group of items is over its limit."""
    counts: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for item in envelope.items:
        group = _group(item)
        if group is None:
            continue
        counts[group] = counts.get(group, 0) + 1
        sizes[group] = sizes.get(group, 0) + len(item.payload)
        _check_item_size(item, limits)
    for group, count in counts.items():
        max_count, max_size = _group_limits(group, limits)
        if count > max_count or sizes[group] > max_size:
            raise exceeded(_group_type(envelope, group))


def _group(item: Item) -> str | None:
    group = item_type(item.type).limit_group
    if group == "span":
        return "span_container" if _is_container(item) else "legacy_spans"
    return group


def _group_type(envelope: ParsedEnvelope, group: str) -> str:
    for item in envelope.items:
        if _group(item) == group:
            return item.type
    return group


def _group_limits(group: str, limits: Limits) -> tuple[int, int]:
    unlimited = 1 << 62
    return {
        "event": (1, unlimited),
        "attachments": (limits.max_attachment_count, limits.max_attachments_size),
        "sessions": (limits.max_session_count, limits.max_sessions_size),
        "client_reports": (limits.max_client_reports_count, limits.max_client_reports_size),
        "legacy_spans": (25, unlimited),
    }.get(group, (1, unlimited))


def _is_container(item: Item) -> bool:
    return "item_count" in item.headers or str(item.headers.get("content_type", "")).startswith(
        "application/vnd.sentry.items."
    )


def _check_item_size(item: Item, limits: Limits) -> None:
    size = len(item.payload)
    entry = item_type(item.type)
    if entry.entry_limit is not None and _is_container(item):
        if size > limits.max_container_size:
            raise exceeded(entry.name)
        count = item.headers.get("item_count")
        per_entry = getattr(limits, entry.entry_limit)
        if isinstance(count, int) and count > 0 and size / count > per_entry:
            raise exceeded(entry.name)
        return
    if entry.size_limit is not None and size > getattr(limits, entry.size_limit):
        raise exceeded(entry.name)
