"""A transaction's spans become rows on the first read that touches spans, and are kept.

Deriving a transaction writes no span rows and marks it (``events.spans_pending``); every
reader of the span table has the marked transactions it covers expanded first, in the writer.
What is on disk is looked at through a plain ``sqlite3`` connection of the test's own, which
never triggers derivation or expansion.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from sentry_stub import StubServer
from sentry_stub.config import Settings
from sentry_stub.processing import span_expansion
from sentry_stub.processing.derivation import Deriver
from sentry_stub.processing.issues import evaluate_metric_alert
from sentry_stub.protocol.envelope import Item, ParsedEnvelope, parse_envelope, serialize_envelope
from sentry_stub.protocol.tables import ROW_KINDS
from sentry_stub.rules.config import parse_rules
from sentry_stub.settings.values import DEFAULT_PROJECT_ID
from sentry_stub.storage import reader
from sentry_stub.storage.database import Database
from sentry_stub.storage.projects import ProjectRegistry
from sentry_stub.storage.reader import Scope
from sentry_stub.storage.received import Received, store_envelope
from tests.sending import post_raw

START = 1_718_000_000.0
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def transaction_envelope(number: int, spans: list | None = None) -> bytes:
    """One transaction with a 50 ms ``db.sql.query`` span and a 20 ms ``http.client`` span."""
    event_id = f"{number:032x}"
    event = {
        "event_id": event_id,
        "type": "transaction",
        "transaction": f"/checkout/{number}",
        "start_timestamp": START,
        "timestamp": START + 0.1,
        "contexts": {"trace": {"trace_id": TRACE, "span_id": f"{number:016x}", "op": "http"}},
        "spans": spans
        if spans is not None
        else [
            {
                "span_id": f"{number + 100:016x}",
                "op": "db.sql.query",
                "description": "SELECT 1",
                "start_timestamp": START,
                "timestamp": START + 0.05,
            },
            {
                "span_id": f"{number + 200:016x}",
                "op": "http.client",
                "start_timestamp": START + 0.05,
                "timestamp": START + 0.07,
            },
        ],
    }
    item = Item({"type": "transaction"}, json.dumps(event).encode())
    return serialize_envelope(ParsedEnvelope({"event_id": event_id}, [item]))


def on_disk(path: Path, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return connection.execute(sql).fetchall()


def span_rows(path: Path) -> int:
    return on_disk(path, "SELECT COUNT(*) FROM spans")[0][0]


def pending(path: Path) -> int:
    return on_disk(path, "SELECT COUNT(*) FROM events WHERE spans_pending = 1")[0][0]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "stub.sqlite3"


@pytest.fixture
def projects() -> ProjectRegistry:
    return ProjectRegistry(Settings())


@pytest.fixture
def database(db_path: Path, projects: ProjectRegistry) -> Iterator[Database]:
    database = Database(str(db_path), Deriver(projects))
    database.open()
    yield database
    database.close()


def acknowledge(database: Database, projects: ProjectRegistry, raw: bytes) -> int:
    project = projects.get(DEFAULT_PROJECT_ID)
    assert project is not None
    received = Received(
        envelope=parse_envelope(raw),
        raw=raw,
        project=project,
        endpoint="envelope",
        public_key=project.keys[0],
        received_at=time.time(),
    )
    return database.writer.run_sync(lambda connection: store_envelope(connection, received))


def count_spans(connection: sqlite3.Connection) -> int:
    return connection.execute("SELECT COUNT(*) FROM spans").fetchone()[0]


def test_deriving_a_transaction_makes_no_span_rows_and_marks_it(database, projects, db_path):
    acknowledge(database, projects, transaction_envelope(1))
    database.read_sync(reader.cursor)  # a read that touches no spans: rows derived, spans not
    assert on_disk(db_path, "SELECT type, spans_pending FROM events") == [("transaction", 1)]
    assert span_rows(db_path) == 0


def test_the_first_span_read_makes_them_and_later_reads_find_them_kept(
    database, projects, db_path, monkeypatch
):
    for number in (1, 2):
        acknowledge(database, projects, transaction_envelope(number))
    expansions = []
    real = span_expansion.expand_spans

    def counted(connection, scope, limit=span_expansion.CHUNK):
        expansions.append(scope)
        return real(connection, scope, limit)

    monkeypatch.setattr("sentry_stub.processing.derivation.expand_spans", counted)
    assert database.read_sync(count_spans, spans=Scope()) == 6  # per transaction: segment + 2
    assert pending(db_path) == 0
    assert database.read_sync(count_spans, spans=Scope()) == 6
    assert len(expansions) == 1  # the second read found nothing waiting


def test_a_span_read_expands_only_the_transactions_it_covers(database, projects, db_path):
    acknowledge(database, projects, transaction_envelope(1))
    cursor = database.read_sync(reader.cursor)
    acknowledge(database, projects, transaction_envelope(2))
    rows = database.read_sync(
        lambda connection: reader.rows(connection, Scope(after=cursor), ROW_KINDS["spans"]),
        spans=Scope(after=cursor),
    )
    assert {row["transaction_name"] for row in rows} == {"/checkout/2"}
    assert len(rows) == 3
    assert on_disk(db_path, "SELECT transaction_name FROM events WHERE spans_pending = 1") == [
        ("/checkout/1",)
    ]


def test_the_rows_are_the_transactions_segment_and_children(database, projects):
    acknowledge(database, projects, transaction_envelope(1))
    rows = database.read_sync(
        lambda connection: reader.rows(connection, Scope(), ROW_KINDS["spans"]), spans=Scope()
    )
    segment, db, http = rows
    assert (segment["is_segment"], segment["op"], segment["span_id"]) == (1, "http", f"{1:016x}")
    assert segment["duration"] == pytest.approx(100.0)
    assert (db["op"], db["description"], db["trace_id"]) == ("db.sql.query", "SELECT 1", TRACE)
    assert db["duration"] == pytest.approx(50.0)
    assert db["segment_id"] == http["segment_id"] == f"{1:016x}"
    assert http["transaction_name"] == "/checkout/1"


def test_a_failed_expansion_loses_nothing_and_the_next_read_expands(
    database, projects, db_path, monkeypatch
):
    acknowledge(database, projects, transaction_envelope(1))

    def crash(connection, item_ids):
        raise RuntimeError("power cut")

    monkeypatch.setattr(span_expansion, "mark_expanded", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        database.read_sync(count_spans, spans=Scope())
    assert (span_rows(db_path), pending(db_path)) == (0, 1)  # rolled back whole
    monkeypatch.undo()
    assert database.read_sync(count_spans, spans=Scope()) == 3


def test_concurrent_span_reads_expand_each_transaction_once(database, projects, db_path):
    for number in range(1, 41):
        acknowledge(database, projects, transaction_envelope(number))
    with ThreadPoolExecutor(max_workers=4) as pool:
        counts = list(pool.map(lambda _: database.read_sync(count_spans, spans=Scope()), range(8)))
    assert counts == [120] * 8
    assert span_rows(db_path) == 120
    assert on_disk(db_path, "SELECT COUNT(DISTINCT span_id) FROM spans") == [(120,)]


def test_span_reads_while_transactions_arrive_see_each_with_all_its_spans_once(
    database, projects, db_path
):
    def sender(first: int) -> None:
        for number in range(first, first + 30):
            acknowledge(database, projects, transaction_envelope(number))

    def spans_per_transaction(connection: sqlite3.Connection) -> set[int]:
        query = "SELECT COUNT(*) FROM spans GROUP BY item_id"
        return {count for (count,) in connection.execute(query)}

    with ThreadPoolExecutor(max_workers=4) as pool:
        sent = [pool.submit(sender, first) for first in (1, 1001)]
        seen = [database.read_sync(spans_per_transaction, spans=Scope()) for _ in range(20)]
        for future in sent:
            future.result()
    assert all(counts <= {3} for counts in seen)  # never a transaction with part of its spans
    assert database.read_sync(count_spans, spans=Scope()) == 180
    assert on_disk(db_path, "SELECT COUNT(*), COUNT(DISTINCT span_id) FROM spans") == [(180, 180)]


def test_notes_on_malformed_spans_join_the_envelopes_notes_when_expanded(database, projects):
    envelope_id = acknowledge(database, projects, transaction_envelope(1, [{"span_id": "abc"}, 5]))
    database.read_sync(count_spans, spans=Scope())
    (notes,) = database.read_sync(
        lambda c: c.execute("SELECT notes FROM envelopes WHERE id = ?", (envelope_id,)).fetchone()
    )
    assert "transaction spans[0]: span_id 'abc' is not 16 hex characters; Relay drops it" in notes
    assert "transaction: spans[1]: expected an object, got a number; skipped" in notes


def test_a_metric_alert_on_spans_expands_its_projects_transactions(database, projects):
    acknowledge(database, projects, transaction_envelope(1))
    database.read_sync(reader.cursor)
    rule = parse_rules(
        {
            "metric_alerts": [
                {
                    "name": "slow queries",
                    "dataset": "transactions",
                    "aggregate": "count()",
                    "query": "span.op:db.sql.query",
                    "triggers": [{"label": "critical", "alert_threshold": 0}],
                }
            ]
        }
    ).metric_alerts[0]
    project = projects.get(DEFAULT_PROJECT_ID)
    assert project is not None
    status = database.writer.run_sync(
        lambda connection: evaluate_metric_alert(connection, project, rule, START + 1, 0)
    )
    assert status == "critical"  # one query span counted: its transaction's spans were made


# --- every reader of spans over HTTP, each the first to touch them ----------------------------

SPAN_READS = {
    "rows": ("/stub/api/rows/spans", {}),
    "trace rows": ("/stub/api/rows/spans", {"trace": TRACE}),
    "traces": ("/stub/api/traces", {}),
    "discover": ("/stub/api/discover", {"field": ["span.op", "count()"], "query": "span.op:db*"}),
    "event search": ("/stub/api/events", {"query": "span.op:db.sql.query"}),
    "pipe": ("/stub/api/query", {"q": "span.op:db.sql.query | count() by span.op"}),
    "explain": ("/stub/api/explain", {"query": "span.op:db.sql.query"}),
}


@pytest.mark.parametrize("name", SPAN_READS)
def test_every_reader_of_spans_finds_them_on_its_first_read(name: str):
    path, params = SPAN_READS[name]
    with StubServer() as server:
        assert post_raw(server, transaction_envelope(7)).status_code == 200
        data = httpx.get(server.url + path, params=params).json()["data"]
    expected = {
        "rows": lambda: len(data) == 3,
        "trace rows": lambda: (
            {row["op"] for row in data} == {"http", "db.sql.query", "http.client"}
        ),
        "traces": lambda: data[0]["span_count"] == 3 and data[0]["root"] == "/checkout/7",
        "discover": lambda: data == [{"span.op": "db.sql.query", "count()": 1}],
        "event search": lambda: [event["event_id"] for event in data] == [f"{7:032x}"],
        "pipe": lambda: data == [{"span.op": "db.sql.query", "count()": 1}],
        "explain": lambda: data == [],  # the transaction matches: it has a query span
    }[name]
    assert expected(), data


def test_the_notes_of_what_arrived_include_those_on_spans_not_yet_read():
    """``view.notes()`` (and ``--sentry-stub-fail-on-notes``) reads the summary: complete."""
    with StubServer() as server:
        assert post_raw(server, transaction_envelope(8, [{"span_id": "abc"}])).status_code == 200
        notes = httpx.get(server.url + "/stub/api/summary").json()["notes"]
    assert "transaction spans[0]: span_id 'abc' is not 16 hex characters; Relay drops it" in notes
