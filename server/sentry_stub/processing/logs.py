"""Log rows from ``log`` item containers, and why ``otel_log`` items give none."""

from __future__ import annotations

from typing import Any

from ..protocol.envelope import is_int
from ..protocol.payload import (
    Reader,
    attribute_values,
    container_items,
    first_string,
    json_kind,
    json_or_none,
)
from ..protocol.tables import LogRow
from .rows import Rows


def extract_logs(rows: Rows, payload: dict, headers: dict) -> None:
    reader = Reader(rows.notes, "log")
    for index, log in enumerate(container_items(payload, headers, reader)):
        if not isinstance(log, dict):
            reader.note(f"items[{index}]: expected an object, got {json_kind(log)}; skipped")
            continue
        rows.logs.append(_log_row(log, reader.at(f"items[{index}]")))


def _log_row(log: dict, reader: Reader) -> LogRow:
    attributes = attribute_values(log.get("attributes"), reader)
    timestamp = reader.timestamp(log.get("timestamp"), "timestamp")
    trace_id = reader.hex_id(log.get("trace_id"), "trace_id", 32)
    if timestamp is None or trace_id is None:
        reader.note("timestamp and trace_id are required; Relay drops this log")
    severity = log.get("severity_number")
    if severity is None:
        # sentry-python sends it only as this attribute, where Sentry keeps it for every log.
        severity = attributes.get("sentry.severity_number")
    return {
        "timestamp": timestamp,
        "trace_id": trace_id,
        "span_id": reader.hex_id(log.get("span_id"), "span_id", 16),
        "level": reader.string(log.get("level"), "level"),
        "severity_number": severity if is_int(severity) else None,
        "body": reader.string(log.get("body"), "body"),
        "environment": first_string(attributes, "sentry.environment"),
        "release": first_string(attributes, "sentry.release"),
        "attributes": json_or_none(log.get("attributes")),
    }


def extract_otel_log(rows: Rows, payload: Any, headers: dict) -> None:
    """Early sentry-python logs (2.27 among them) were sent as OpenTelemetry log records.

    Relay converted those into logs until it removed the item type (getsentry/relay#5082,
    August 2025); today it reads `otel_log` as an unknown item type, which processing Relays
    drop: such logs never reach Sentry. So no log rows here either, and a note that says why.
    """
    rows.notes.append(
        "otel_log: an OpenTelemetry log record, which current Relay does not know and drops "
        "(it converted them into logs until 2025); these logs never reach Sentry and have no "
        "log rows here; upgrade the SDK to one that sends `log` items"
    )
