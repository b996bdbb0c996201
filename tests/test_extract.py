"""Rows extracted from items: real SDK payloads, spec vectors 22-26, and malformed input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sentry_stub.processing.extract import extract_rows
from sentry_stub.processing.rows import Rows
from sentry_stub.processing.spans import transaction_spans
from sentry_stub.processing.trace_header import dsc_notes
from sentry_stub.protocol.envelope import parse_envelope
from sentry_stub.protocol.payload import Reader

FIXTURES = Path(__file__).parent / "fixtures"


def load_event(name: str) -> dict:
    return json.loads((FIXTURES / "events" / name).read_text())


def load_items(name: str) -> list:
    return parse_envelope((FIXTURES / "envelopes" / name).read_bytes()).items


def transaction_rows(payload: dict) -> tuple[Rows, list[dict]]:
    """A transaction's rows, and the span rows its first read of spans makes (its notes join
    the rows' notes, as they join the envelope's)."""
    rows = extract_rows("transaction", payload, {})
    assert rows.spans == [] and rows.event is not None and rows.event["spans_pending"] == 1
    return rows, transaction_spans(payload, rows.event, Reader(rows.notes, "transaction"))


def event_row(payload: dict, item_type: str = "event") -> dict:
    rows = extract_rows(item_type, payload, {})
    assert rows.event is not None, rows.notes
    return rows.event


# --- real events --------------------------------------------------------------------------------


def test_python_django_error():
    rows = extract_rows("event", load_event("python-django__zero-division.json"), {})
    event = rows.event
    assert event["event_id"] == "dd9e1afb828a44d5b4df0183adaee5d8"
    assert event["type"] == "error"
    assert event["level"] == "error"
    assert event["platform"] == "python"
    assert event["transaction_name"] == "/divide-zero/"
    assert event["transaction_op"] == "django.middleware"
    assert event["trace_id"] == "9aaeffa209dd4e2d85a084826e8ef964"
    assert event["span_id"] == "a8483a699fbe8ac6"
    assert event["parent_span_id"] == "a3a4374fe17c42a0"
    assert (event["exception_type"], event["exception_value"]) == (
        "ZeroDivisionError",
        "division by zero",
    )
    assert event["handled"] == 0  # mechanism django, handled: false
    assert event["http_method"] == "GET"
    assert event["url"] == "http://localhost:8001/divide-zero/"
    assert event["sdk_name"] == "sentry.python"
    assert event["sdk_version"] == "0.14.3"
    assert rows.notes == []


def test_elixir_bare_exception_list_and_naive_timestamp():
    event = event_row(load_event("elixir__error.json"))
    assert event["type"] == "error"
    assert event["exception_type"] == "UndefinedFunctionError"
    assert event["timestamp"] == 1632855466.0  # "2021-09-28T18:57:46", read as UTC
    assert event["platform"] == "elixir"
    assert event["sdk_name"] is None


def test_browser_transaction_with_spans():
    rows, spans = transaction_rows(load_event("javascript-browser__transaction.json"))
    event = rows.event
    assert event["type"] == "transaction"
    assert event["level"] == "info"  # Relay's default for transactions
    assert event["transaction_name"] == "/"
    assert event["transaction_op"] == "pageload"
    assert event["start_timestamp"] == 1609289196.433
    assert event["timestamp"] == 1609289196.616
    assert event["duration"] == pytest.approx(183.0)
    assert rows.tags == [("hardwareConcurrency", "8")]

    segment, *children = spans
    assert len(children) == 10
    assert segment["is_segment"] == 1
    assert segment["span_id"] == segment["segment_id"] == "a133c27dc47e7aa0"
    assert segment["op"] == "pageload"
    assert segment["description"] == "/"
    first = children[0]
    assert first["is_segment"] == 0
    assert first["segment_id"] == "a133c27dc47e7aa0"
    assert first["span_id"] == "a7407cde318bdc8a"
    assert first["op"] == "http"
    assert first["status"] == "ok"
    assert first["description"] == "GET http://localhost:4201/sockjs-node/info?t=1609289196609"
    assert first["duration"] == pytest.approx(6.0)  # .616 - .610 s
    assert first["transaction_name"] == "/"
    assert json.loads(first["data"])["method"] == "GET"


def test_java_transaction_iso_timestamps_and_foreign_span_trace():
    (item,) = load_items("java-testdata__transaction-dsc-sample-rand.envelope")
    rows, spans = transaction_rows(item.json())
    assert rows.event["duration"] == pytest.approx(1000.0)  # 10:24:01.791Z -> 10:24:02.791Z
    assert rows.event["start_timestamp"] == 1603448641.791
    assert rows.event["trace_status"] == "ok"
    span = spans[1]
    assert span["trace_id"] == "2b099185293344a5bfdd7ad89ebf9416"
    assert span["status"] == "aborted"
    assert span["duration"] == pytest.approx(111.0)


def test_check_in_from_go():
    rows = extract_rows(
        "check_in", load_event("go-testdata__check-in-with-monitor-config.json"), {}
    )
    assert rows.check_ins == [
        {
            "check_in_id": "c2f0ce1334c74564bf6631f6161173f5",
            "monitor_slug": "my-monitor",
            "status": "ok",
            "duration": 10.0,
            "release": "1.0.0",
            "environment": "dev",
            "trace_id": None,
        }
    ]


def test_log_container_from_nextjs():
    (item,) = load_items("javascript-nextjs__logs.envelope")
    rows = extract_rows(item.type, item.json(), item.headers)
    assert len(rows.logs) == 7
    first, last = rows.logs[0], rows.logs[-1]
    assert first["level"] == "error"
    assert first["severity_number"] == 17
    assert first["trace_id"] == "7785a46fea044fee82f899fc602ba9e8"
    assert first["environment"] == "development"
    assert first["release"] == "94e0a34017b7b36e1d6d56837a9db9d0af7e45e8"
    assert last["body"] == "Database connection pool exhausted"
    assert json.loads(last["attributes"])["activeConnections"] == {"value": 100, "type": "integer"}
    assert rows.notes == []


def test_log_item_count_mismatch_is_noted():
    (item,) = load_items("javascript-nextjs__logs.envelope")
    rows = extract_rows("log", item.json(), {**item.headers, "item_count": 6})
    assert len(rows.logs) == 7
    assert rows.notes == [
        "log: item_count is 6 but the container holds 7 items; Relay drops the whole container"
    ]


def test_standalone_legacy_span():
    (item,) = load_items("javascript-browser__span-standalone.envelope")
    (span,) = extract_rows(item.type, item.json(), item.headers).spans
    assert span["op"] == "ui.interaction.click"
    assert span["is_segment"] == 1
    assert span["segment_id"] == span["span_id"] == "ae2cb2899baf38a4"
    assert span["duration"] == pytest.approx(5576.0)
    assert (span["environment"], span["release"]) == ("production", "spotlight@2.12.1")
    assert span["transaction_name"] == "/errors"


def test_span_v2_container():
    payload = {
        "items": [
            {
                "trace_id": "5b8efff798038103d269b633813fc60c",
                "span_id": "eee19b7ec3c1b174",
                "name": "SELECT users",
                "status": "ok",
                "is_segment": False,
                "start_timestamp": 1718000000.0,
                "end_timestamp": 1718000000.25,
                "attributes": {
                    "sentry.op": {"type": "string", "value": "db.query"},
                    "sentry.environment": {"type": "string", "value": "prod"},
                    "db.table": {"type": "string", "value": "users"},
                },
            }
        ]
    }
    rows = extract_rows("span", payload, {"type": "span", "item_count": 1})
    (span,) = rows.spans
    assert (span["op"], span["description"], span["environment"]) == (
        "db.query",
        "SELECT users",
        "prod",
    )
    assert span["duration"] == 250.0
    assert json.loads(span["data"])["db.table"] == "users"
    assert rows.notes == []


def test_session_update_from_java():
    (item,) = load_items("java-testdata__session-start.envelope")
    (session,) = extract_rows(item.type, item.json(), item.headers).sessions
    assert session == {
        "aggregate": 0,
        "sid": "c81d4e2e-bcf2-11e6-869b-7df92533d2db",
        "did": "123",
        "status": "ok",
        "init": 1,
        "errors": 2,
        "seq": 123456,
        "started": "2020-02-07T14:16:00Z",
        "timestamp": "2020-02-07T14:16:00Z",
        "duration": 6000.0,
        "release": "io.sentry@1.0+123",
        "environment": "debug",
    }


def test_session_aggregates():
    payload = {
        "aggregates": [
            {"started": "2024-06-10T06:13:00Z", "exited": 3, "errored": 1},
            {"started": "2024-06-10T06:14:00Z", "crashed": 2},
        ],
        "attrs": {"release": "app@1", "environment": "prod"},
    }
    rows = extract_rows("sessions", payload, {})
    assert [(s["started"], s["exited"], s["errored"], s["crashed"]) for s in rows.sessions] == [
        ("2024-06-10T06:13:00Z", 3, 1, 0),
        ("2024-06-10T06:14:00Z", 0, 0, 2),
    ]
    assert {s["aggregate"] for s in rows.sessions} == {1}
    assert {s["release"] for s in rows.sessions} == {"app@1"}


def test_session_without_release_is_noted():
    rows = extract_rows("session", {"started": "2024-06-10T06:13:00Z", "attrs": {}}, {})
    assert rows.notes == ["session: attrs.release is missing; Relay drops the session"]


def test_client_report_outcomes():
    payload = {
        "timestamp": 1718000000.123,
        "discarded_events": [
            {"reason": "sample_rate", "category": "transaction", "quantity": 3},
            {"reason": "sample_rate", "category": "span", "quantity": 12},
        ],
        "rate_limited_events": [{"reason": "x", "category": "error", "quantity": "many"}],
    }
    rows = extract_rows("client_report", payload, {})
    assert rows.outcomes == [
        {
            "kind": "discarded_events",
            "reason": "sample_rate",
            "category": "transaction",
            "quantity": 3,
        },
        {"kind": "discarded_events", "reason": "sample_rate", "category": "span", "quantity": 12},
    ]
    assert rows.notes == [
        "client_report: rate_limited_events[0]: expected {reason, category, quantity}; skipped"
    ]


def test_feedback_event():
    payload = {
        "event_id": "9ec79c33ec9942ab8353589fcb2e04dc",
        "contexts": {"feedback": {"message": "Broken button", "contact_email": "a@b.example"}},
    }
    event = event_row(payload, "feedback")
    assert (event["type"], event["message"]) == ("feedback", "Broken button")


def test_replay_event_is_not_an_event():
    rows = extract_rows("replay_event", {"type": "replay_event", "replay_id": "x"}, {})
    assert rows == Rows()


# --- spec §12 vectors 22-26 --------------------------------------------------------------------


def test_vector_22_tags_as_pairs():
    rows = extract_rows("event", {"tags": [["foo bar", " baz "], ["n", 1], ["b", True]]}, {})
    assert rows.tags == [("foo-bar", "baz"), ("n", "1"), ("b", "True")]


def test_vector_22_tags_as_object_come_out_sorted():
    rows = extract_rows("event", {"tags": {"z": "1", "a": "2", "m": None}}, {})
    assert rows.tags == [("a", "2"), ("m", None), ("z", "1")]


def test_tags_cut_and_cleaned_as_relay_does():
    tags = [
        ["long", "x" * 250],
        ["bad/key", "v"],
        ["k", "line\nbreak"],
        ["release", "1.0"],
        ["f", 1.5],
        ["lonely"],
    ]
    rows = extract_rows("event", {"tags": tags}, {})
    assert rows.tags == [("long", "x" * 200), ("k", None), ("f", "1")]
    assert rows.notes == [
        "event: tags[5]: expected a [key, value] pair; Relay drops it",
        "event: tags[1]: key 'bad/key' is not a valid tag key; Relay drops it",
        "event: tags[2] k: value contains a newline; Relay drops the value",
    ]


def test_environment_tag_fills_missing_environment():
    event = event_row({"tags": {"environment": "staging"}})
    assert event["environment"] == "staging"


def test_vector_23_dashed_event_id():
    event = event_row({"event_id": "9EC79C33-EC99-42AB-8353-589FCB2E04DC"})
    assert event["event_id"] == "9ec79c33ec9942ab8353589fcb2e04dc"


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        (1718000000, 1718000000.0),
        (1718000000.5, 1718000000.5),
        ("2024-06-10T06:13:20Z", 1718000000.0),
        ("2024-06-10T06:13:20", 1718000000.0),  # naive = UTC
        ("2024-06-10T08:13:20+02:00", 1718000000.0),
        ("2024-06-10T06:13:20.1234567Z", 1718000000.123457),
    ],
)
def test_vector_24_timestamp_forms(timestamp, expected):
    rows = extract_rows("event", {"timestamp": timestamp}, {})
    assert rows.event["timestamp"] == expected
    assert rows.notes == []


def test_vector_24_milliseconds_are_out_of_range():
    rows = extract_rows("event", {"timestamp": 1718000000000}, {})
    assert rows.event["timestamp"] is None
    assert rows.notes == [
        "event: timestamp 1718000000000 looks like milliseconds; "
        "Relay would drop it (timestamp out of range)"
    ]


@pytest.mark.parametrize("timestamp", ["1718000000", "2024-06-10 06:13:20", "2024-06-10", True])
def test_timestamps_relay_refuses(timestamp):
    rows = extract_rows("event", {"timestamp": timestamp}, {})
    assert rows.event["timestamp"] is None
    assert len(rows.notes) == 1


@pytest.mark.parametrize(
    "exception",
    [
        {"values": [{"type": "KeyError", "value": "'a'"}]},
        [{"type": "KeyError", "value": "'a'"}],
        {"type": "KeyError", "value": "'a'"},
    ],
)
def test_vector_25_exception_container_forms(exception):
    event = event_row({"exception": exception})
    assert (event["type"], event["exception_type"], event["exception_value"]) == (
        "error",
        "KeyError",
        "'a'",
    )


def test_main_exception_is_the_last_value():
    values = [
        {"type": "KeyError", "value": "cause", "mechanism": {"handled": True}},
        {"type": "ValueError", "value": "outer", "mechanism": {"handled": False}},
    ]
    event = event_row({"exception": {"values": values}})
    assert (event["exception_type"], event["exception_value"]) == ("ValueError", "outer")
    assert event["handled"] == 0  # one unhandled mechanism makes the event unhandled


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"message": "plain"}, "plain"),
        ({"message": {"message": "a %s b %d %%", "params": ["x", 5]}}, "a x b 5 %"),
        ({"message": {"formatted": "f", "message": "m %s", "params": ["p"]}}, "f"),
        ({"logentry": {"message": "hi %(who)s", "params": {"who": "me"}}}, "hi me"),
        ({"logentry": {"message": "short %s %s", "params": ["x"]}}, "short %s %s"),
        ({"logentry": {"formatted": "wins"}, "message": "loses"}, "wins"),
        ({"message": False}, None),
    ],
)
def test_vector_25_message_forms(payload, message):
    event = event_row(payload)
    assert event["message"] == message
    assert event["type"] == "default"


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("warning", "warning"),
        (30, "warning"),
        ("log", "info"),
        ("critical", "fatal"),
        (None, "error"),
    ],
)
def test_vector_26_valid_levels(level, expected):
    rows = extract_rows("event", {"level": level}, {})
    assert rows.event["level"] == expected
    assert rows.notes == []


@pytest.mark.parametrize("level", ["warn", "WARNING", 25, 30.0])
def test_vector_26_invalid_levels_fall_back_with_a_note(level):
    rows = extract_rows("event", {"level": level}, {})
    assert rows.event["level"] == "error"
    assert rows.notes == [
        f"event: level {level!r} is not a valid level; Relay drops it and stores 'error'"
    ]


# --- other columns ------------------------------------------------------------------------------


def test_user_http_and_context_columns():
    payload = {
        "user": {"id": 42, "email": "a@b.example", "ip_address": "10.0.0.1", "username": "ann"},
        "tags": {"http.status_code": "503"},
        "request": {"method": "POST", "url": "https://api.example/x"},
        "contexts": {"browser": {"name": "Chrome"}, "os": {"name": "Linux"}},
        "release": 7,
        "platform": "brainfuck",
    }
    event = event_row(payload)
    assert (event["user_id"], event["user_email"], event["user_ip"], event["user_username"]) == (
        "42",
        "a@b.example",
        "10.0.0.1",
        "ann",
    )
    assert (event["http_status_code"], event["http_method"], event["url"]) == (
        "503",
        "POST",
        "https://api.example/x",
    )
    assert (event["browser_name"], event["os_name"]) == ("Chrome", "Linux")
    assert event["release"] == "7"
    assert event["platform"] == "other"


def test_response_context_status_code():
    event = event_row({"contexts": {"response": {"status_code": 404}}})
    assert event["http_status_code"] == "404"


# --- malformed input never raises ---------------------------------------------------------------

MALFORMED = {"items": "x", "spans": 3, "tags": 1, "discarded_events": {}}


@pytest.mark.parametrize(
    "item_type",
    [
        "event",
        "transaction",
        "feedback",
        "security",
        "span",
        "log",
        "client_report",
        "session",
        "sessions",
        "check_in",
    ],
)
@pytest.mark.parametrize("payload", [[], "text", 5, MALFORMED])
def test_malformed_payloads_give_notes_not_errors(item_type, payload):
    rows = extract_rows(item_type, payload, {"item_count": "x"})
    assert rows.notes
    assert all(note.strip() for note in rows.notes)


def test_wrong_field_types_are_noted_with_their_path():
    payload = {
        "environment": 7,
        "contexts": {"trace": {"trace_id": "nothex", "op": ["x"]}},
        "user": "not an object",
        "spans": [{"span_id": "abc", "start_timestamp": "soon"}, "junk"],
        "start_timestamp": 1718000000,
        "timestamp": 1718000001,
    }
    rows, _ = transaction_rows(payload)
    assert rows.event["environment"] is None
    assert rows.event["duration"] == 1000.0
    assert "transaction: environment: expected a string, got a number; Relay drops it" in rows.notes
    assert (
        "transaction: contexts.trace.trace_id 'nothex' is not 32 hex characters; Relay drops it"
        in rows.notes
    )
    assert (
        "transaction spans[0]: span_id 'abc' is not 16 hex characters; Relay drops it" in rows.notes
    )
    assert "transaction: spans[1]: expected an object, got a string; skipped" in rows.notes


def test_non_json_payload_is_noted():
    rows = extract_rows("event", None, {})
    assert rows.event is None
    assert rows.notes == ["event: payload is not JSON; nothing indexed"]


# --- dynamic sampling context -------------------------------------------------------------------


def test_dsc_from_java_fixture_is_clean():
    envelope = parse_envelope(
        (
            FIXTURES / "envelopes" / "java-testdata__transaction-dsc-sample-rand.envelope"
        ).read_bytes()
    )
    assert dsc_notes(envelope.headers["trace"]) == []


@pytest.mark.parametrize(
    ("trace", "fragment"),
    [
        (
            {"trace_id": "b156a475de54423d9c1571df97ec7eb6", "public_key": "k", "sample_rate": 0.5},
            "sample_rate is the JSON number 0.5",
        ),
        (
            {
                "trace_id": "b156a475de54423d9c1571df97ec7eb6",
                "public_key": "k",
                "sample_rate": "-1",
            },
            "sample_rate '-1' is negative",
        ),
        ({"public_key": "k"}, "trace_id is missing"),
        ({"trace_id": "b156a475de54423d9c1571df97ec7eb6"}, "public_key is missing"),
        ("nope", "expected an object"),
    ],
)
def test_dsc_notes(trace, fragment):
    (note,) = dsc_notes(trace)
    assert fragment in note
    assert note.startswith("trace header: ")


def test_log_severity_number_from_the_attribute_when_not_top_level():
    log = {
        "timestamp": 1700000000.0,
        "trace_id": "a" * 32,
        "level": "warn",
        "body": "payment failed",
        "attributes": {"sentry.severity_number": {"type": "integer", "value": 13}},
    }
    rows = extract_rows("log", {"items": [log]}, {"type": "log", "item_count": 1})
    assert rows.logs[0]["severity_number"] == 13
    top_level = {**log, "severity_number": 17}
    rows = extract_rows("log", {"items": [top_level]}, {"type": "log", "item_count": 1})
    assert rows.logs[0]["severity_number"] == 17


def test_otel_log_item_gives_no_log_rows_and_a_note_on_what_relay_does():
    record = {"severityText": "info", "severityNumber": 9, "body": {"stringValue": "hi"}}
    rows = extract_rows("otel_log", record, {"type": "otel_log"})
    assert rows.logs == []
    (note,) = rows.notes
    assert note.startswith("otel_log: an OpenTelemetry log record, which current Relay")
