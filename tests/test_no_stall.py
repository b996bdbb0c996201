"""No client can stall the others: decompression bombs, the body budget, slow clients.

Real ``sentry-stub serve`` processes over HTTP and raw sockets. A gzip bomb being decompressed
must not hold up a small envelope sent while it is in flight; request bodies beyond the shared
budget get 503 with ``Retry-After``; a client that sends its headers or its body a byte at a time
is answered 408 and cut off while other clients go on being served.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from client_tests.support import ServerProcess, running_server

KEY = "c" * 32
ENVELOPE_PATH = f"/api/1/envelope/?sentry_key={KEY}"
HEADER_TIMEOUT = 1  # seconds: the module's server cuts off slow headers after it
JSON = {"Content-Type": "application/json"}  # what the request guard wants of an API write


def envelope() -> bytes:
    event = json.dumps({"message": "small and valid"}).encode()
    header = json.dumps({"event_id": uuid.uuid4().hex}).encode()
    return header + b'\n{"type":"event","length":%d}\n' % len(event) + event + b"\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("no-stall")
    config = folder / "stub.toml"
    config.write_text(
        f"[limits]\nheader_timeout = {HEADER_TIMEOUT}\nbody_timeout = 2\n"
        "max_in_flight_size = 1048576\n"
    )
    yield from running_server(folder, config)


def open_request(server: ServerProcess, head: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.settimeout(30)
    sock.sendall(head)
    return sock


def answer_of(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def response_of(sock: socket.socket) -> bytes:
    """One whole response (head and ``Content-Length`` bytes of body), the connection left open."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


@pytest.mark.timeout(120)
def test_a_gzip_bomb_in_flight_does_not_hold_up_a_small_envelope(tmp_path: Path) -> None:
    # A default server: the bomb expands past the 200 MiB envelope limit before its 413.
    server = ServerProcess(tmp_path / "bomb.sqlite3").start()
    try:
        bomb = gzip.compress(b"\0" * (256 * 1024 * 1024), compresslevel=9)
        bomb_times: list[float] = []
        bomb_statuses: list[int] = []  # asserted below: a failed assert in the thread fails nothing

        def send_bomb() -> None:
            with httpx.Client(base_url=server.url, timeout=60) as http:
                bomb_times.append(time.monotonic())
                response = http.post(
                    ENVELOPE_PATH, content=bomb, headers={"Content-Encoding": "gzip"}
                )
                bomb_times.append(time.monotonic())
            bomb_statuses.append(response.status_code)

        small: list[tuple[float, float]] = []  # (sent, answered) of each small envelope
        with httpx.Client(base_url=server.url, timeout=60) as http:
            http.post(ENVELOPE_PATH, content=envelope())  # connection warmed up
            sender = threading.Thread(target=send_bomb)
            sender.start()
            while len(bomb_times) < 2 and len(small) < 1000:
                sent = time.monotonic()
                assert http.post(ENVELOPE_PATH, content=envelope()).status_code == 200
                small.append((sent, time.monotonic()))
            sender.join()
        assert bomb_statuses == [413]
        bomb_started, bomb_answered = bomb_times
        during = [(s, a) for s, a in small if bomb_started <= s and a <= bomb_answered]
        # Served throughout the bomb's decompression: no small envelope waited for it (on the
        # event loop one would wait for nearly all of it).
        assert len(during) >= 3, (len(during), bomb_answered - bomb_started)
        longest = max(a - s for s, a in during)
        assert longest < (bomb_answered - bomb_started) / 3, (longest, bomb_times)
    finally:
        server.stop()


@pytest.mark.timeout(60)
def test_bodies_past_the_shared_budget_get_503_with_retry_after(server: ServerProcess) -> None:
    body = envelope()
    padding = b" " * (700 * 1024 - len(body))  # leading whitespace is allowed before the header
    first = open_request(
        server,
        b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
        % (ENVELOPE_PATH.encode(), len(padding) + len(body)),
    )
    try:
        first.sendall(padding)  # 700 KiB held of the 1 MiB budget, the rest not yet sent
        time.sleep(0.3)
        with httpx.Client(base_url=server.url, timeout=30) as http:
            refused = http.post(ENVELOPE_PATH, content=b" " * (500 * 1024) + envelope())
            assert refused.status_code == 503
            assert refused.headers["retry-after"].isdigit()
            assert "limits.max_in_flight_size" in refused.json()["detail"]
            assert http.post(ENVELOPE_PATH, content=envelope()).status_code == 200  # small fits
            first.sendall(body)
            assert answer_of_first(first).startswith(b"HTTP/1.1 200")
            retried = http.post(ENVELOPE_PATH, content=b" " * (500 * 1024) + envelope())
            assert retried.status_code == 200  # the budget was given back
    finally:
        first.close()


@pytest.mark.timeout(60)
def test_a_body_announced_past_the_route_limit_gets_413_even_when_the_budget_is_short(
    server: ServerProcess,
) -> None:
    """413 (never accepted) comes before the budget's 503 (retry later)."""
    announced = 300 * 1024 * 1024  # past the 200 MiB envelope limit; never sent
    head = b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
    alone = open_request(server, head % (ENVELOPE_PATH.encode(), announced))
    first = open_request(server, head % (ENVELOPE_PATH.encode(), 1000 * 1024))
    try:
        assert response_of(alone).startswith(b"HTTP/1.1 413")  # at once, not after 2 s
        first.sendall(b" " * (700 * 1024))  # 700 KiB held of the 1 MiB budget
        time.sleep(0.3)
        refused = open_request(server, head % (ENVELOPE_PATH.encode(), announced))
        try:
            answer = response_of(refused)
            assert answer.startswith(b"HTTP/1.1 413"), answer
            assert b"exceeds the size limit of 209715200 bytes" in answer
        finally:
            refused.close()
    finally:
        alone.close()
        first.close()


@pytest.mark.timeout(60)
def test_api_bodies_have_a_size_limit_and_a_deadline_too(server: ServerProcess) -> None:
    """The stub's own JSON APIs read bodies as ingest does: 413 past 20 MiB
    (``limits.max_api_payload_size``), 408 when the body is sent too slowly."""
    oversized = (b" " * (1024 * 1024) for _ in range(21))  # streamed: no Content-Length
    with httpx.Client(base_url=server.url, timeout=30) as http:
        refused = http.post("/stub/api/faults", content=oversized, headers=JSON)
    assert refused.status_code == 413, refused.text
    assert refused.json()["detail"] == "request body exceeds the size limit of 20971520 bytes"

    slow = open_request(
        server,
        b"POST /stub/api/projects HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: 100\r\n"
        b"Content-Type: application/json\r\n\r\n{" % server.port,
    )
    try:
        answer = answer_of(slow)
    finally:
        slow.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"request body not received within 2 seconds" in answer


def trickle(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # the server may have closed it already
        sock.sendall(b"X")


def answer_of_first(sock: socket.socket) -> bytes:
    return sock.recv(65536)


@pytest.mark.timeout(60)
def test_slow_headers_and_slow_bodies_are_cut_off_while_others_are_served(
    server: ServerProcess,
) -> None:
    slow_headers = [open_request(server, b"POST /api/1/envelope/ HTTP/1.1\r\n") for _ in range(50)]
    silent = [open_request(server, b"") for _ in range(50)]
    slow_body = open_request(
        server,
        b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{" % ENVELOPE_PATH.encode(),
    )
    started = time.monotonic()
    served: list[float] = []  # how long each normal request took
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for _ in range(10):  # while the slow ones hold their connections, or are cut off
                for sock in slow_headers:  # a header byte at a time, until cut off
                    trickle(sock)
                sent = time.monotonic()
                assert http.post(ENVELOPE_PATH, content=envelope()).status_code == 200
                served.append(time.monotonic() - sent)
                time.sleep(0.1)
        for sock in [*slow_headers, *silent]:
            answer = answer_of(sock)
            assert answer.startswith(b"HTTP/1.1 408 Request Timeout"), answer
        body_answer = answer_of(slow_body)
        assert body_answer.startswith(b"HTTP/1.1 408"), body_answer
        assert b"request body not received within 2 seconds" in body_answer
        assert time.monotonic() - started < 20  # the deadlines are 1 s and 2 s
        # Served while the slow clients were held: no normal request waited for one of them
        # (waiting for a slow client means waiting for its deadline, 1 s at the least).
        assert max(served) < HEADER_TIMEOUT / 2, served
    finally:
        for sock in [*slow_headers, *silent, slow_body]:
            sock.close()
