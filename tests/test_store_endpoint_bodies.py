"""Bodies of the legacy /store/ endpoint (vector 29) turned into envelopes."""

from __future__ import annotations

import base64
import json
import uuid
import zlib
from pathlib import Path

import pytest

from sentry_stub.ingest.store import (
    envelope_from_store,
    envelope_from_store_get,
    replace_nonfinite_numbers,
)
from sentry_stub.protocol.errors import IngestError
from sentry_stub.settings.values import Limits

EVENTS = Path(__file__).parent / "fixtures" / "events"
EVENT_ID = "9ec79c33ec9942ab8353589fcb2e04dc"
EVENT = json.dumps({"event_id": EVENT_ID, "message": "hello"}).encode()


def store(body: bytes, content_type: str | None = "application/json", client: str | None = None):
    return envelope_from_store(body, content_type=content_type, client=client)


def test_plain_json_event():
    envelope = store(EVENT)
    assert envelope.headers == {"event_id": EVENT_ID}
    (item,) = envelope.items
    assert (item.type, item.payload) == ("event", EVENT)


def test_real_sdk_event_without_id_gets_a_random_one():
    body = (EVENTS / "python-django__zero-division.json").read_bytes()
    event_id = json.loads(body).get("event_id")
    envelope = store(body)
    assert envelope.event_id == (event_id or envelope.event_id)
    assert uuid.UUID(envelope.event_id)
    assert envelope.items[0].payload == body


def test_vector_29_base64_of_zlib():
    envelope = store(base64.b64encode(zlib.compress(EVENT)))
    assert envelope.event_id == EVENT_ID
    assert envelope.items[0].payload == EVENT


def test_plain_base64():
    assert store(base64.b64encode(EVENT)).items[0].payload == EVENT


def test_vector_29_envelope_content_type_is_parsed_as_envelope():
    body = b'{"event_id":"%s"}\n{"type":"event","length":2}\n{}\n' % EVENT_ID.encode()
    envelope = store(body, content_type="application/x-sentry-envelope")
    assert envelope.event_id == EVENT_ID
    assert [(item.type, item.payload) for item in envelope.items] == [("event", b"{}")]


def test_bad_envelope_on_store_is_400():
    with pytest.raises(IngestError) as caught:
        store(b'{}\n{"type":"event","length":5}\n{}', content_type="application/x-sentry-envelope")
    assert (caught.value.status, caught.value.detail) == (400, "invalid event envelope")
    assert "unexpected end of file" in caught.value.causes[0]


def test_vector_29_get_with_sentry_data():
    envelope = envelope_from_store_get(EVENT.decode())
    assert envelope.event_id == EVENT_ID
    assert envelope.items[0].payload == EVENT


def test_transaction_type_becomes_a_transaction_item():
    body = json.dumps({"type": "transaction", "transaction": "/"}).encode()
    assert store(body).items[0].type == "transaction"


def test_nan_and_infinity_from_python_clients_are_rewritten():
    body = b'{"extra": {"a": NaN, "b": Infinity, "c": -Infinity, "s": "NaN Infinity"}}'
    envelope = store(body, client="sentry-python/2.0.0")

    payload = envelope.items[0].payload
    assert len(payload) == len(body)
    assert json.loads(payload)["extra"] == {"a": 0, "b": 0, "c": 0, "s": "NaN Infinity"}


def test_nan_from_other_clients_is_invalid_json():
    with pytest.raises(IngestError) as caught:
        store(b'{"a": NaN}', client="sentry.javascript.browser/8.0.0")
    assert (caught.value.status, caught.value.detail) == (400, "invalid JSON data")
    assert "NaN" in caught.value.causes[0]


def test_replace_nonfinite_keeps_escaped_quotes_inside_strings():
    body = b'{"s": "say \\"NaN\\"", "n": NaN}'
    assert replace_nonfinite_numbers(body) == b'{"s": "say \\"NaN\\"", "n": 0  }'


@pytest.mark.parametrize(
    ("body", "detail", "cause"),
    [
        (
            b'{"message": ',
            'invalid JSON data: Error("Expecting value", line: 1, column: 13)',
            "Expecting value at line 1 column 13",
        ),
        (
            base64.b64encode(zlib.compress(b"[1, 2]")),
            "invalid JSON data",
            "expected an event object, got list",
        ),
        (b'{"event_id": "nope"}', "invalid JSON data", "invalid event_id 'nope': not a UUID"),
        (b"%%%", "invalid request body", None),
        (base64.b64encode(b"\x78\x9cnot zlib"), "invalid request body", None),
        (base64.b64encode(zlib.compress(b"")), "empty request body", None),
    ],
)
def test_refusals_name_the_problem(body, detail, cause):
    with pytest.raises(IngestError) as caught:
        store(body)
    assert (caught.value.status, caught.value.detail) == (400, detail)
    if cause is not None:
        assert caught.value.causes == [cause]


def test_zlib_output_is_cut_at_max_event_size_so_the_json_breaks():
    body = base64.b64encode(zlib.compress(json.dumps({"message": "x" * 1000}).encode()))
    with pytest.raises(IngestError) as caught:
        envelope_from_store(body, content_type=None, client=None, limits=Limits(max_event_size=100))
    assert caught.value.detail.startswith("invalid JSON data: Error(")
