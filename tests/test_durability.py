"""An acknowledged envelope is never lost: the server answers 200 only after the commit.

Real ``sentry-stub serve`` processes: SIGKILL right after the last 200 and restart on the same
database; and many concurrent writers, none of whose envelopes may be missing or half-stored.
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from client_tests.support import ServerProcess

KEY = "d" * 32


def envelope(event_id: str, attachments: int) -> bytes:
    """An event plus ``attachments`` attachments: ``1 + attachments`` items."""
    lines = [json.dumps({"event_id": event_id}).encode()]
    event = json.dumps({"message": f"durable {event_id}"}).encode()
    lines += [json.dumps({"type": "event", "length": len(event)}).encode(), event]
    for index in range(attachments):
        data = f"attachment {index} of {event_id}".encode()
        header = {"type": "attachment", "length": len(data), "filename": f"{index}.txt"}
        lines += [json.dumps(header).encode(), data]
    return b"\n".join(lines) + b"\n"


def post_all(url: str, bodies: dict[str, bytes], threads: int) -> list[str]:
    """Post every body concurrently; the event ids the server acknowledged with 200."""

    def post(item: tuple[str, bytes]) -> str | None:
        event_id, body = item
        with httpx.Client(timeout=60) as client:
            response = client.post(f"{url}/api/1/envelope/?sentry_key={KEY}", content=body)
        return event_id if response.status_code == 200 else None

    with ThreadPoolExecutor(threads) as pool:
        return [event_id for event_id in pool.map(post, bodies.items()) if event_id]


def stored_envelopes(url: str) -> list[dict]:
    response = httpx.get(f"{url}/stub/api/envelopes", params={"limit": 10000}, timeout=60)
    return response.json()["data"]


@pytest.mark.timeout(180)
def test_every_acknowledged_envelope_survives_sigkill(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "durable.sqlite3").start()
    try:
        event_ids = [uuid.uuid4().hex for _ in range(120)]
        bodies = {event_id: envelope(event_id, 1) for event_id in event_ids}
        acknowledged = post_all(server.url, bodies, threads=12)
        server.kill()  # right after the last 200: no shutdown code runs
        assert len(acknowledged) == len(bodies)
        server.start()
        with httpx.Client(base_url=server.url, timeout=30) as client:
            missing = [
                event_id
                for event_id in acknowledged
                if client.get(f"/stub/api/events/{event_id}").status_code != 200
            ]
        assert missing == []
    finally:
        server.stop()


@pytest.mark.timeout(180)
def test_sixteen_concurrent_writers_store_whole_envelopes(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "writers.sqlite3").start()
    try:
        expected_items = {}
        bodies = {}
        for index in range(160):
            event_id = uuid.uuid4().hex
            expected_items[event_id] = 1 + index % 5
            bodies[event_id] = envelope(event_id, index % 5)
        acknowledged = post_all(server.url, bodies, threads=16)
        assert sorted(acknowledged) == sorted(bodies)
        stored = {e["event_id"]: len(e["items"]) for e in stored_envelopes(server.url)}
        assert stored == expected_items  # all present, none with a missing item row
    finally:
        server.stop()
