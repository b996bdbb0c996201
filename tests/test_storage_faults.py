"""A full disk and a database locked by another process, answered as Relay answers them.

Real ``sentry-stub serve`` processes over HTTP. While SQLite cannot commit, every request of the
failed commit gets 503 with ``Retry-After`` and a body naming the cause, nothing of it is stored,
and the readiness check reports not ready; once the disk has room (or the lock is released) the
next commits succeed without a restart, and every envelope acknowledged before is still there.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from client_tests.support import ServerProcess
from sentry_stub import StubServer
from sentry_stub.processing import derivation
from sentry_stub.processing.derivation import Deriver
from tests.tmpfs import mounted_tmpfs

KEY = "f" * 32
READY = "/api/relay/healthcheck/ready/"


def envelope(event_id: str, attachment: bytes = b"") -> bytes:
    event = json.dumps({"message": f"fault test {event_id}"}).encode()
    lines = [
        json.dumps({"event_id": event_id}).encode(),
        json.dumps({"type": "event", "length": len(event)}).encode(),
        event,
    ]
    if attachment:
        header = {"type": "attachment", "length": len(attachment), "filename": "noise.bin"}
        lines += [json.dumps(header).encode(), attachment]
    return b"\n".join(lines) + b"\n"


def post(http: httpx.Client, body: bytes) -> httpx.Response:
    return http.post(f"/api/1/envelope/?sentry_key={KEY}", content=body)


def assert_unavailable(response: httpx.Response, cause: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"].isdigit()
    assert response.json()["detail"] == f"storage unavailable: {cause}"


def integrity(db: Path) -> str:
    connection = sqlite3.connect(db)
    try:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        connection.close()


def fill_until_refused(http: httpx.Client) -> tuple[list[str], tuple[str, httpx.Response]]:
    """Envelopes of 64 KiB noise until one is refused: the acknowledged ones and the refused one."""
    acknowledged: list[str] = []
    for _ in range(400):  # the disk fills within ~150
        event_id = uuid.uuid4().hex
        response = post(http, envelope(event_id, os.urandom(64 * 1024)))
        if response.status_code != 200:
            return acknowledged, (event_id, response)
        acknowledged.append(event_id)
    raise AssertionError("the disk never filled up")


def missing_events(http: httpx.Client, event_ids: list[str]) -> list[str]:
    return [e for e in event_ids if http.get(f"/stub/api/events/{e}").status_code != 200]


@pytest.mark.timeout(240)
def test_a_full_disk_answers_503_then_recovers_with_nothing_lost(tmp_path: Path) -> None:
    with mounted_tmpfs(tmp_path / "small", "12m") as disk:
        ballast = disk / "ballast"
        ballast.write_bytes(b"\0" * 4 * 1024 * 1024)  # removed to make room again
        db = disk / "stub.sqlite3"
        server = ServerProcess(db)
        server.log = tmp_path / "server.log"  # not on the small disk
        server.start()
        try:
            with httpx.Client(base_url=server.url, timeout=60) as http:
                acknowledged, refused = fill_until_refused(http)
                assert_unavailable(refused[1], "the disk is full")
                ready = http.get(READY)
                assert_unavailable(ready, "the disk is full")
                assert ready.json()["is_healthy"] is False

                ballast.unlink()
                recovered = uuid.uuid4().hex
                assert post(http, envelope(recovered)).status_code == 200
                assert http.get(READY).json() == {"is_healthy": True}
                assert missing_events(http, [*acknowledged, recovered]) == []
                assert http.get(f"/stub/api/events/{refused[0]}").status_code == 404
        finally:
            server.stop()
        assert integrity(db) == "ok"


@pytest.mark.timeout(120)
def test_a_database_locked_by_another_process_answers_503_then_recovers(tmp_path: Path) -> None:
    db = tmp_path / "stub.sqlite3"
    server = ServerProcess(db).start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            before = uuid.uuid4().hex
            assert post(http, envelope(before)).status_code == 200

            holder = sqlite3.connect(db, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")
            try:
                during = [uuid.uuid4().hex for _ in range(4)]
                with ThreadPoolExecutor(4) as pool:
                    answers = list(pool.map(lambda e: post(http, envelope(e)), during))
                for response in answers:  # every request of the failed commits
                    assert_unavailable(response, "the database is locked by another process")
                ready = http.get(READY)
                assert_unavailable(ready, "the database is locked by another process")
                assert ready.json()["is_healthy"] is False
            finally:
                holder.execute("ROLLBACK")
                holder.close()

            after = uuid.uuid4().hex
            assert post(http, envelope(after)).status_code == 200
            ready = http.get(READY)
            assert ready.status_code == 200
            assert ready.json() == {"is_healthy": True}
            assert missing_events(http, [before, after]) == []
            assert missing_events(http, during) == during  # nothing half-stored
    finally:
        server.stop()
    assert integrity(db) == "ok"


@pytest.mark.timeout(240)
def test_a_read_with_rows_to_derive_on_a_full_disk_answers_503(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deriving fails for want of room: SQLite may undo the whole transaction (savepoint and
    all), and the read must still name the full disk, not fail on the savepoint."""
    monkeypatch.setattr(Deriver, "idle_work", lambda self, connection, limit: 0)  # rows wait
    with mounted_tmpfs(tmp_path / "small", "12m") as disk:
        ballast = disk / "ballast"
        ballast.write_bytes(b"\0" * 4 * 1024 * 1024)
        with (
            StubServer(db=disk / "stub.sqlite3") as server,
            httpx.Client(base_url=server.url, timeout=60) as http,
        ):
            acknowledged, _ = fill_until_refused(http)
            assert_unavailable(http.get("/stub/api/events"), "the disk is full")

            ballast.unlink()
            assert missing_events(http, acknowledged) == []


def test_a_read_whose_derivation_sqlite_rolled_back_answers_503_naming_the_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLITE_FULL SQLite may undo the whole transaction, the deriving savepoint with it
    (https://sqlite.org/lang_transaction.html, "Response To Errors Within A Transaction"): the
    read names the full disk instead of failing on the savepoint that is gone."""
    monkeypatch.setattr(Deriver, "idle_work", lambda self, connection, limit: 0)  # rows wait

    def full_disk(connection: sqlite3.Connection, *args: object) -> None:
        connection.execute("ROLLBACK")  # what SQLite does on its own
        error = sqlite3.OperationalError("database or disk is full")
        error.sqlite_errorcode = sqlite3.SQLITE_FULL  # type: ignore[attr-defined]
        raise error

    with (
        StubServer(db=tmp_path / "stub.sqlite3") as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        stored = uuid.uuid4().hex
        assert post(http, envelope(stored)).status_code == 200
        with monkeypatch.context() as patched:
            patched.setattr(derivation, "derive_rows", full_disk)
            assert_unavailable(http.get("/stub/api/events"), "the disk is full")
        assert missing_events(http, [stored]) == []  # derived once the disk has room
