"""Relay's size and count limits, checked on decompressed sizes (``relay-config`` defaults)."""

from __future__ import annotations

from ..settings.values import Limits
from .envelope import Envelope, Item
from .errors import IngestError

SIZE_LIMITS_URL = "https://develop.sentry.dev/sdk/envelopes/#size-limits"

# Items that share Relay's single "event" slot per envelope.
EVENT_SLOT = frozenset(
    {"event", "transaction", "security", "raw_security", "replay_event", "feedback", "form_data"}
)
CONTAINERS = frozenset({"log", "trace_metric", "span"})


def exceeded(item_type: str) -> IngestError:
    return IngestError(
        413, f"envelope exceeded size limits for type '{item_type}' ({SIZE_LIMITS_URL})"
    )


def check_envelope_limits(envelope: Envelope, limits: Limits) -> None:
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
    kind = item.type
    if kind in EVENT_SLOT:
        return "event"
    if kind in ("attachment", "unreal_report", "user_report"):
        return "attachments"
    if kind in ("session", "sessions"):
        return "sessions"
    if kind == "client_report":
        return "client_reports"
    if kind in ("profile", "profile_chunk", "profile_chunk_ui"):
        return "profile"
    if kind in ("check_in", "replay_recording", "replay_video", "log", "trace_metric"):
        return kind
    if kind == "span" and _is_container(item):
        return "span_container"
    if kind == "span":
        return "legacy_spans"
    return None


def _group_type(envelope: Envelope, group: str) -> str:
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
    kind = item.type
    if kind in CONTAINERS and _is_container(item):
        if size > limits.max_container_size:
            raise exceeded(kind)
        count = item.headers.get("item_count")
        per_item = {
            "log": limits.max_log_size,
            "trace_metric": limits.max_trace_metric_size,
            "span": limits.max_span_size,
        }[kind]
        if isinstance(count, int) and count > 0 and size / count > per_item:
            raise exceeded(kind)
        return
    limit = {
        "attachment": limits.max_attachment_size,
        "unreal_report": limits.max_attachments_size,
        "check_in": limits.max_check_in_size,
        "profile": limits.max_profile_size,
        "profile_chunk": limits.max_profile_size,
        "profile_chunk_ui": limits.max_profile_size,
        "replay_recording": limits.max_replay_compressed_size,
        "replay_video": limits.max_replay_compressed_size,
        "span": limits.max_span_size,
        "statsd": limits.max_statsd_size,
        "metric_buckets": limits.max_statsd_size,
    }.get(kind)
    if kind in EVENT_SLOT:
        limit = limits.max_event_size
    if limit is not None and size > limit:
        raise exceeded(kind)
