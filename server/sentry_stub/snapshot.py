"""Normalizing an event for golden-file comparison: keep its shape, blank out what varies."""

from __future__ import annotations

import re
from typing import Any

# Keys whose values differ on every run: replaced by "<key>".
VOLATILE_KEYS = frozenset(
    {
        "event_id",
        "trace_id",
        "span_id",
        "parent_span_id",
        "segment_id",
        "profiler_id",
        "profile_id",
        "replay_id",
        "sid",
        "did",
        "timestamp",
        "start_timestamp",
        "sent_at",
        "received",
        "duration",
        "exclusive_time",
        "thread_id",
        "server_name",
        "sample_rand",
    }
)
# Keys whose values depend on the machine or the installed versions.
VERSION_KEYS = frozenset({"version", "build", "kernel_version"})
DROPPED_KEYS = frozenset({"modules", "packages", "integrations"})
UUID_HEX = re.compile(r"^[0-9a-f]{32}$|^[0-9a-f]{16}$|^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$")


def normalize_for_snapshot(value: Any, key: str | None = None) -> Any:
    """A copy of ``value`` with ids, times, durations and versions replaced by placeholders."""
    if isinstance(value, dict):
        return {
            k: normalize_for_snapshot(v, k)
            for k, v in sorted(value.items())
            if k not in DROPPED_KEYS
        }
    if isinstance(value, list):
        return [normalize_for_snapshot(v, key) for v in value]
    if key in VOLATILE_KEYS or key in VERSION_KEYS:
        return f"<{key}>"
    if isinstance(value, str) and UUID_HEX.match(value):
        return "<id>"
    return value
