"""Envelope framing: the byte-exact vectors of the ingest spec (section 12) and real SDK captures.

Every expectation here is Relay's: what it splits, what it refuses and with which reason.
The fixture expectations come from tests/fixtures/envelopes (see the shared fixtures README).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from sentry_stub.protocol.envelope import (
    EnvelopeError,
    Item,
    ParsedEnvelope,
    normalize_event_id,
    parse_envelope,
    serialize_envelope,
)
from sentry_stub.protocol.item_types import INTERNAL_TYPES

ENVELOPES = Path(__file__).parent / "fixtures" / "envelopes"
EVENT_ID = "9ec79c33ec9942ab8353589fcb2e04dc"


def parts(body: bytes) -> list[tuple[str, bytes]]:
    return [(item.type, item.payload) for item in parse_envelope(body).items]


def refusal(body: bytes) -> EnvelopeError:
    with pytest.raises(EnvelopeError) as caught:
        parse_envelope(body)
    return caught.value


# --- spec section 12, framing vectors 1-15 ------------------------------------------------


def test_1_no_trailing_newline_after_last_payload() -> None:
    assert parts(b'{}\n{"type":"event"}\n{"message":"hi"}') == [("event", b'{"message":"hi"}')]
    assert parts(b'{}\n{"type":"event","length":2}\n{}') == [("event", b"{}")]


def test_2_one_newline_after_last_payload_is_fine_a_second_is_not() -> None:
    assert parts(b'{}\n{"type":"event","length":2}\n{}\n') == [("event", b"{}")]
    error = refusal(b'{}\n{"type":"event","length":2}\n{}\n\n')
    assert error.reason == "unexpected end of file"
    assert error.item_index == 1


def test_3_header_only_envelopes() -> None:
    envelope = parse_envelope(b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}')
    assert (envelope.event_id, envelope.items) == (EVENT_ID, [])
    empty = parse_envelope(b"{}")
    assert (empty.headers, empty.items, empty.event_id) == ({}, [], None)


def test_4_length_prefixed_binary_payload_is_kept_byte_exact() -> None:
    payload = b"\xef\xbb\xbfHello\r\n"
    body = b'{}\n{"type":"attachment","length":10}\n' + payload + b"\n"
    [item] = parse_envelope(body).items
    assert item.payload == payload
    assert item.offset == body.index(payload)


def test_5_implicit_length_keeps_the_carriage_return() -> None:
    assert parts(b'{}\n{"type":"attachment"}\nline\r\n') == [("attachment", b"line\r")]


def test_6_two_zero_length_items_each_followed_by_an_empty_line() -> None:
    body = b'{}\n{"type":"attachment","length":0}\n\n{"type":"attachment","length":0}\n\n'
    assert parts(body) == [("attachment", b""), ("attachment", b"")]


def test_7_item_header_at_eof_without_newline_has_an_empty_payload() -> None:
    assert parts(b'{}\n{"type":"attachment"}') == [("attachment", b"")]


def test_8_length_past_the_end_or_one_short() -> None:
    body = b'{}\n{"type":"attachment","length":11}\nHelloHello'
    too_long = refusal(body)
    assert too_long.reason.startswith("unexpected end of file")
    assert "length 11 but only 10 bytes remain" in too_long.reason
    assert (too_long.item_index, too_long.offset) == (0, body.index(b"Hello"))
    body = b'{}\n{"type":"attachment","length":9}\nHelloHello\n'
    one_short = refusal(body)
    assert one_short.reason == "missing newline after header or payload"
    assert (one_short.item_index, one_short.offset) == (0, body.index(b"Hello") + 9)


def test_9_crlf_after_the_envelope_header() -> None:
    error = refusal(b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\r\n{"type":"event"}\n{}')
    assert error.reason == "missing newline after header or payload"
    assert (error.item_index, error.offset) == (None, 47)
    item_crlf = refusal(b'{}\n{"type":"event"}\r\n{}')
    assert (item_crlf.reason, item_crlf.item_index) == (
        "missing newline after header or payload",
        0,
    )


def test_10_blank_lines_between_items_are_skipped() -> None:
    body = b'{}\n{"type":"event","length":2}\n{}\n\n\n{"type":"attachment","length":1}\nx'
    assert parts(body) == [("event", b"{}"), ("attachment", b"x")]


def test_11_unknown_item_types_are_kept_as_unknown() -> None:
    envelope = parse_envelope(b'{}\n{"type":"foo_bar","length":3}\nabc\n{"length":1}\nz')
    assert [(i.type, i.is_known, i.payload) for i in envelope.items] == [
        ("foo_bar", False, b"abc"),
        ("", False, b"z"),  # newest Relay: an item header without type is an unknown item
    ]


def test_12_integration_items_split_and_are_marked_internal() -> None:
    # Framing accepts them; the endpoint refuses them (tests/test_ingest_http.py).
    [item] = parse_envelope(b'{}\n{"type":"integration","length":2}\n{}').items
    assert item.type in INTERNAL_TYPES


def test_13_a_duplicate_envelope_header_field_is_refused() -> None:
    error = refusal(b'{"sent_at":"2024-06-10T06:13:20Z","sent_at":"2024-06-10T06:13:21Z"}\n')
    assert error.reason == "invalid envelope header: duplicate field `sent_at`"
    assert error.item_index is None
    # However the repeat is spelled: with spaces, or with an escape JSON decodes to the same key.
    for repeat in (b'"sent_at" : 1', b'"sent\\u005fat":1'):
        error = refusal(b'{"sent_at":"2024-06-10T06:13:20Z",' + repeat + b"}\n")
        assert error.reason == "invalid envelope header: duplicate field `sent_at`", repeat
    # Duplicates inside nested values (here the DSC) do not break the envelope.
    nested = parse_envelope(b'{"trace":{"trace_id":"a","trace_id":"b"}}')
    assert nested.headers == {"trace": {"trace_id": "b"}}


def test_14_numeric_sample_rate_in_the_trace_header_is_kept_not_refused() -> None:
    envelope = parse_envelope(b'{"trace":{"trace_id":"abc","sample_rate":0.5}}\n')
    assert envelope.headers["trace"]["sample_rate"] == 0.5


def test_15_dsn_in_the_header_is_kept_for_the_endpoint_to_compare() -> None:
    envelope = parse_envelope(b'{"dsn":"https://' + b"a" * 32 + b'@o1.example.com/42"}\n')
    assert envelope.headers["dsn"].endswith("/42")


# --- more of Relay's framing rules ---------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "missing envelope header"),
        (b" \n\t", "missing envelope header"),
        (b"[]", "invalid envelope header: expected a JSON object"),
        (b"{} \n", "missing newline after header or payload"),
        (b'{"a":"unterminated\n"}', "invalid envelope header: unterminated JSON object or string"),
        (b'{"x":NaN}', "invalid envelope header: NaN is not valid JSON"),
        (b'{"event_id":"txn_123"}', "invalid envelope header: event_id 'txn_123' is not a UUID"),
        (b'{"event_id":42}', "invalid envelope header: event_id 42 is not a UUID"),
        (
            b'{"sent_at":"2024-06-10T06:13:20"}',
            "invalid envelope header: sent_at '2024-06-10T06:13:20' is not an RFC 3339 date-time "
            "with offset",
        ),
        (
            b'{"version":"7"}',
            "invalid envelope header: version '7' is not an integer from 0 to 65535",
        ),
        (b'{"dsn":1}', "invalid envelope header: dsn 1 is not a string"),
    ],
)
def test_envelope_header_refusals_name_the_problem(body: bytes, reason: str) -> None:
    error = refusal(body)
    assert error.reason == reason
    assert error.item_index is None


def test_item_header_refusals_name_the_item() -> None:
    error = refusal(b'{}\n{"type":"event","length":2}\n{}\n5\n')
    assert (error.reason, error.item_index, error.offset) == (
        "invalid item header: expected a JSON object",
        1,
        34,
    )
    assert error.describe() == "invalid item header: expected a JSON object (item 1, byte 34)"


def test_headers_may_span_lines_as_relays_json_stream_allows() -> None:
    body = b'{\n  "event_id": "9ec79c33ec9942ab8353589fcb2e04dc"\n}\n{"type":\n "event"}\n{}'
    envelope = parse_envelope(body)
    assert (envelope.event_id, parts(body)) == (EVENT_ID, [("event", b"{}")])


@pytest.mark.parametrize(
    ("length", "found"),
    [
        ("-1", "invalid value: integer `-1`"),
        ("4294967296", "invalid value: integer `4294967296`"),
        ('"2"', 'invalid type: string "2"'),
        ("2.0", "invalid type: floating point `2.0`"),
        ("true", "invalid type: boolean `true`"),
    ],
)
def test_a_length_that_is_not_a_u32_fails_the_item_header_as_in_relay(
    length: str, found: str
) -> None:
    # Relay's ItemHeaders declares `length: Option<u32>`: serde refuses these values, and
    # Item::parse answers EnvelopeError::InvalidItemHeader for the whole envelope.
    body = b'{}\n{"type":"attachment","length":' + length.encode() + b"}\nabc\n"
    with pytest.raises(EnvelopeError) as raised:
        parse_envelope(body)
    assert raised.value.describe() == (
        f"invalid item header: {found}, expected u32 (length) (item 0, byte {len(body) - 4})"
    )


def test_a_null_length_counts_as_absent() -> None:
    assert parts(b'{}\n{"type":"attachment","length":null}\nabc\n') == [("attachment", b"abc")]


def test_a_length_past_the_end_is_an_unexpected_end_of_file() -> None:
    with pytest.raises(EnvelopeError) as raised:
        parse_envelope(b'{}\n{"type":"attachment","length":99}\nabc\n')
    assert raised.value.reason.startswith("unexpected end of file")


def test_unknown_header_keys_are_kept() -> None:
    envelope = parse_envelope(b'{"x_custom":[1]}\n{"type":"event","x_item":{"a":1}}\n{}')
    assert envelope.headers == {"x_custom": [1]}
    assert envelope.items[0].headers == {"type": "event", "x_item": {"a": 1}}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (EVENT_ID, EVENT_ID),
        ("9EC79C33-EC99-42AB-8353-589FCB2E04DC", EVENT_ID),
        ("{9ec79c33-ec99-42ab-8353-589fcb2e04dc}", EVENT_ID),
        ("urn:uuid:9ec79c33-ec99-42ab-8353-589fcb2e04dc", EVENT_ID),
        ("9ec79c33ec99-42ab-8353-589fcb2e04dc", None),  # Python's uuid would take this
        ("{9ec79c33ec9942ab8353589fcb2e04dc}", None),
        ("test-event-id-1234-5678-abcd-ef0123456789", None),
        (None, None),
    ],
)
def test_event_ids_take_the_forms_relay_takes(value: object, expected: str | None) -> None:
    assert normalize_event_id(value) == expected


def test_serialize_writes_sentry_pythons_length_prefixed_form() -> None:
    envelope = ParsedEnvelope(
        {"event_id": EVENT_ID},
        [
            Item({"type": "attachment", "filename": "a.txt"}, b"\xef\xbb\xbfHello\r\n"),
            Item({"type": "event", "length": 99}, b"{}"),
        ],
    )
    assert serialize_envelope(envelope) == (
        b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n'
        b'{"type":"attachment","filename":"a.txt","length":10}\n\xef\xbb\xbfHello\r\n\n'
        b'{"type":"event","length":2}\n{}\n'
    )


# --- real SDK envelopes ----------------------------------------------------------------------

# What the fixtures README says each file holds: item types in order.
SPLITS = {
    "dart-flutter__user-report.envelope": ["user_report"],
    "dart__attachment-png-no-event.envelope": ["attachment"],
    "dart__event-no-trailing-newline.envelope": ["event"],
    "handmade-spotlight__attachment-bom-then-event.envelope": ["attachment", "event"],
    "handmade-spotlight__header-only-no-items.envelope": [],
    "handmade-spotlight__no-length-at-eof.envelope": ["attachment"],
    "handmade-spotlight__no-length-newline-terminated.envelope": ["attachment"],
    "handmade-spotlight__session-no-length-empty-header.envelope": ["session"],
    "handmade-spotlight__zero-length-attachments.envelope": ["attachment", "attachment"],
    "java-android-testdata__attachment-before-event.envelope": ["attachment", "event"],
    "java-android-testdata__two-event-items.envelope": ["event", "event"],
    "java-android__event-session-attachment.envelope": ["event", "session", "attachment"],
    "java-spring-boot__event-formatted-message.envelope": ["event"],
    "java-spring-boot__transaction.envelope": ["transaction"],
    "java-testdata__attachment-only-empty-header.envelope": ["attachment"],
    "java-testdata__event-broken-json-two-attachments.envelope": [
        "event",
        "attachment",
        "attachment",
    ],
    "java-testdata__session-start.envelope": ["session"],
    "java-testdata__transaction-dsc-sample-rand.envelope": ["transaction"],
    "javascript-angular__event.envelope": ["event"],
    "javascript-astro__transaction-pageload-browser.envelope": ["transaction"],
    "javascript-astro__transaction-ssr-node.envelope": ["transaction"],
    "javascript-browser__span-standalone.envelope": ["span"],
    "javascript-nextjs__event-message.envelope": ["event"],
    "javascript-nextjs__logs.envelope": ["log"],
    "javascript-nextjs__transaction-ai-spans.envelope": ["transaction"],
    "javascript-node__event-attachment-jpeg.envelope": ["event", "attachment"],
    "javascript-node__event-attachment-text.envelope": ["event", "attachment"],
    "javascript-node__event-attachment-webm-large.envelope": ["event", "attachment"],
    "javascript-node__log-ansi.envelope": ["log"],
    "javascript-react__trace-metric.envelope": ["trace_metric"],
    "javascript-react__transaction-profile.envelope": ["transaction", "profile"],
    "php-laravel__statsd.envelope": ["statsd"],
    "php-laravel__transaction.envelope": ["transaction"],
    "php-wordpress__event.envelope": ["event"],
    "php__event.envelope": ["event"],
    "sentry-cli-testdata__event-transaction-session-attachment.envelope": [
        "event",
        "transaction",
        "session",
        "attachment",
    ],
}

# Files Relay refuses: (reason starts with, item index). The README's four that fail to split,
# plus the two whose header event_id is not a UUID (Relay's header struct refuses those).
REFUSALS = {
    "cocoa-handmade__profile-chunk-wrong-length.envelope": ("unexpected end of file", 0),
    "dart-flutter__event-screenshot-MANGLED.envelope": ("unexpected end of file", 1),
    "java-android-flutter__replay-video-MANGLED.envelope": ("unexpected end of file", 0),
    "java-android-testdata__session-length-too-short.envelope": (
        "missing newline after header or payload",
        0,
    ),
    "cocoa-handmade__transaction-non-uuid-event-id.envelope": (
        "invalid envelope header: event_id 'txn_continuous_profile_123abc' is not a UUID",
        None,
    ),
    "native-testdata__event-minidump-attachment.envelope": (
        "invalid envelope header: event_id 'test-event-id-1234-5678-abcd-ef0123456789' is not "
        "a UUID",
        None,
    ),
}


def read(name: str) -> bytes:
    return (ENVELOPES / name).read_bytes()


def test_every_fixture_is_covered() -> None:
    assert not set(SPLITS) & set(REFUSALS)
    assert {path.name for path in ENVELOPES.iterdir()} == set(SPLITS) | set(REFUSALS)


@pytest.mark.parametrize("name", sorted(SPLITS))
def test_fixture_splits_into_the_items_the_readme_lists(name: str) -> None:
    body = read(name)
    envelope = parse_envelope(body)
    assert [item.type for item in envelope.items] == SPLITS[name]
    for item in envelope.items:
        declared = item.headers.get("length")
        if isinstance(declared, int):
            assert len(item.payload) == declared
        assert body[item.offset : item.offset + len(item.payload)] == item.payload


@pytest.mark.parametrize("name", sorted(SPLITS))
def test_fixture_survives_a_serialize_round_trip(name: str) -> None:
    envelope = parse_envelope(read(name))
    again = parse_envelope(serialize_envelope(envelope))
    assert again.headers == envelope.headers
    assert [(i.type, i.payload) for i in again.items] == [
        (i.type, i.payload) for i in envelope.items
    ]


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_fixture_that_relay_refuses_raises_with_reason_and_item(name: str) -> None:
    reason, item_index = REFUSALS[name]
    error = refusal(read(name))
    assert error.reason.startswith(reason)
    assert error.item_index == item_index
    if item_index is not None:
        assert f"item {item_index}" in error.describe()


def test_readme_item_totals() -> None:
    # README: the 38 cleanly split files hold event 17, attachment 16, transaction 9, session 4,
    # log 2 and one each of span, profile, trace_metric, statsd, user_report. Two of them have a
    # non-UUID event_id (a transaction; an event with an attachment), which Relay refuses.
    totals = Counter(t for name in SPLITS for t in parse_envelope_types(name))
    assert totals == Counter(
        event=16,
        attachment=15,
        transaction=8,
        session=4,
        log=2,
        span=1,
        profile=1,
        trace_metric=1,
        statsd=1,
        user_report=1,
    )


def parse_envelope_types(name: str) -> list[str]:
    return [item.type for item in parse_envelope(read(name)).items]


@pytest.mark.parametrize(
    ("name", "index", "size", "start"),
    [
        ("handmade-spotlight__attachment-bom-then-event.envelope", 0, 10, b"\xef\xbb\xbfHello\r\n"),
        ("handmade-spotlight__zero-length-attachments.envelope", 1, 0, b""),
        ("dart__attachment-png-no-event.envelope", 0, 3535, b"\x89PNG"),
        ("javascript-node__event-attachment-text.envelope", 1, 13, b""),
        ("javascript-node__event-attachment-webm-large.envelope", 1, 554058, b"\x1aE\xdf\xa3"),
        ("java-testdata__event-broken-json-two-attachments.envelope", 2, 29, b""),
    ],
)
def test_fixture_payload_sizes_the_readme_states(
    name: str, index: int, size: int, start: bytes
) -> None:
    payload = parse_envelope(read(name)).items[index].payload
    assert len(payload) == size
    assert payload.startswith(start)


def test_fixture_header_oddities() -> None:
    cli = parse_envelope(read("sentry-cli-testdata__event-transaction-session-attachment.envelope"))
    assert cli.headers["event_id"].count("-") == 4 and len(cli.event_id or "") == 32
    dart = parse_envelope(read("dart__event-no-trailing-newline.envelope"))
    assert dart.event_id == "0" * 32
    php = parse_envelope(read("php__event.envelope"))
    assert php.items[0].headers["content_type"] == "application/json"  # "application\/json"
    broken = parse_envelope(read("java-testdata__event-broken-json-two-attachments.envelope"))
    with pytest.raises(ValueError):
        broken.items[0].json()  # framing is fine; the payload is not JSON
    assert broken.items[2].payload.endswith(b"\n\n")
