"""Query latency over a large store: the reads a test author makes, at 1e4 to 1e6 events.

The store is bulk-loaded straight through the schema (``TABLES``, then ``migrate`` for the
indexes, which is far faster than indexing row by row): one envelope, one item, one event and
one tag per event, with a small but complete event JSON as the envelope's payload (and, as if
already read once, as its cached stored view: see ``sentry_stub.storage.stored``). Each
transaction carries three child spans and is left as deriving leaves it, its spans not yet
rows (``storage/pending_spans.py``), so the span search is timed the first time (which makes
the rows of the transactions it covers) and repeated. The timings are taken over HTTP against
a ``sentry-stub serve`` process, as a test sees them.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import sqlite_utils

from sentry_stub.client import StubClient
from sentry_stub.storage.schema import TABLES, migrate
from sentry_stub.view import StubView

from .load import KEY
from .servers import BenchmarkServer

TRANSACTIONS = [f"/api/endpoint-{n}" for n in range(40)]
ENVIRONMENTS = ["production", "staging", "development"]
RELEASES = [f"shop@2.{n}.0" for n in range(6)]
LIST_QUERY = "event.type:error environment:production release:shop@2.3.0"
GROUPED_FIELDS = ["transaction", "p95(transaction.duration)", "count()"]
SPAN_FIELDS = ["span.description", "p95(span.duration)", "count()"]
SPAN_QUERY = "span.op:db.sql.query"
RECENT = 1_000  # events a test's own view covers in the span search "recent"
SPAN_EXPANSION_TIMEOUT = 1800.0
CHUNK = 20_000
USERS = 5_000


def bulk_load(db: Path, events: int, seed: int = 1) -> None:
    """A store of ``events`` synthetic events (70% transactions, 30% errors) in one project."""
    connection = sqlite3.connect(db, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")  # setup only: nothing here is acknowledged
    database = sqlite_utils.Database(connection)
    for table in TABLES.values():
        database.table(table.name).create(dict(table.columns), pk=table.primary_key or None)
    connection.execute(
        "INSERT INTO projects (id, slug, created_at) VALUES (1, 'shop', ?)", (time.time(),)
    )
    connection.execute("INSERT INTO project_keys VALUES (?, 1)", (KEY,))
    rng = random.Random(seed)
    connection.execute("BEGIN")
    for first in range(1, events + 1, CHUNK):
        rows = list(_rows(rng, first, min(CHUNK, events - first + 1)))
        connection.executemany(
            "INSERT INTO envelopes (id, received_at, project_id, endpoint, event_id, headers,"
            " raw, public_key) VALUES (?, ?, 1, 'envelope', ?, '{}', ?, ?)",
            [(r[0], r[1], r[2], r[8], KEY) for r in rows],
        )
        connection.executemany(
            "INSERT INTO items (id, envelope_id, project_id, received_at, idx, type, headers,"
            " payload_offset, length, event_id, public_key)"
            " VALUES (?, ?, 1, ?, 0, ?, '{}', ?, ?, ?, ?)",
            [(r[0], r[0], r[1], r[3], r[9], r[10], r[2], KEY) for r in rows],
        )
        connection.executemany(
            "INSERT INTO events (item_id, project_id, received_at, event_id, type, level,"
            " release, environment, transaction_name, timestamp, duration, platform, stored,"
            " fingerprint, user_id, trace_id, span_id, transaction_op, start_timestamp,"
            " spans_pending)"
            " VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'python', ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[1], r[11], r[8][r[9] :])
                + (r[13], r[14])
                + r[15]
                for r in rows
            ],
        )
        connection.executemany(
            "INSERT INTO tags (item_id, key, value) VALUES (?, 'customer.tier', ?)",
            [(r[0], r[12]) for r in rows],
        )
    connection.execute("COMMIT")
    migrate(connection)
    connection.execute("ANALYZE")
    connection.close()


def _rows(rng: random.Random, first: int, count: int) -> Iterator[tuple]:
    now = time.time()
    for item_id in range(first, first + count):
        event_id = uuid.UUID(int=rng.getrandbits(128)).hex
        transaction = rng.choice(TRANSACTIONS)
        environment, release = rng.choice(ENVIRONMENTS), rng.choice(RELEASES)
        is_error = rng.random() < 0.3
        kind, level = ("error", "error") if is_error else ("transaction", "info")
        duration = None if is_error else rng.lognormvariate(4.5, 0.8)
        tier = rng.choice(["free", "pro", "enterprise"])
        timestamp = now - (first + count - item_id)
        # Spread as a real store's are, so the planner's statistics see selective indexes.
        trace_id = uuid.UUID(int=rng.getrandbits(128)).hex
        user_id = str(rng.randrange(USERS))
        event = {
            "event_id": event_id,
            "type": kind,
            "level": level,
            "platform": "python",
            "timestamp": timestamp,
            "release": release,
            "environment": environment,
            "transaction": transaction,
            "tags": {"customer.tier": tier},
            "user": {"id": user_id},
            "contexts": {"trace": {"trace_id": trace_id, "span_id": trace_id[:16]}},
        }
        if is_error:
            event["exception"] = {"values": [{"type": "ValueError", "value": "payment declined"}]}
            trace: tuple = (trace_id, None, None, None, None)
        else:
            start = timestamp - duration / 1000
            span_id = f"{item_id:016x}"
            event["start_timestamp"] = start
            event["contexts"] = {
                "trace": {"trace_id": trace_id, "span_id": span_id, "op": "http.server"}
            }
            event["spans"] = list(_child_spans(rng, trace_id, span_id, start, timestamp))
            trace = (trace_id, span_id, "http.server", start, 1)  # spans not yet rows
        payload = orjson.dumps(event)
        head = b'{}\n{"type":"%s","length":%d}\n' % (kind.encode(), len(payload))
        raw = head + payload
        yield (
            item_id,
            timestamp,
            event_id,
            kind,
            level,
            release,
            environment,
            transaction,
            raw,
            len(head),
            len(payload),
            duration,
            tier,
            hashlib.md5(f"{kind}:{transaction}".encode()).hexdigest(),  # one issue per both
            user_id,
            trace,
        )


def _child_spans(
    rng: random.Random, trace_id: str, parent: str, start: float, end: float
) -> Iterator[dict]:
    """A query, an outgoing request and a cache read inside the transaction."""
    step = (end - start) / 3
    for index, (op, description) in enumerate(
        [
            ("db.sql.query", f"SELECT * FROM {rng.choice(['orders', 'users', 'carts'])}"),
            ("http.client", "GET https://payments.invalid/charge"),
            ("cache.get", "cart:*"),
        ]
    ):
        yield {
            "trace_id": trace_id,
            "span_id": f"{rng.getrandbits(64):016x}",
            "parent_span_id": parent,
            "op": op,
            "description": description,
            "start_timestamp": start + index * step,
            "timestamp": start + (index + rng.random()) * step,
        }


def measure(url: str, repeats: int) -> dict:
    """Median and worst latency (ms) of each read a test author makes."""
    # The first span search over the whole 1M-event store makes the span rows of every
    # transaction in it (2.1M rows): most of a minute, where the client's default waits 30 s.
    client = StubClient(url, timeout=SPAN_EXPANSION_TIMEOUT)
    view = StubView(client)

    def filtered_list() -> None:
        client.events(LIST_QUERY, limit=100, order="desc")

    def grouped_p95() -> None:
        client.discover(GROUPED_FIELDS, query="event.type:transaction", sort=["transaction"])

    def span_search(after: int) -> Callable[[], object]:
        return lambda: client.discover(
            SPAN_FIELDS, SPAN_QUERY, sort=["span.description"], after=after
        )

    recent = span_search(max(0, client.cursor() - RECENT))
    return {
        "filtered_list_first_page": _timed(filtered_list, repeats),
        "grouped_p95_by_transaction": _timed(grouped_p95, max(3, repeats // 4)),
        # The span search over a test's own view (the newest events), then over the whole store:
        # the first time makes the span rows of the transactions it covers, the rest find them.
        "span_search_recent_first": _timed(recent, 1),
        "span_search_recent_repeated": _timed(recent, repeats),
        "span_search_all_first": _timed(span_search(0), 1),
        "span_search_all_repeated": _timed(span_search(0), max(3, repeats // 4)),
        "wait_for_fresh_event": _wait_for_fresh(url, view, repeats),
    }


def _wait_for_fresh(url: str, view: StubView, repeats: int) -> dict:
    """From the server acknowledging a new event to ``wait_for`` returning it."""
    import httpx  # the acknowledgement is a real ingest request, as the SDK makes it

    samples = []
    with httpx.Client(base_url=url) as http:
        for _ in range(repeats):
            view.cursor = view.client.cursor()
            event_id = uuid.uuid4().hex
            payload = orjson.dumps({"event_id": event_id, "message": "fresh", "level": "error"})
            body = b'{"event_id":"%s"}\n{"type":"event"}\n%s' % (event_id.encode(), payload)
            http.post(
                "/api/1/envelope/",
                content=body,
                headers={"X-Sentry-Auth": f"Sentry sentry_key={KEY}"},
            ).raise_for_status()
            started = time.perf_counter()
            view.wait_for(f"id:{event_id}", timeout=5)
            samples.append(time.perf_counter() - started)
    return _stats(samples)


def _timed(call: Callable[[], object], repeats: int) -> dict:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return _stats(samples)


def _stats(samples: list[float]) -> dict:
    return {
        "median_ms": round(statistics.median(samples) * 1000, 2),
        "max_ms": round(max(samples) * 1000, 2),
        "samples": len(samples),
    }


def run(sizes: list[int], workdir: Path, repeats: int) -> dict:
    results = {}
    for size in sizes:
        db = workdir / f"query-{size}.sqlite3"
        started = time.perf_counter()
        bulk_load(db, size)
        load_seconds = time.perf_counter() - started
        with BenchmarkServer("stub", db) as server:
            results[str(size)] = {
                "load_seconds": round(load_seconds, 1),
                **measure(server.url, repeats),
            }
        for path in workdir.glob(f"query-{size}.sqlite3*"):
            path.unlink()
    return results
