"""Rows of the event-like items: event, transaction, feedback and security events, with tags.

Values are read the way Relay reads them (ingest-protocol.md §6, §8): the same level aliases and
tag rules, so a query for ``level:warning`` or ``foo-bar:baz`` finds what Sentry would find.
"""

from __future__ import annotations

import re
from typing import Any

from ..protocol.payload import (
    Reader,
    dict_at,
    duration_ms,
    exception_values,
    json_kind,
    json_text,
    lenient_text,
)
from .rows import Rows

TAG_MAX_CHARS = 200
# Tags Relay removes because they would be ambiguous next to the event fields of the same name.
RESERVED_TAG_KEYS = frozenset({"release", "dist", "user", "filename", "function", "environment"})
TAG_KEY_PATTERN = re.compile(r"[a-zA-Z0-9_.:-]+")
# How Relay formats ``logentry.message`` with ``params`` (relay-event-normalization logentry.rs):
# a template with a ``%`` takes printf-style placeholders (``%s``, ``%5.2f``, ``%(name)s``,
# ``%%``) only; otherwise one with a ``{`` takes ``{}`` (the next param) and ``{0}`` only.
PRINTF_PLACEHOLDER = re.compile(
    r"%%|%(?:\((?P<name>\w+)\))?[-#0 +]*\d*(?:\.\d+)?[hlL]?[diouxXeEfFgGcrsa]"
)
CURLY_PLACEHOLDER = re.compile(r"\{(?P<index>\d*)\}")


def extract_event(rows: Rows, payload: dict, headers: dict, *, item_type: str = "event") -> None:
    reader = Reader(rows.notes, item_type)
    event_type = {"transaction": "transaction", "feedback": "feedback"}.get(item_type)
    rows.event = _event_columns(payload, reader, event_type or _infer_event_type(payload))
    rows.tags = _tags(payload.get("tags"), reader)
    if rows.event["environment"] is None:
        # Relay moves an `environment` tag into the field when the field is missing.
        rows.event["environment"] = _reserved_tag(payload.get("tags"), "environment")
    if item_type == "transaction":
        # Its spans become rows on the first read of spans (span_expansion.py), not here.
        rows.event["spans_pending"] = 1


def extract_feedback(rows: Rows, payload: dict, headers: dict) -> None:
    extract_event(rows, payload, headers, item_type="feedback")
    if rows.event is not None and rows.event["message"] is None:
        feedback = dict_at(payload, "contexts", "feedback")
        rows.event["message"] = Reader(rows.notes, "feedback").string(
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


def _event_columns(event: dict, reader: Reader, event_type: str) -> dict:
    trace = dict_at(event, "contexts", "trace")
    user = dict_at(event, "user")
    sdk = dict_at(event, "sdk")
    request = dict_at(event, "request")
    exception = _main_exception(event, reader)
    timestamp = reader.timestamp(event.get("timestamp"), "timestamp")
    start_timestamp = reader.timestamp(event.get("start_timestamp"), "start_timestamp")
    duration = None
    if event_type == "transaction":
        if timestamp is None:
            reader.note("timestamp is missing or invalid; Relay drops the transaction")
        if timestamp is not None and start_timestamp is not None:
            duration = duration_ms(start_timestamp, timestamp)
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
            dict_at(event, "transaction_info").get("source"), "transaction_info.source"
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
            dict_at(event, "contexts", "browser").get("name"), "contexts.browser.name"
        ),
        "os_name": reader.string(dict_at(event, "contexts", "os").get("name"), "contexts.os.name"),
    }


def _exception_arrays(event: dict) -> dict[str, str | None]:
    """Sentry's `error.type` and `error.value` arrays: every exception's, oldest first."""
    values = exception_values(event.get("exception"))
    types = [value["type"] for value in values if isinstance(value.get("type"), str)]
    texts = [lenient_text(value.get("value")) for value in values]
    texts = [text for text in texts if text is not None]
    return {
        "exception_types": json_text(types) if types else None,
        "exception_values": json_text(texts) if texts else None,
    }


def _main_exception(event: dict, reader: Reader) -> dict:
    """The exception Sentry titles the issue with: the last entry (the outermost, newest)."""
    container = event.get("exception")
    if container is not None and not isinstance(container, dict | list):
        reader.note(f"exception: expected an object or a list, got {json_kind(container)}")
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


def _message(event: dict, reader: Reader) -> str | None:
    """`logentry` (or its legacy alias `message`) as Relay formats it."""
    for key in ("logentry", "message"):
        value = event.get(key)
        if value is None or value is False:
            continue
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return json_text(value)
        if isinstance(value, dict):
            return _formatted_logentry(value, reader, key)
        reader.note(f"{key}: expected a string or an object, got {json_kind(value)}")
    return None


def _formatted_logentry(entry: dict, reader: Reader, where: str) -> str | None:
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
    return value if isinstance(value, str) else json_text(value)


def _http_status_code(event: dict, reader: Reader) -> str | None:
    status = _tag_value(event.get("tags"), "http.status_code")
    if status is None:
        status = dict_at(event, "contexts", "response").get("status_code")
    return reader.lenient_string(status, "http status code")


def _tags(tags: Any, reader: Reader) -> list[tuple[str, str | None]]:
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


def _tag_pairs(tags: Any, reader: Reader) -> list[tuple[Any, Any]]:
    if tags is None:
        return []
    if isinstance(tags, dict):
        return sorted(tags.items())
    if not isinstance(tags, list):
        reader.note(f"tags: expected an object or a list of pairs, got {json_kind(tags)}; ignored")
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
