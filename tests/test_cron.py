"""Cron check-ins sent to /cron/<slug>/ (vector 31), as Relay's monitor endpoint builds them."""

from __future__ import annotations

import json
import uuid

import pytest

from sentry_stub.ingest.cron import envelope_from_cron
from sentry_stub.protocol.errors import IngestError

CHECK_IN_ID = "a460c25ff2554577b920fcfacae4e5eb"


def check_in(slug="my-job", *, content_type=None, body=b"", query=None):
    envelope = envelope_from_cron(slug, content_type=content_type, body=body, query=query or {})
    (item,) = envelope.items
    assert item.type == "check_in"
    assert uuid.UUID(envelope.event_id)
    return json.loads(item.payload)


def test_vector_31_get_with_status_only():
    assert check_in(query={"status": "ok"}) == {
        "check_in_id": "0" * 32,
        "monitor_slug": "my-job",
        "status": "ok",
    }


def test_query_fields():
    query = {
        "status": "in_progress",
        "check_in_id": "a460c25f-f255-4577-b920-fcfacae4e5eb",
        "environment": "production",
        "duration": "21",
        "release": "ignored by Relay",
    }
    assert check_in(query=query) == {
        "check_in_id": CHECK_IN_ID,
        "monitor_slug": "my-job",
        "status": "in_progress",
        "environment": "production",
        "duration": 21.0,
    }


@pytest.mark.parametrize(("sent", "stored"), [("missed", "unknown"), ("bogus", "unknown")])
def test_statuses_relay_does_not_accept_become_unknown(sent, stored):
    assert check_in(query={"status": sent})["status"] == stored


def test_json_body_keeps_known_fields_and_uses_the_path_slug():
    body = {
        "check_in_id": CHECK_IN_ID,
        "monitor_slug": "other",
        "status": "error",
        "duration": 2,
        "monitor_config": {"schedule": {"type": "crontab", "value": "0 * * * *"}},
        "contexts": {"trace": {"trace_id": "8f431b7aa08441bbbd5a0100fd91f9fe"}},
        "unknown_field": 1,
    }
    stored = check_in(
        content_type="application/json; charset=utf-8", body=json.dumps(body).encode()
    )
    assert stored == {
        "check_in_id": CHECK_IN_ID,
        "monitor_slug": "my-job",
        "status": "error",
        "duration": 2.0,
        "monitor_config": {"schedule": {"type": "crontab", "value": "0 * * * *"}},
        "contexts": {"trace": {"trace_id": "8f431b7aa08441bbbd5a0100fd91f9fe"}},
    }


def test_long_slugs_are_cut_to_50_characters():
    assert check_in("x" * 60, query={"status": "ok"})["monitor_slug"] == "x" * 50


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ({}, "Failed to deserialize query string: missing field `status`"),
        (
            {"status": "ok", "check_in_id": "nope"},
            "Failed to deserialize query string: UUID parsing failed for check_in_id 'nope'",
        ),
        (
            {"status": "ok", "duration": "long"},
            "Failed to deserialize query string: invalid float literal for duration 'long'",
        ),
    ],
)
def test_query_refusals(query, detail):
    with pytest.raises(IngestError) as caught:
        check_in(query=query)
    assert (caught.value.status, caught.value.detail) == (400, detail)


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (b"{", 400, "Failed to parse the request body as JSON: Expecting property name"),
        (b"{}", 422, "Failed to deserialize the JSON body into the target type: missing field"),
        (
            b'{"status": 1}',
            422,
            "Failed to deserialize the JSON body into the target type: invalid type for `status`",
        ),
        (
            b'{"status": "ok", "duration": "1"}',
            422,
            "Failed to deserialize the JSON body into the target type: invalid type for `duration`",
        ),
        (
            b"[]",
            422,
            "Failed to deserialize the JSON body into the target type: invalid type: expected",
        ),
    ],
)
def test_json_refusals(body, status, detail):
    with pytest.raises(IngestError) as caught:
        check_in(content_type="application/json", body=body)
    assert caught.value.status == status
    assert caught.value.detail.startswith(detail)
