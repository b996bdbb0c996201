"""Posting hand-built envelopes to a test server, as an SDK would (tests of the checks use it)."""

from __future__ import annotations

import json

import httpx

from sentry_stub import StubServer


def envelope_bytes(header: dict, *items: tuple[dict, dict]) -> bytes:
    """An envelope of JSON items: its header, then each item's header and payload."""
    lines = [json.dumps(header)]
    for item_header, payload in items:
        lines += [json.dumps(item_header), json.dumps(payload)]
    return "\n".join(lines).encode()


def post_envelope(server: StubServer, header: dict, *items: tuple[dict, dict]) -> None:
    """An envelope of JSON items to the default project, with the DSN's key; must answer 200."""
    response = post_raw(server, envelope_bytes(header, *items))
    assert response.status_code == 200, response.text


def post_raw(server: StubServer, raw: bytes) -> httpx.Response:
    """Envelope bytes as they are to the default project, with the DSN's key."""
    key = server.dsn.split("//")[1].split("@")[0]
    return httpx.post(
        f"{server.url}/api/1/envelope/",
        content=raw,
        headers={"X-Sentry-Auth": f"Sentry sentry_key={key}, sentry_version=7"},
    )


def post_event(server: StubServer, event: dict) -> None:
    """One event (it must carry its ``event_id``) in its own envelope."""
    post_envelope(server, {"event_id": event["event_id"]}, ({"type": "event"}, event))
