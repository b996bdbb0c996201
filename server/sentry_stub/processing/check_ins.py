"""Check-in rows (cron monitors), with Relay's slug and status rules."""

from __future__ import annotations

from ..protocol.payload import Reader, dict_at, number_or_none, uuid_hex
from .rows import Rows

MONITOR_SLUG_MAX_CHARS = 50
CHECK_IN_STATUSES = frozenset({"in_progress", "ok", "error"})


def extract_check_in(rows: Rows, payload: dict, headers: dict) -> None:
    reader = Reader(rows.notes, "check_in")
    slug = reader.string(payload.get("monitor_slug"), "monitor_slug")
    if not slug:
        reader.note("monitor_slug is missing or empty; Relay drops the check-in")
    elif len(slug) > MONITOR_SLUG_MAX_CHARS:
        reader.note(
            f"monitor_slug is longer than {MONITOR_SLUG_MAX_CHARS} characters; Relay cuts it"
        )
        slug = slug[:MONITOR_SLUG_MAX_CHARS]
    status = reader.string(payload.get("status"), "status")
    if status is not None and status not in CHECK_IN_STATUSES:
        reader.note(f"status {status!r} is not in_progress, ok or error; Relay stores unknown")
        status = "unknown"
    check_in_id = payload.get("check_in_id")
    rows.check_ins.append(
        {
            "check_in_id": uuid_hex(check_in_id) or reader.string(check_in_id, "check_in_id"),
            "monitor_slug": slug or None,
            "status": status,
            "duration": number_or_none(payload.get("duration"), "duration", reader),
            "release": reader.string(payload.get("release"), "release"),
            "environment": reader.string(payload.get("environment"), "environment"),
            "trace_id": reader.hex_id(
                dict_at(payload, "contexts", "trace").get("trace_id"),
                "contexts.trace.trace_id",
                32,
            ),
        }
    )
