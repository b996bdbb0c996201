"""Span rows: a transaction's segment and child spans, legacy standalone spans and span v2."""

from __future__ import annotations

from ..protocol.payload import (
    Reader,
    attribute_values,
    container_items,
    dict_at,
    duration_ms,
    first_string,
    json_kind,
    json_or_none,
)
from ..protocol.tables import SpanRow
from .rows import Rows


def transaction_spans(event: dict, columns: dict, reader: Reader) -> list[SpanRow]:
    """One row for the transaction itself (the segment) and one per child span."""
    trace = dict_at(event, "contexts", "trace")
    shared: SpanRow = {
        "segment_id": columns["span_id"],
        "transaction_name": columns["transaction_name"],
        "environment": columns["environment"],
        "release": columns["release"],
    }
    segment: SpanRow = {
        **shared,
        "trace_id": columns["trace_id"],
        "span_id": columns["span_id"],
        "parent_span_id": columns["parent_span_id"],
        "is_segment": 1,
        "op": columns["transaction_op"],
        "description": columns["transaction_name"],
        "status": columns["trace_status"],
        "start_timestamp": columns["start_timestamp"],
        "timestamp": columns["timestamp"],
        "duration": columns["duration"],
        "data": json_or_none(trace.get("data")),
    }
    spans = event.get("spans")
    if spans is None:
        spans = []
    elif not isinstance(spans, list):
        reader.note(f"spans: expected a list, got {json_kind(spans)}; child spans not indexed")
        spans = []
    rows = [segment]
    for index, span in enumerate(spans):
        if not isinstance(span, dict):
            reader.note(f"spans[{index}]: expected an object, got {json_kind(span)}; skipped")
            continue
        row = _span_columns(span, reader.at(f"spans[{index}]"))
        row["trace_id"] = row["trace_id"] or columns["trace_id"]
        row.update(shared)
        row["is_segment"] = 0
        rows.append(row)
    return rows


def _span_row(span: dict, reader: Reader) -> SpanRow:
    """Columns of a legacy standalone span, which names its transaction in its data."""
    row = _span_columns(span, reader)
    row["is_segment"] = 1 if span.get("is_segment") is True else 0
    data = span["data"] if isinstance(span.get("data"), dict) else {}
    row["transaction_name"] = first_string(data, "transaction", "sentry.transaction")
    row["environment"] = first_string(data, "sentry.environment", "environment")
    row["release"] = first_string(data, "sentry.release", "release")
    return row


def _span_columns(span: dict, reader: Reader) -> SpanRow:
    """The columns every span in the transaction-child / legacy standalone shape has."""
    return {
        **_ids_and_times(span, reader, end="timestamp"),
        "segment_id": reader.hex_id(span.get("segment_id"), "segment_id", 16),
        "op": reader.string(span.get("op"), "op"),
        "description": reader.string(span.get("description"), "description"),
        "status": reader.string(span.get("status"), "status"),
        "data": json_or_none(span.get("data")),
    }


def _ids_and_times(span: dict, reader: Reader, *, end: str) -> SpanRow:
    """What every span shape reads alike: its ids, and its times from ``start_timestamp`` to
    ``end`` (the field's name differs between the shapes)."""
    start_time = reader.timestamp(span.get("start_timestamp"), "start_timestamp")
    end_time = reader.timestamp(span.get(end), end)
    return {
        "trace_id": reader.hex_id(span.get("trace_id"), "trace_id", 32),
        "span_id": reader.hex_id(span.get("span_id"), "span_id", 16),
        "parent_span_id": reader.hex_id(span.get("parent_span_id"), "parent_span_id", 16),
        "start_timestamp": start_time,
        "timestamp": end_time,
        "duration": duration_ms(start_time, end_time),
    }


def extract_span(rows: Rows, payload: dict, headers: dict) -> None:
    reader = Reader(rows.notes, "span")
    if "items" not in payload:
        rows.spans.append(_span_row(payload, reader))
        return
    for index, span in enumerate(container_items(payload, headers, reader)):
        if isinstance(span, dict):
            rows.spans.append(_span_v2_row(span, reader.at(f"items[{index}]")))
        else:
            reader.note(f"items[{index}]: expected an object, got {json_kind(span)}; skipped")


def _span_v2_row(span: dict, reader: Reader) -> SpanRow:
    """Columns of a span v2 (`application/vnd.sentry.items.span.v2+json`) entry."""
    attributes = attribute_values(span.get("attributes"), reader)
    return {
        **_ids_and_times(span, reader, end="end_timestamp"),
        "segment_id": first_string(attributes, "sentry.segment.id"),
        "is_segment": 1 if span.get("is_segment") is True else 0,
        "op": first_string(attributes, "sentry.op"),
        "description": reader.string(span.get("name"), "name")
        or first_string(attributes, "sentry.description"),
        "status": reader.string(span.get("status"), "status"),
        "transaction_name": first_string(attributes, "sentry.segment.name", "sentry.transaction"),
        "environment": first_string(attributes, "sentry.environment"),
        "release": first_string(attributes, "sentry.release"),
        "data": json_or_none(attributes or None),
    }
