"""Forwarding, replay and export pieces on their own: DSNs, the bytes sent on, the retry policy,
the queue and its bound, the export format, and the import API's refusals.

The flows between real stub processes are in ``client_tests/forwarding/``.
"""

from __future__ import annotations

import base64
import sqlite3

import httpx
import orjson
import pytest

from sentry_stub import StubServer
from sentry_stub.config import load_settings, parse_config
from sentry_stub.export_format import InvalidRecord, check_header, parse_record
from sentry_stub.forwarding.outgoing import outgoing_envelope
from sentry_stub.forwarding.policy import decide, parse_rate_limits, retry_after
from sentry_stub.forwarding.upstream import Upstream
from sentry_stub.outbound import Answer
from sentry_stub.settings.validation import ConfigError
from sentry_stub.storage import forward_queue
from sentry_stub.storage.schema import migrate

EVENT_ID = "9ec79c33ec9942ab8353589fcb2e04dc"
ENVELOPE = (
    b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","dsn":"http://a@x/1", '
    b'"sent_at":"2026-01-01T00:00:00Z"}\n'
    b'{"type":"event","length":51}\n'
    b'{"event_id":"9ec79c33-ec99-42ab-8353-589fcb2e04dc"}\n'
    b'{"type":"attachment", "length":3}\n'
    b"abc\n"
)


# --- upstream DSNs ------------------------------------------------------------------------


def test_a_dsn_names_the_envelope_endpoint_and_the_key() -> None:
    upstream = Upstream.from_dsn("https://abc@sentry.example.com:8443/prefix/42")
    assert upstream.envelope_url == "https://sentry.example.com:8443/prefix/api/42/envelope/"
    assert upstream.project_id == "42"
    assert "sentry_key=abc," in upstream.auth_headers["X-Sentry-Auth"]


@pytest.mark.parametrize(
    ("dsn", "problem"),
    [
        ("ftp://k@host/1", "must start with http:// or https://"),
        ("http://host/1", "has no public key"),
        ("http://k@host/project", "must end with a numeric project id"),
        ("http://k@host:99999/1", "invalid port"),
        ("http://k@host/1?x=1", "must not carry a query"),
    ],
)
def test_a_bad_dsn_is_refused_naming_the_problem(dsn: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Upstream.from_dsn(dsn)


def test_forward_to_is_checked_where_it_is_configured() -> None:
    entry = {"slug": "app", "id": 1, "keys": ["ab" * 16], "forward_to": "http://k@127.0.0.1:1/2"}
    [project] = parse_config({"projects": [entry]}).projects
    assert project.forward_to == "http://k@127.0.0.1:1/2"
    with pytest.raises(ConfigError, match=r"projects\[0\]\.forward_to: DSN 'nope'") as error:
        parse_config({"projects": [{**entry, "forward_to": "nope"}]})
    assert error.value.path == "projects[0].forward_to"
    with pytest.raises(ConfigError, match="--forward-to: DSN"):
        load_settings(forward_to="http://127.0.0.1/1", environ={})
    settings = load_settings(environ={"SENTRY_STUB_FORWARD_TO": "http://k@127.0.0.1:1/2"})
    assert settings.forward_to == "http://k@127.0.0.1:1/2"


def test_a_stub_cannot_forward_to_itself(tmp_path) -> None:
    own = "http://k@localhost:8990/1"
    with pytest.raises(
        ConfigError, match="--forward-to 'http://k@localhost:8990/1' is this server"
    ):
        load_settings(forward_to=own, environ={})
    config = tmp_path / "stub.toml"
    config.write_text(
        f'[[projects]]\nslug = "app"\nid = 1\nkeys = ["{"ab" * 16}"]\n'
        'forward_to = "http://k@127.0.0.1:9000/1"\n'
    )
    with pytest.raises(ConfigError, match=r"project 'app' forward_to .* it would loop"):
        load_settings(config=str(config), port=9000, environ={})
    assert load_settings(config=str(config), port=9001, environ={}).projects[0].forward_to


# --- the bytes sent on --------------------------------------------------------------------


def test_without_changes_the_envelope_goes_on_as_received() -> None:
    assert outgoing_envelope(ENVELOPE) == ENVELOPE
    without_dsn = ENVELOPE.replace(b',"dsn":"http://a@x/1"', b"")
    assert outgoing_envelope(without_dsn, dsn="http://b@y/2") == without_dsn


def test_the_dsn_header_is_rewritten_and_the_items_keep_their_bytes() -> None:
    sent = outgoing_envelope(ENVELOPE, dsn="http://b@y/2")
    header, _, items = sent.partition(b"\n")
    assert orjson.loads(header) == {
        "event_id": EVENT_ID,
        "dsn": "http://b@y/2",
        "sent_at": "2026-01-01T00:00:00Z",
    }
    assert items == ENVELOPE.partition(b"\n")[2]


def test_items_a_fault_rule_kept_out_are_left_out_byte_exact() -> None:
    sent = outgoing_envelope(ENVELOPE, dropped={1})
    assert sent == ENVELOPE[: ENVELOPE.index(b'{"type":"attachment"')]
    assert outgoing_envelope(ENVELOPE, dropped={0}) == (
        ENVELOPE.split(b"\n")[0] + b'\n{"type":"attachment", "length":3}\nabc\n'
    )


def test_new_ids_replace_the_event_id_in_both_spellings_keeping_lengths() -> None:
    new = "0123456789abcdef0123456789abcdef"
    sent = outgoing_envelope(ENVELOPE, new_event_id=new)
    assert EVENT_ID.encode() not in sent
    assert b'{"event_id":"01234567-89ab-cdef-0123-456789abcdef"}' in sent
    assert orjson.loads(sent.partition(b"\n")[0])["event_id"] == new
    assert len(sent) == len(ENVELOPE.replace(b", ", b",", 1))  # the header is re-encoded


# --- the retry policy ---------------------------------------------------------------------


def test_success_is_sent_with_its_status() -> None:
    decision = decide(Answer(202), 1, {"error"})
    assert (decision.state, decision.status, decision.retry_in) == ("sent", 202, 0.0)


def test_429_waits_for_the_rate_limit_of_the_envelopes_categories() -> None:
    headers = {
        "x-sentry-rate-limits": "60:transaction:key, 7:error;default:project",
        "retry-after": "3",
    }
    decision = decide(Answer(429, headers), 1, {"error"})
    assert (decision.state, decision.retry_in) == ("pending", 7.0)
    assert decide(Answer(429, headers), 1, {"session"}).retry_in == 3.0  # Retry-After instead
    assert decide(Answer(429), 1, {"error"}).retry_in == 60.0  # nothing said: a minute


def test_an_unreachable_upstream_is_retried_with_a_doubling_wait_forever() -> None:
    down = Answer(None, error="ConnectionRefusedError: [Errno 111] Connection refused")
    waits = [decide(down, attempt, ()).retry_in for attempt in (1, 2, 3, 7, 100)]
    assert waits == [1.0, 2.0, 4.0, 60.0, 60.0]
    assert decide(down, 100, ()).state == "pending"
    assert "Connection refused" in (decide(down, 1, ()).reason or "")


def test_server_errors_are_retried_a_few_times_and_other_4xx_are_final() -> None:
    assert decide(Answer(503), 7, ()).state == "pending"
    dropped = decide(Answer(500, body=b"boom"), 8, ())
    assert (dropped.state, dropped.status) == ("dropped", 500)
    assert "HTTP 500: boom" in (dropped.reason or "")
    refused = decide(Answer(403, body=b'{"detail":"event submission rejected"}'), 1, ())
    assert refused.state == "dropped"
    assert refused.reason == 'upstream refused it: HTTP 403: {"detail":"event submission rejected"}'


def test_rate_limit_headers_parse_as_the_sdks_read_them() -> None:
    limits = parse_rate_limits("2::organization, x:error, 5:error;transaction:key:quota")
    assert [(limit.seconds, limit.categories) for limit in limits] == [
        (2.0, ()),
        (5.0, ("error", "transaction")),
    ]
    assert limits[0].applies_to({"anything"})
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # past
    assert retry_after({"retry-after": "soon"}) is None


# --- the queue ----------------------------------------------------------------------------


def queue_database() -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    migrate(connection)
    return connection


def add_envelope(connection: sqlite3.Connection, project_id: int) -> int:
    cursor = connection.execute(
        "INSERT INTO envelopes (received_at, project_id, endpoint, raw) "
        "VALUES (0, ?, 'envelope', ?)",
        (project_id, ENVELOPE),
    )
    return cursor.lastrowid or 0


def head_of(connection: sqlite3.Connection, project_id: int) -> forward_queue.Head:
    [head] = [h for h in forward_queue.heads(connection) if h.project_id == project_id]
    return head


def test_each_project_sends_its_oldest_pending_envelope_first() -> None:
    connection = queue_database()
    for project_id in (1, 2, 1, 2):
        envelope_id = add_envelope(connection, project_id)
        forward_queue.enqueue(connection, envelope_id, project_id, "http://k@127.0.0.1:1/1")
    assert sorted(head.envelope_id for head in forward_queue.heads(connection)) == [1, 2]
    first = head_of(connection, 1)
    assert first.raw == ENVELOPE
    forward_queue.record(connection, first, state="sent", attempts=1, status=200)
    assert sorted(head.envelope_id for head in forward_queue.heads(connection)) == [2, 3]
    forward_queue.record(connection, first, state="dropped", attempts=9, reason="late")  # no effect
    assert forward_queue.states(connection, [1])[1]["state"] == "sent"


def test_an_outcome_never_lands_on_the_row_of_a_later_envelope_with_the_same_id() -> None:
    connection = queue_database()
    forward_queue.enqueue(connection, add_envelope(connection, 1), 1, "http://k@127.0.0.1:1/1")
    in_flight = head_of(connection, 1)
    # A reset while it is being sent: envelope ids start again, and a new envelope takes id 1.
    connection.execute("DELETE FROM forwards")
    connection.execute("DELETE FROM envelopes")
    forward_queue.enqueue(connection, add_envelope(connection, 1), 1, "http://k@127.0.0.1:1/1")
    assert head_of(connection, 1).envelope_id == in_flight.envelope_id
    forward_queue.record(connection, in_flight, state="sent", attempts=1, status=200)
    assert forward_queue.states(connection, [1])[1]["state"] == "pending"


def test_past_the_bound_new_envelopes_are_stored_but_dropped_from_the_queue() -> None:
    connection = queue_database()
    for _ in range(3):
        envelope_id = add_envelope(connection, 1)
        forward_queue.enqueue(connection, envelope_id, 1, "http://k:secret@127.0.0.1:1/1", limit=2)
    listing = forward_queue.listing(connection)
    assert listing["counts"] == {"pending": 2, "sent": 0, "dropped": 1}
    dropped = listing["data"][2]
    assert dropped["reason"] == "forward queue full (2 envelopes pending)"
    assert dropped["upstream"] == "http://k@127.0.0.1:1/1"  # the secret is not shown


def test_a_bad_state_is_refused() -> None:
    with pytest.raises(ValueError, match="forward state must be one of pending, sent, dropped"):
        connection = queue_database()
        forward_queue.enqueue(connection, add_envelope(connection, 1), 1, "http://k@127.0.0.1:1/1")
        forward_queue.record(connection, head_of(connection, 1), state="done", attempts=1)


# --- the export format and the import API -------------------------------------------------


def record(**changes: object) -> dict:
    return {
        "project": "default",
        "public_key": "ab" * 16,
        "received_at": 1767225600.5,
        "endpoint": "envelope",
        "event_id": EVENT_ID,
        "dropped_items": [],
        "envelope": base64.b64encode(ENVELOPE).decode(),
        **changes,
    }


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"received_at": "noon"}, "'received_at' must be a number"),
        ({"endpoint": "ftp"}, "'endpoint' must be one of"),
        ({"envelope": "%%%"}, "'envelope' must be the envelope's bytes in base64"),
        ({"dropped_items": [-1]}, "'dropped_items' must be a list of item indexes"),
        ({"client": 3}, "'client' must be a string or null"),
        ({"project": ""}, "'project' must be a non-empty string"),
    ],
)
def test_a_bad_record_is_refused_naming_the_field(changes: dict, problem: str) -> None:
    with pytest.raises(InvalidRecord, match=f"record 4: {problem}"):
        parse_record(record(**changes), 4)


def test_a_file_without_the_header_is_not_an_export() -> None:
    with pytest.raises(ValueError, match="not a sentry-stub-export header"):
        check_header(record())
    with pytest.raises(ValueError, match="export version 2 is not 1"):
        check_header({"format": "sentry-stub-export", "version": 2})


def test_an_export_page_of_no_records_is_refused(server: StubServer) -> None:
    """Its `next` would be the page itself, and a pager would never end (was a 500)."""
    answer = httpx.get(f"{server.url}/stub/api/export", params={"limit": "0"})
    assert answer.status_code == 400
    assert answer.json()["detail"] == "parameter 'limit' must be at least 1"


def test_import_stores_all_records_or_none(server: StubServer) -> None:
    api = f"{server.url}/stub/api"
    good = record(
        event_id="11" * 16, envelope=base64.b64encode(b'{}\n{"type":"event"}\n{}\n').decode()
    )
    bad = record(envelope=base64.b64encode(b"not an envelope").decode())
    answer = httpx.post(f"{api}/import", json={"records": [good, bad]})
    assert answer.status_code == 400
    assert answer.json()["record"] == 1
    assert "record 1: 'envelope' is not an envelope" in answer.json()["detail"]
    assert httpx.get(f"{api}/events", params={"query": f"id:{'11' * 16}"}).json()["data"] == []
    answer = httpx.post(f"{api}/import", json={"records": [good]})
    assert answer.json() == {"imported": 1}
    [event] = httpx.get(f"{api}/events", params={"query": f"id:{'11' * 16}"}).json()["data"]
    assert event["received_at"] == 1767225600.5


def test_import_into_a_strict_server_needs_the_project(tmp_path) -> None:
    config = tmp_path / "stub.toml"
    config.write_text(f'[[projects]]\nslug = "app"\nid = 4\nkeys = ["{"cd" * 16}"]\n')
    with StubServer(config=str(config)) as strict:
        answer = httpx.post(f"{strict.url}/stub/api/import", json={"records": [record()]})
    assert answer.status_code == 400
    assert answer.json()["detail"] == (
        "record 0: project 'default' is not in this server's config (strict mode)"
    )


def test_forwards_refuses_an_unknown_state(server: StubServer) -> None:
    answer = httpx.get(f"{server.url}/stub/api/forwards", params={"state": "done"})
    assert answer.status_code == 400
    assert "parameter 'state' must be one of pending, sent, dropped" in answer.json()["detail"]
