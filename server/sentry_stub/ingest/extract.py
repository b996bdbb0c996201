"""Turn one stored envelope item into the rows of the query tables.

Everything here is pure: ``extract_rows`` takes an item's type, its payload (already parsed as
JSON, or None) and its header, and returns the column values the writer inserts. The writer adds
the bookkeeping columns (``id``, ``item_id``, ``project_id``, ``received_at``) itself.

Values are read the way Relay reads them (ingest-protocol.md §6, §8): the same timestamp forms,
level aliases and tag rules, so a query for ``level:warning`` or ``foo-bar:baz`` finds what Sentry
would find. Nothing here raises on bad input: what cannot be read is left out and explained in
``Rows.notes``, together with whatever Relay would refuse or silently fix.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import orjson

from ..protocol.envelope import is_int

# A timestamp beyond 9999-12-31T23:59:59Z is out of Relay's range; milliseconds land here.
MAX_TIMESTAMP = 253402300799
TAG_MAX_CHARS = 200
MONITOR_SLUG_MAX_CHARS = 50

LEVELS = ("fatal", "error", "warning", "info", "debug")
LEVEL_ALIASES = {"log": "info", "critical": "fatal"}
PYTHON_LOGGING_LEVELS = {10: "debug", 20: "info", 30: "warning", 40: "error", 50: "fatal"}

# Relay's list of platforms; anything else is stored as "other".
VALID_PLATFORMS = frozenset(
    {
        *("as3", "c", "cfml", "cocoa", "csharp", "elixir", "go", "groovy", "haskell", "java"),
        *("javascript", "native", "node", "objc", "other", "perl", "php", "python", "ruby"),
    }
)

# Tags Relay removes because they would be ambiguous next to the event fields of the same name.
RESERVED_TAG_KEYS = frozenset({"release", "dist", "user", "filename", "function", "environment"})
TAG_KEY_PATTERN = re.compile(r"[a-zA-Z0-9_.:-]+")

CLIENT_REPORT_KINDS = (
    "discarded_events",
    "rate_limited_events",
    "filtered_events",
    "filtered_sampling_events",
)
SESSION_STATUSES = frozenset({"ok", "exited", "crashed", "abnormal", "errored", "unhandled"})
SESSION_COUNTS = ("exited", "errored", "abnormal", "crashed", "unhandled")
CHECK_IN_STATUSES = frozenset({"in_progress", "ok", "error"})

# How Relay formats ``logentry.message`` with ``params`` (relay-event-normalization logentry.rs):
# a template with a ``%`` takes printf-style placeholders (``%s``, ``%5.2f``, ``%(name)s``,
# ``%%``) only; otherwise one with a ``{`` takes ``{}`` (the next param) and ``{0}`` only.
PRINTF_PLACEHOLDER = re.compile(
    r"%%|%(?:\((?P<name>\w+)\))?[-#0 +]*\d*(?:\.\d+)?[hlL]?[diouxXeEfFgGcrsa]"
)
CURLY_PLACEHOLDER = re.compile(r"\{(?P<index>\d*)\}")


@dataclass
class Rows:
    """The rows one item produces, plus notes on what Relay would have done differently."""

    event: dict | None = None
    tags: list[tuple[str, str | None]] = field(default_factory=list)
    spans: list[dict] = field(default_factory=list)
    outcomes: list[dict] = field(default_factory=list)
    sessions: list[dict] = field(default_factory=list)
    check_ins: list[dict] = field(default_factory=list)
    logs: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def extract_rows(item_type: str, payload: Any, headers: dict) -> Rows:
    """The query-table rows for one item; unknown and binary item types give no rows."""
    rows = Rows()
    extractor = _EXTRACTORS.get(item_type)
    if extractor is None:
        return rows
    if payload is None:
        rows.notes.append(f"{item_type}: payload is not JSON; nothing indexed")
        return rows
    extractor(rows, payload, headers if isinstance(headers, dict) else {})
    return rows


def dsc_notes(trace_header: Any) -> list[str]:
    """What Relay would ignore in an envelope's ``trace`` header (the dynamic sampling context).

    Relay drops the whole DSC (but accepts the envelope) when it cannot parse it, so sampling
    decisions and ``sample_rate`` checks then behave as if no DSC had been sent.
    """
    if trace_header is None:
        return []
    if not isinstance(trace_header, dict):
        return [f"trace header: expected an object, got {_kind(trace_header)}; Relay ignores it"]
    notes = []
    ignored = "; Relay ignores the whole trace header (dynamic sampling context)"
    trace_id = trace_header.get("trace_id")
    if trace_id is None:
        notes.append("trace header: trace_id is missing" + ignored)
    elif _uuid_hex(trace_id) is None:
        notes.append(f"trace header: trace_id {trace_id!r} is not a UUID" + ignored)
    if not isinstance(trace_header.get("public_key"), str):
        notes.append("trace header: public_key is missing or not a string" + ignored)
    rate = trace_header.get("sample_rate")
    if isinstance(rate, int | float) and not isinstance(rate, bool):
        notes.append(
            f"trace header: sample_rate is the JSON number {rate}, not a string like "
            f'"{rate}"' + ignored
        )
    elif isinstance(rate, str):
        number = _float_or_none(rate)
        if number is None:
            notes.append(f"trace header: sample_rate {rate!r} is not a number" + ignored)
        elif number < 0:
            notes.append(f"trace header: sample_rate {rate!r} is negative" + ignored)
    elif rate is not None:
        notes.append(f"trace header: sample_rate is {_kind(rate)}" + ignored)
    sampled = trace_header.get("sampled")
    if sampled is not None and not isinstance(sampled, bool) and sampled not in ("true", "false"):
        notes.append(
            f"trace header: sampled {sampled!r} is neither true nor false; "
            "Relay reads it as unknown"
        )
    return notes


# --- events -----------------------------------------------------------------------------------


def _extract_event(rows: Rows, payload: Any, headers: dict, *, item_type: str = "event") -> None:
    if not isinstance(payload, dict):
        rows.notes.append(f"{item_type}: expected a JSON object, got {_kind(payload)}; not indexed")
        return
    reader = _Reader(rows.notes, item_type)
    event_type = {"transaction": "transaction", "feedback": "feedback"}.get(item_type)
    rows.event = _event_columns(payload, reader, event_type or _infer_event_type(payload))
    rows.tags = _tags(payload.get("tags"), reader)
    if rows.event["environment"] is None:
        # Relay moves an `environment` tag into the field when the field is missing.
        rows.event["environment"] = _reserved_tag(payload.get("tags"), "environment")
    if item_type == "transaction":
        rows.spans = _transaction_spans(payload, rows.event, reader)


def _extract_transaction(rows: Rows, payload: Any, headers: dict) -> None:
    _extract_event(rows, payload, headers, item_type="transaction")


def _extract_feedback(rows: Rows, payload: Any, headers: dict) -> None:
    _extract_event(rows, payload, headers, item_type="feedback")
    if rows.event is not None and rows.event["message"] is None:
        feedback = _dict_at(payload, "contexts", "feedback")
        rows.event["message"] = _Reader(rows.notes, "feedback").string(
            feedback.get("message"), "contexts.feedback.message"
        )
        if rows.event["message"] is None:
            rows.notes.append(
                "feedback: contexts.feedback.message is missing; Relay drops the feedback"
            )


def _infer_event_type(event: dict) -> str:
    """Relay's rule: `error` when there is an exception, a security type, else `default`."""
    if exception_values(event.get("exception")):
        return "error"
    for security_type in ("csp", "hpkp", "expectct", "expectstaple", "nel"):
        if isinstance(event.get(security_type), dict):
            return security_type
    return "default"


def _event_columns(event: dict, reader: _Reader, event_type: str) -> dict:
    trace = _dict_at(event, "contexts", "trace")
    user = _dict_at(event, "user")
    sdk = _dict_at(event, "sdk")
    request = _dict_at(event, "request")
    exception = _main_exception(event, reader)
    timestamp = reader.timestamp(event.get("timestamp"), "timestamp")
    start_timestamp = reader.timestamp(event.get("start_timestamp"), "start_timestamp")
    duration = None
    if event_type == "transaction":
        if timestamp is None:
            reader.note("timestamp is missing or invalid; Relay drops the transaction")
        if timestamp is not None and start_timestamp is not None:
            duration = _duration_ms(start_timestamp, timestamp)
    return {
        "event_id": reader.event_id(event.get("event_id")),
        "type": event_type,
        "level": reader.level(event.get("level"), event_type),
        "release": reader.lenient_string(event.get("release"), "release"),
        "dist": reader.string(event.get("dist"), "dist"),
        "environment": reader.string(event.get("environment"), "environment"),
        "transaction_name": reader.string(event.get("transaction"), "transaction"),
        "transaction_op": reader.string(trace.get("op"), "contexts.trace.op"),
        "transaction_source": reader.string(
            _dict_at(event, "transaction_info").get("source"), "transaction_info.source"
        ),
        "platform": reader.platform(event.get("platform")),
        "logger": reader.string(event.get("logger"), "logger"),
        "server_name": reader.string(event.get("server_name"), "server_name"),
        "timestamp": timestamp,
        "start_timestamp": start_timestamp,
        "duration": duration,
        "trace_id": reader.hex_id(trace.get("trace_id"), "contexts.trace.trace_id", 32),
        "span_id": reader.hex_id(trace.get("span_id"), "contexts.trace.span_id", 16),
        "parent_span_id": reader.hex_id(
            trace.get("parent_span_id"), "contexts.trace.parent_span_id", 16
        ),
        "trace_status": reader.string(trace.get("status"), "contexts.trace.status"),
        "user_id": reader.lenient_string(user.get("id"), "user.id"),
        "user_email": reader.string(user.get("email"), "user.email"),
        "user_ip": reader.string(user.get("ip_address"), "user.ip_address"),
        "user_username": reader.lenient_string(user.get("username"), "user.username"),
        "sdk_name": reader.string(sdk.get("name"), "sdk.name"),
        "sdk_version": reader.string(sdk.get("version"), "sdk.version"),
        "message": _message(event, reader),
        "exception_type": reader.string(exception.get("type"), "exception type"),
        "exception_value": reader.lenient_string(exception.get("value"), "exception value"),
        **_exception_arrays(event),
        "handled": _handled(event),
        "http_status_code": _http_status_code(event, reader),
        "http_method": reader.string(request.get("method"), "request.method"),
        "url": reader.string(request.get("url"), "request.url"),
        "browser_name": reader.string(
            _dict_at(event, "contexts", "browser").get("name"), "contexts.browser.name"
        ),
        "os_name": reader.string(_dict_at(event, "contexts", "os").get("name"), "contexts.os.name"),
    }


def exception_values(container: Any) -> list[dict]:
    """Exceptions as Relay's `Values` reads the container, oldest first.

    `{"values": [...]}`, a bare list, or one exception object (a list of one); an empty object
    is no exception at all.
    """
    values = container
    if isinstance(container, dict):
        values = container.get("values", [container] if container else [])
    if not isinstance(values, list):
        return []
    return [value for value in values if isinstance(value, dict)]


def _exception_arrays(event: dict) -> dict[str, str | None]:
    """Sentry's `error.type` and `error.value` arrays: every exception's, oldest first."""
    values = exception_values(event.get("exception"))
    types = [value["type"] for value in values if isinstance(value.get("type"), str)]
    texts = [_lenient_text(value.get("value")) for value in values]
    texts = [text for text in texts if text is not None]
    return {
        "exception_types": _json_text(types) if types else None,
        "exception_values": _json_text(texts) if texts else None,
    }


def _main_exception(event: dict, reader: _Reader) -> dict:
    """The exception Sentry titles the issue with: the last entry (the outermost, newest)."""
    container = event.get("exception")
    if container is not None and not isinstance(container, dict | list):
        reader.note(f"exception: expected an object or a list, got {_kind(container)}")
    values = exception_values(container)
    return values[-1] if values else {}


def _handled(event: dict) -> int | None:
    """0 when any exception's mechanism says unhandled (Sentry's `error.unhandled`), else 1/None."""
    flags = [
        mechanism.get("handled")
        for value in exception_values(event.get("exception"))
        if isinstance(mechanism := value.get("mechanism"), dict)
        and isinstance(mechanism.get("handled"), bool)
    ]
    if not flags:
        return None
    return 0 if False in flags else 1


def _message(event: dict, reader: _Reader) -> str | None:
    """`logentry` (or its legacy alias `message`) as Relay formats it."""
    for key in ("logentry", "message"):
        value = event.get(key)
        if value is None or value is False:
            continue
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return _json_text(value)
        if isinstance(value, dict):
            return _formatted_logentry(value, reader, key)
        reader.note(f"{key}: expected a string or an object, got {_kind(value)}")
    return None


def _formatted_logentry(entry: dict, reader: _Reader, where: str) -> str | None:
    formatted = reader.string(entry.get("formatted"), f"{where}.formatted")
    if formatted is not None:
        return formatted
    template = reader.string(entry.get("message"), f"{where}.message")
    params = entry.get("params")
    if template is None or params is None:
        return template
    return _format_params(template, params)


def _format_params(template: str, params: Any) -> str:
    """Fill the placeholders; the template unchanged when params run short, as Relay leaves it."""
    positional = iter(params) if isinstance(params, list) else iter(())
    named = params if isinstance(params, dict) else {}
    indexed = params if isinstance(params, list) else []

    def replace(match: re.Match) -> str:
        if match.group(0) == "%%":
            return "%"
        index = match.groupdict().get("index")
        if index:
            return _param_text(indexed[int(index)])
        if match.groupdict().get("name") is not None:
            return _param_text(named[match.group("name")])
        return _param_text(next(positional))

    placeholder = PRINTF_PLACEHOLDER if "%" in template else CURLY_PLACEHOLDER
    try:
        return placeholder.sub(replace, template)
    except (StopIteration, KeyError, IndexError):
        return template


def _param_text(value: Any) -> str:
    return value if isinstance(value, str) else _json_text(value)


def _http_status_code(event: dict, reader: _Reader) -> str | None:
    status = _tag_value(event.get("tags"), "http.status_code")
    if status is None:
        status = _dict_at(event, "contexts", "response").get("status_code")
    return reader.lenient_string(status, "http status code")


# --- tags ---------------------------------------------------------------------------------------


def _tags(tags: Any, reader: _Reader) -> list[tuple[str, str | None]]:
    """Tags as Relay stores them: pairs in order (object keys sorted), keys and values cleaned."""
    pairs = _tag_pairs(tags, reader)
    result = []
    for index, (raw_key, raw_value) in enumerate(pairs):
        key = _tag_key(raw_key)
        if key is None:
            reader.note(f"tags[{index}]: key {raw_key!r} is not a valid tag key; Relay drops it")
            continue
        if key in RESERVED_TAG_KEYS:
            continue
        value = _tag_text(raw_value)
        if value is not None and "\n" in value:
            reader.note(f"tags[{index}] {key}: value contains a newline; Relay drops the value")
            value = None
        result.append((key, value[:TAG_MAX_CHARS] if value else None))
    return result


def _tag_pairs(tags: Any, reader: _Reader) -> list[tuple[Any, Any]]:
    if tags is None:
        return []
    if isinstance(tags, dict):
        return sorted(tags.items())
    if not isinstance(tags, list):
        reader.note(f"tags: expected an object or a list of pairs, got {_kind(tags)}; ignored")
        return []
    pairs = []
    for index, pair in enumerate(tags):
        if isinstance(pair, list) and len(pair) == 2:
            pairs.append((pair[0], pair[1]))
        else:
            reader.note(f"tags[{index}]: expected a [key, value] pair; Relay drops it")
    return pairs


def _tag_key(raw: Any) -> str | None:
    text = _tag_text(raw)
    if text is None:
        return None
    key = text.replace(" ", "-")[:TAG_MAX_CHARS]
    return key if TAG_KEY_PATTERN.fullmatch(key) else None


def _tag_text(raw: Any) -> str | None:
    """Relay's lenient string: booleans in Python spelling, numbers as integers, trimmed."""
    if isinstance(raw, bool):
        return "True" if raw else "False"
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        return str(int(raw))
    if isinstance(raw, str):
        return raw.strip() or None
    return None


def _tag_value(tags: Any, key: str) -> Any:
    pairs = (
        sorted(tags.items()) if isinstance(tags, dict) else tags if isinstance(tags, list) else []
    )
    for pair in pairs:
        if isinstance(pair, list | tuple) and len(pair) == 2 and pair[0] == key:
            return pair[1]
    return None


def _reserved_tag(tags: Any, key: str) -> str | None:
    return _tag_text(_tag_value(tags, key))


# --- spans --------------------------------------------------------------------------------------


def _transaction_spans(event: dict, columns: dict, reader: _Reader) -> list[dict]:
    """One row for the transaction itself (the segment) and one per child span."""
    trace = _dict_at(event, "contexts", "trace")
    shared = {
        "segment_id": columns["span_id"],
        "transaction_name": columns["transaction_name"],
        "environment": columns["environment"],
        "release": columns["release"],
    }
    segment = {
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
        "data": _json_or_none(trace.get("data")),
    }
    spans = event.get("spans")
    if spans is None:
        spans = []
    elif not isinstance(spans, list):
        reader.note(f"spans: expected a list, got {_kind(spans)}; child spans not indexed")
        spans = []
    rows = [segment]
    for index, span in enumerate(spans):
        if not isinstance(span, dict):
            reader.note(f"spans[{index}]: expected an object, got {_kind(span)}; skipped")
            continue
        row = _span_columns(span, reader.at(f"spans[{index}]"))
        row["trace_id"] = row["trace_id"] or columns["trace_id"]
        row.update(shared)
        row["is_segment"] = 0
        rows.append(row)
    return rows


def _span_row(span: dict, reader: _Reader) -> dict:
    """Columns of a legacy standalone span, which names its transaction in its data."""
    row = _span_columns(span, reader)
    row["is_segment"] = 1 if span.get("is_segment") is True else 0
    data = span["data"] if isinstance(span.get("data"), dict) else {}
    row["transaction_name"] = _first_string(data, "transaction", "sentry.transaction")
    row["environment"] = _first_string(data, "sentry.environment", "environment")
    row["release"] = _first_string(data, "sentry.release", "release")
    return row


def _span_columns(span: dict, reader: _Reader) -> dict:
    """The columns every span in the transaction-child / legacy standalone shape has."""
    start = reader.timestamp(span.get("start_timestamp"), "start_timestamp")
    end = reader.timestamp(span.get("timestamp"), "timestamp")
    return {
        "trace_id": reader.hex_id(span.get("trace_id"), "trace_id", 32),
        "span_id": reader.hex_id(span.get("span_id"), "span_id", 16),
        "parent_span_id": reader.hex_id(span.get("parent_span_id"), "parent_span_id", 16),
        "segment_id": reader.hex_id(span.get("segment_id"), "segment_id", 16),
        "op": reader.string(span.get("op"), "op"),
        "description": reader.string(span.get("description"), "description"),
        "status": reader.string(span.get("status"), "status"),
        "start_timestamp": start,
        "timestamp": end,
        "duration": _duration_ms(start, end),
        "data": _json_or_none(span.get("data")),
    }


def _extract_span(rows: Rows, payload: Any, headers: dict) -> None:
    reader = _Reader(rows.notes, "span")
    if not isinstance(payload, dict):
        reader.note(f"expected a JSON object, got {_kind(payload)}; not indexed")
        return
    if "items" not in payload:
        rows.spans.append(_span_row(payload, reader))
        return
    for index, span in enumerate(_container_items(payload, headers, reader)):
        if isinstance(span, dict):
            rows.spans.append(_span_v2_row(span, reader.at(f"items[{index}]")))
        else:
            reader.note(f"items[{index}]: expected an object, got {_kind(span)}; skipped")


def _span_v2_row(span: dict, reader: _Reader) -> dict:
    """Columns of a span v2 (`application/vnd.sentry.items.span.v2+json`) entry."""
    attributes = _attribute_values(span.get("attributes"), reader)
    start = reader.timestamp(span.get("start_timestamp"), "start_timestamp")
    end = reader.timestamp(span.get("end_timestamp"), "end_timestamp")
    return {
        "trace_id": reader.hex_id(span.get("trace_id"), "trace_id", 32),
        "span_id": reader.hex_id(span.get("span_id"), "span_id", 16),
        "parent_span_id": reader.hex_id(span.get("parent_span_id"), "parent_span_id", 16),
        "segment_id": _first_string(attributes, "sentry.segment.id"),
        "is_segment": 1 if span.get("is_segment") is True else 0,
        "op": _first_string(attributes, "sentry.op"),
        "description": reader.string(span.get("name"), "name")
        or _first_string(attributes, "sentry.description"),
        "status": reader.string(span.get("status"), "status"),
        "start_timestamp": start,
        "timestamp": end,
        "duration": _duration_ms(start, end),
        "transaction_name": _first_string(attributes, "sentry.segment.name", "sentry.transaction"),
        "environment": _first_string(attributes, "sentry.environment"),
        "release": _first_string(attributes, "sentry.release"),
        "data": _json_or_none(attributes or None),
    }


def _attribute_values(attributes: Any, reader: _Reader) -> dict:
    """`{name: {"type": .., "value": ..}}` flattened to `{name: value}`."""
    if attributes is None:
        return {}
    if not isinstance(attributes, dict):
        reader.note(f"attributes: expected an object, got {_kind(attributes)}; ignored")
        return {}
    return {
        name: attribute.get("value")
        for name, attribute in attributes.items()
        if isinstance(attribute, dict)
    }


# --- containers: logs ---------------------------------------------------------------------------


def _container_items(payload: dict, headers: dict, reader: _Reader) -> list:
    """Entries of an item container, with a note when `item_count` disagrees (Relay drops it)."""
    items = payload.get("items")
    if not isinstance(items, list):
        reader.note(f"items: expected a list, got {_kind(items)}; nothing indexed")
        return []
    declared = headers.get("item_count")
    if declared is None:
        reader.note("item header has no item_count; Relay drops the container")
    elif declared != len(items):
        reader.note(
            f"item_count is {declared!r} but the container holds {len(items)} items; "
            "Relay drops the whole container"
        )
    return items


def _extract_logs(rows: Rows, payload: Any, headers: dict) -> None:
    reader = _Reader(rows.notes, "log")
    if not isinstance(payload, dict):
        reader.note(f"expected a JSON object, got {_kind(payload)}; not indexed")
        return
    for index, log in enumerate(_container_items(payload, headers, reader)):
        if not isinstance(log, dict):
            reader.note(f"items[{index}]: expected an object, got {_kind(log)}; skipped")
            continue
        rows.logs.append(_log_row(log, reader.at(f"items[{index}]")))


def _log_row(log: dict, reader: _Reader) -> dict:
    attributes = _attribute_values(log.get("attributes"), reader)
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
        "environment": _first_string(attributes, "sentry.environment"),
        "release": _first_string(attributes, "sentry.release"),
        "attributes": _json_or_none(log.get("attributes")),
    }


def _extract_otel_log(rows: Rows, payload: Any, headers: dict) -> None:
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


# --- client reports, sessions, check-ins --------------------------------------------------------


def _extract_client_report(rows: Rows, payload: Any, headers: dict) -> None:
    reader = _Reader(rows.notes, "client_report")
    if not isinstance(payload, dict):
        reader.note(f"expected a JSON object, got {_kind(payload)}; not indexed")
        return
    for kind in CLIENT_REPORT_KINDS:
        entries = payload.get(kind)
        if entries is None:
            continue
        if not isinstance(entries, list):
            reader.note(f"{kind}: expected a list, got {_kind(entries)}; ignored")
            continue
        for index, entry in enumerate(entries):
            quantity = entry.get("quantity") if isinstance(entry, dict) else None
            if not is_int(quantity) or quantity < 0:
                reader.note(f"{kind}[{index}]: expected {{reason, category, quantity}}; skipped")
                continue
            rows.outcomes.append(
                {
                    "kind": kind,
                    "reason": reader.string(entry.get("reason"), f"{kind}[{index}].reason"),
                    "category": reader.string(entry.get("category"), f"{kind}[{index}].category"),
                    "quantity": quantity,
                }
            )


def _extract_session(rows: Rows, payload: Any, headers: dict) -> None:
    reader = _Reader(rows.notes, "session")
    if not isinstance(payload, dict):
        reader.note(f"expected a JSON object, got {_kind(payload)}; not indexed")
        return
    attrs = _session_attrs(payload, reader)
    if not isinstance(payload.get("started"), str):
        reader.note("started is missing; Relay drops the session update")
    status = reader.string(payload.get("status"), "status") or "ok"
    if status not in SESSION_STATUSES:
        reader.note(f"status {status!r} is not a known session status; Relay keeps it as unknown")
    init = payload.get("init")
    rows.sessions.append(
        {
            "aggregate": 0,
            "sid": reader.string(payload.get("sid"), "sid"),
            "did": reader.lenient_string(payload.get("did"), "did"),
            "status": status,
            "init": 1 if init is True else 0,
            "errors": _int_or_none(payload.get("errors"), "errors", reader),
            "seq": _int_or_none(payload.get("seq"), "seq", reader),
            "started": reader.string(payload.get("started"), "started"),
            "timestamp": reader.string(payload.get("timestamp"), "timestamp"),
            "duration": _number_or_none(payload.get("duration"), "duration", reader),
            **attrs,
        }
    )


def _extract_sessions(rows: Rows, payload: Any, headers: dict) -> None:
    reader = _Reader(rows.notes, "sessions")
    if not isinstance(payload, dict):
        reader.note(f"expected a JSON object, got {_kind(payload)}; not indexed")
        return
    attrs = _session_attrs(payload, reader)
    buckets = payload.get("aggregates")
    if not isinstance(buckets, list):
        reader.note(f"aggregates: expected a list, got {_kind(buckets)}; nothing indexed")
        return
    for index, bucket in enumerate(buckets):
        where = f"aggregates[{index}]"
        if not isinstance(bucket, dict):
            reader.note(f"{where}: expected an object, got {_kind(bucket)}; skipped")
            continue
        counts = {
            name: _int_or_none(bucket.get(name, 0), f"{where}.{name}", reader)
            for name in SESSION_COUNTS
        }
        rows.sessions.append(
            {
                "aggregate": 1,
                "did": reader.lenient_string(bucket.get("did"), f"{where}.did"),
                "started": reader.string(bucket.get("started"), f"{where}.started"),
                **counts,
                **attrs,
            }
        )


def _session_attrs(payload: dict, reader: _Reader) -> dict:
    attrs = payload.get("attrs")
    if not isinstance(attrs, dict):
        reader.note("attrs is missing; Relay drops sessions without attrs.release")
        return {"release": None, "environment": None}
    release = reader.string(attrs.get("release"), "attrs.release")
    if release is None:
        reader.note("attrs.release is missing; Relay drops the session")
    return {
        "release": release,
        "environment": reader.string(attrs.get("environment"), "attrs.environment"),
    }


def _extract_check_in(rows: Rows, payload: Any, headers: dict) -> None:
    reader = _Reader(rows.notes, "check_in")
    if not isinstance(payload, dict):
        reader.note(f"expected a JSON object, got {_kind(payload)}; not indexed")
        return
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
            "check_in_id": _uuid_hex(check_in_id) or reader.string(check_in_id, "check_in_id"),
            "monitor_slug": slug or None,
            "status": status,
            "duration": _number_or_none(payload.get("duration"), "duration", reader),
            "release": reader.string(payload.get("release"), "release"),
            "environment": reader.string(payload.get("environment"), "environment"),
            "trace_id": reader.hex_id(
                _dict_at(payload, "contexts", "trace").get("trace_id"),
                "contexts.trace.trace_id",
                32,
            ),
        }
    )


# --- reading values the way Relay does ----------------------------------------------------------


class _Reader:
    """Typed reads of payload fields that record a note instead of raising."""

    def __init__(self, notes: list[str], where: str):
        self.notes = notes
        self.where = where

    def at(self, path: str) -> _Reader:
        return _Reader(self.notes, f"{self.where} {path}")

    def note(self, text: str) -> None:
        self.notes.append(f"{self.where}: {text}")

    def string(self, value: Any, name: str) -> str | None:
        if value is None or isinstance(value, str):
            return value
        self.note(f"{name}: expected a string, got {_kind(value)}; Relay drops it")
        return None

    def lenient_string(self, value: Any, name: str) -> str | None:
        """A string, or a number written as text (Relay's `LenientString`)."""
        text = _lenient_text(value)
        return text if text is not None else self.string(value, name)

    def event_id(self, value: Any) -> str | None:
        if value is None:
            return None
        event_id = _uuid_hex(value)
        if event_id is None:
            self.note(f"event_id {value!r} is not a UUID; Relay replaces it")
        return event_id

    def hex_id(self, value: Any, name: str, length: int) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            text = value.replace("-", "").lower() if length == 32 else value.lower()
            if len(text) == length and HEX.fullmatch(text):
                return text
        self.note(f"{name} {value!r} is not {length} hex characters; Relay drops it")
        return None

    def level(self, value: Any, event_type: str) -> str:
        """The level Sentry stores: aliases resolved, and the default where Relay nulls it."""
        default = "info" if event_type == "transaction" else "error"
        if value is None:
            return default
        if isinstance(value, str) and (value in LEVELS or value in LEVEL_ALIASES):
            return LEVEL_ALIASES.get(value, value)
        if is_int(value) and value in PYTHON_LOGGING_LEVELS:
            return PYTHON_LOGGING_LEVELS[value]
        self.note(f"level {value!r} is not a valid level; Relay drops it and stores {default!r}")
        return default

    def platform(self, value: Any) -> str:
        if value is None:
            return "other"
        if value in VALID_PLATFORMS:
            return value
        self.note(f"platform {value!r} is not one Relay knows; it stores 'other'")
        return "other"

    def timestamp(self, value: Any, name: str) -> float | None:
        """Unix seconds (int or float) or an RFC 3339 string (no offset = UTC), to microseconds."""
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value)
        elif isinstance(value, str):
            parsed = _parse_rfc3339(value)
            if parsed is None:
                self.note(f"{name} {value!r} is not an RFC 3339 date-time; Relay drops it")
                return None
            seconds = parsed
        else:
            self.note(f"{name}: expected a number or a string, got {_kind(value)}; Relay drops it")
            return None
        if not math.isfinite(seconds) or not 0 <= seconds <= MAX_TIMESTAMP:
            hint = "looks like milliseconds" if seconds > MAX_TIMESTAMP else "is out of range"
            self.note(f"{name} {value!r} {hint}; Relay would drop it (timestamp out of range)")
            return None
        return round(seconds, 6)


def _lenient_text(value: Any) -> str | None:
    """`_Reader.lenient_string` without the note: what cannot be read is None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _json_text(value)
    return value if isinstance(value, str) else None


HEX = re.compile(r"[0-9a-f]+")
RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))?"
)


def _parse_rfc3339(text: str) -> float | None:
    text = text.strip()
    if text.endswith("Z") and len(text) in (20, 27):  # the SDKs' own forms, parsed in C
        try:
            return datetime.fromisoformat(text).timestamp()
        except ValueError:
            pass
    match = RFC3339.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, _z, sign, off_h, off_m = match.groups()
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC
        )
    except ValueError:
        return None
    seconds = moment.timestamp() + (float(f"0.{fraction}") if fraction else 0.0)
    if sign:
        offset = int(off_h) * 3600 + int(off_m) * 60
        seconds -= offset if sign == "+" else -offset
    return seconds


def _duration_ms(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start) * 1000, 3)


def _uuid_hex(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value).hex
    except ValueError:
        return None


def _dict_at(value: Any, *path: str) -> dict:
    """The object at ``path``, or an empty one when anything on the way is not an object."""
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else {}


def _first_string(values: dict, *keys: str) -> str | None:
    for key in keys:
        if isinstance(values.get(key), str):
            return values[key]
    return None


def _int_or_none(value: Any, name: str, reader: _Reader) -> int | None:
    if value is None or is_int(value):
        return value
    reader.note(f"{name}: expected an integer, got {_kind(value)}; Relay rejects it")
    return None


def _number_or_none(value: Any, name: str, reader: _Reader) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    reader.note(f"{name}: expected a number, got {_kind(value)}; Relay rejects it")
    return None


def _float_or_none(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # integers beyond 64 bits: the standard library writes them
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _json_or_none(value: Any) -> str | None:
    return None if value is None else _json_text(value)


def _kind(value: Any) -> str:
    """How a JSON value's type reads in a note."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


_EXTRACTORS: dict[str, Callable[[Rows, Any, dict], None]] = {
    "event": _extract_event,
    "transaction": _extract_transaction,
    "feedback": _extract_feedback,
    "security": partial(_extract_event, item_type="security"),
    "span": _extract_span,
    "log": _extract_logs,
    "otel_log": _extract_otel_log,
    "client_report": _extract_client_report,
    "session": _extract_session,
    "sessions": _extract_sessions,
    "check_in": _extract_check_in,
}
