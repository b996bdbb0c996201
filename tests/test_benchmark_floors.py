"""The benchmark's reference servers: ``checks`` checks like the stub and stores nothing.

Its figures bound what any storage design could reach only if it answers exactly as the stub
does, refusals included, while writing nothing at all.
"""

from __future__ import annotations

import http.client
import json
import sqlite3

import pytest

from benchmarks.load import AUTH
from benchmarks.servers import BenchmarkServer

ENVELOPE = b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n{"type":"event"}\n{"message":"hi"}\n'


def _post(server: BenchmarkServer, body: bytes, auth: str | None = AUTH) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"Content-Type": "application/x-sentry-envelope"}
    if auth is not None:
        headers["X-Sentry-Auth"] = auth
    try:
        connection.request("POST", "/api/1/envelope/", body, headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@pytest.fixture(scope="module")
def checks(tmp_path_factory):
    with BenchmarkServer("checks", tmp_path_factory.mktemp("floors") / "checks.sqlite3") as server:
        yield server


def test_checks_acknowledges_a_valid_envelope_as_the_stub_does(checks):
    assert _post(checks, ENVELOPE) == (200, {"id": "9ec79c33ec9942ab8353589fcb2e04dc"})


def test_checks_refuses_what_the_stub_refuses(checks):
    status, answer = _post(checks, b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n{"type":')
    assert status == 400 and answer["detail"] == "invalid event envelope"
    assert answer["causes"], answer
    status, answer = _post(checks, ENVELOPE, auth=None)
    assert (status, answer["detail"]) == (401, "bad envelope authentication header")


def test_checks_stores_nothing(checks):
    assert _post(checks, ENVELOPE)[0] == 200
    with sqlite3.connect(f"file:{checks.db}?mode=ro", uri=True) as connection:
        assert connection.execute("SELECT COUNT(*) FROM envelopes").fetchone() == (0,)


def test_http_answers_every_body_without_looking_at_it(tmp_path):
    with BenchmarkServer("http", tmp_path / "unused") as server:
        assert _post(server, b"not an envelope", auth=None) == (200, {"id": None})
