"""Every declared index is used by a query plan of what the server runs (issue 15.4).

An index costs every derived envelope its upkeep, so one that no plan takes is dropped. These
tests run the reads a test suite makes, and the writes that come with them (derivation, the
lazy span expansion, issues and alert rules, the web API, forwarding, reset), through a real
in-process server; they record every statement SQLite runs on the server's connections and ask
SQLite for the plan of each. Twice: the suite's reads on the store they made, which has no
statistics like every store the server keeps (SQLite then plans by its built-in estimates, the
same at any size), and the query benchmark's reads on its bulk-loaded store after ``ANALYZE``
(the plans of the 1M-event benchmark). An index either run's plans use is kept.

Indexes that enforce a constraint (primary keys, ``UNIQUE``) are exempt: they are not there
for speed.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from benchmarks import queries
from sentry_stub import StubServer
from sentry_stub.client import StubClient
from sentry_stub.query import sqlite_functions
from sentry_stub.storage.schema import connect
from sentry_stub.view import StubView
from tests.sending import envelope_bytes
from tests.test_sourcemaps_api import ORG, RELEASE, URL, js_error, upload_bundle
from tests.test_webapi import HEADERS, api

FIXTURES = Path(__file__).parent / "fixtures"
KEY, OTHER_KEY = "a1" * 16, "b2" * 16
HOOK = "http://127.0.0.1:9/hook"  # nothing listens: each delivery fails at once
CONFIG = f"""
[server]
auth_tokens = ["test-token"]

[[projects]]
slug = "app"
id = 1
keys = ["{KEY}"]
forward_to = "http://{"c3" * 16}@127.0.0.1:9/1"

[[projects]]
slug = "other"
id = 2
keys = ["{OTHER_KEY}"]

[[alerts]]
name = "frequent"
conditions = [{{ id = "event_frequency", value = 0, interval = "1h" }}]
actions = [{{ id = "webhook", url = "{HOOK}" }}]

[[alerts]]
name = "many users"
conditions = [{{ id = "event_unique_user_frequency", value = 0, interval = "1h" }}]

[[metric_alerts]]
name = "slow"
aggregate = "p95(transaction.duration)"
dataset = "transactions"
query = "transaction:/api/*"
triggers = [
  {{ label = "critical", alert_threshold = 1, actions = [{{ id = "webhook", url = "{HOOK}" }}] }},
]

[[metric_alerts]]
name = "slow queries"
aggregate = "count()"
dataset = "transactions"
query = "span.op:db.sql.query"
triggers = [{{ label = "critical", alert_threshold = 1 }}]
"""
USING_INDEX = re.compile(r"USING (?:COVERING )?INDEX (\w+)")
# A whole-index scan is a use only when it gives the order a statement asks for; otherwise the
# index merely stands in for its smaller table (``SELECT id, slug FROM projects``).
ORDERED = re.compile(r"\b(?:ORDER BY|GROUP BY|DISTINCT)\b", re.IGNORECASE)
PLANNED = ("SELECT", "WITH", "UPDATE", "DELETE", "INSERT", "REPLACE")
BENCHMARK_EVENTS = 10_000
NEXTJS_TRACE = "7785a46fea044fee82f899fc602ba9e8"  # the trace of the logs fixture
DEBUG_ID = "c0ffee00-0000-4000-8000-000000000001"


@contextlib.contextmanager
def traced_statements(path: Path) -> Iterator[set[str]]:
    """Every statement run on a connection to ``path`` opened inside the block (the server's
    writer and readers open theirs through ``sqlite3.connect``), its parameters filled in."""
    statements: set[str] = set()
    opened = sqlite3.connect

    def traced(database: str, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection = opened(database, *args, **kwargs)
        if Path(database) == path:  # the store's, not another database's
            connection.set_trace_callback(statements.add)
        return connection

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sqlite3, "connect", traced)
        yield statements


def indexes_used(connection: sqlite3.Connection, statements: set[str]) -> set[str]:
    """The indexes the plans of ``statements`` use on ``connection``'s store."""
    used: set[str] = set()
    for sql in statements:
        if sql.lstrip("( ").split(None, 1)[0].upper() not in PLANNED:
            continue
        try:
            plan = connection.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
        except sqlite3.OperationalError as error:
            # a table made and dropped again: sqlite-utils' probe of what SQLite supports
            if not str(error).startswith("no such table: "):
                raise
            continue
        for *_, detail in plan:
            if detail.startswith("SEARCH") or ORDERED.search(sql):
                used.update(USING_INDEX.findall(detail))
    return used


def declared_indexes(connection: sqlite3.Connection) -> set[str]:
    """The store's indexes made by ``CREATE INDEX``, unique ones left out (a constraint)."""
    tables = [
        name
        for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    ]
    return {
        name
        for table in tables
        for _, name, unique, origin, _ in connection.execute(f"PRAGMA index_list('{table}')")
        if origin == "c" and not unique
    }


def planned(path: Path) -> sqlite3.Connection:
    """A connection to ``path`` that knows the SQL functions the server's queries call."""
    connection = connect(str(path))
    sqlite_functions.register(connection)
    return connection


def unused(path: Path, statements: set[str]) -> set[str]:
    """The indexes of the store at ``path`` that no plan of ``statements`` uses."""
    with contextlib.closing(planned(path)) as connection:
        return declared_indexes(connection) - indexes_used(connection, statements)


# --- what a test suite reads ---------------------------------------------------------------


def post(url: str, body: bytes, key: str = KEY, project: int = 1) -> None:
    """Envelope bytes as an SDK posts them; the damaged fixtures may be refused."""
    httpx.post(
        f"{url}/api/{project}/envelope/",
        content=body,
        headers={"X-Sentry-Auth": f"Sentry sentry_key={key}, sentry_version=7"},
    )


def envelope(*items: tuple[dict, dict], event_id: str | None = None) -> bytes:
    return envelope_bytes({"event_id": event_id} if event_id else {}, *items)


def transaction(index: int, trace_id: str) -> dict:
    span_id = f"{index + 1:016x}"
    return {
        "type": "transaction",
        "event_id": uuid.uuid4().hex,
        "transaction": f"/api/endpoint-{index % 3}",
        "environment": "production",
        "release": "shop@1.0.0",
        "start_timestamp": 1_700_000_000.0 + index,
        "timestamp": 1_700_000_000.5 + index,
        "user": {"id": str(index)},
        "contexts": {"trace": {"trace_id": trace_id, "span_id": span_id, "op": "http.server"}},
        "spans": [
            {
                "trace_id": trace_id,
                "span_id": f"{index + 100:016x}",
                "parent_span_id": span_id,
                "op": "db.sql.query",
                "description": "SELECT * FROM orders",
                "start_timestamp": 1_700_000_000.1 + index,
                "timestamp": 1_700_000_000.3 + index,
            }
        ],
    }


def error(index: int, trace_id: str) -> dict:
    return {
        "event_id": uuid.uuid4().hex,
        "level": "error",
        "environment": "production" if index % 2 else "staging",
        "release": "shop@1.0.0",
        "tags": {"customer.tier": "pro"},
        "user": {"id": str(index), "email": f"user{index}@example.com"},
        "contexts": {"trace": {"trace_id": trace_id, "span_id": f"{index + 7:016x}"}},
        "exception": {"values": [{"type": "ValueError", "value": f"payment declined {index % 2}"}]},
    }


def send_everything(url: str) -> list[str]:
    """Fixture envelopes and events, errors and transactions of a few traces, a check-in, a
    client report, a session, a debug-id JavaScript event and another project's event; the
    error event ids."""
    for path in sorted((FIXTURES / "envelopes").glob("*.envelope")):
        post(url, path.read_bytes())
    for path in sorted((FIXTURES / "events").glob("*.json")):
        post(url, envelope(({"type": "event"}, json.loads(path.read_text()))))
    event_ids = []
    for index in range(6):
        trace_id = f"{index % 2 + 1:032x}"
        failure = error(index, trace_id)
        event_ids.append(failure["event_id"])
        post(url, envelope(({"type": "event"}, failure), event_id=failure["event_id"]))
        post(url, envelope(({"type": "transaction"}, transaction(index, trace_id))))
    report = {
        "discarded_events": [{"reason": "sample_rate", "category": "transaction", "quantity": 3}]
    }
    session = {
        "sid": uuid.uuid4().hex,
        "status": "ok",
        "init": True,
        "attrs": {"release": "shop@1.0.0"},
    }
    post(url, envelope(({"type": "client_report"}, report), ({"type": "session"}, session)))
    httpx.get(f"{url}/api/1/cron/nightly/{KEY}/", params={"status": "ok"})
    debug_event = js_error(RELEASE)
    debug_event["debug_meta"] = {
        "images": [{"type": "sourcemap", "code_file": URL, "debug_id": DEBUG_ID}]
    }
    post(url, envelope(({"type": "event"}, debug_event)))
    post(url, envelope(({"type": "event"}, error(99, f"{3:032x}"))), OTHER_KEY, 2)
    return event_ids


def use_the_web_api(url: str) -> None:
    """Releases, deploys, files and a source map bundle, as sentry-cli sends them."""
    upload_bundle(url, "app")
    with httpx.Client(base_url=url, headers=HEADERS) as http:
        releases = f"{api(ORG)}/releases/"
        http.post(releases, json={"version": "shop@1.0.0", "projects": ["app"]})
        http.put(f"{releases}shop@1.0.0/", json={"dateReleased": "2024-01-01T00:00:00Z"})
        http.post(f"{releases}shop@1.0.0/deploys/", json={"environment": "production"})
        http.get(f"{releases}shop@1.0.0/deploys/")
        http.post(
            f"{releases}shop@1.0.0/files/",
            files={"file": ("app.js", b"x")},
            data={"name": "~/app.js"},
        )
        http.get(f"{releases}shop@1.0.0/files/")
        http.get(f"{releases}shop@1.0.0/previous-with-commits/")
        http.get(releases)


def read_everything(client: StubClient, event_ids: list[str]) -> None:
    """The public query API, as the plugin's view, the CLI and the web UI call it."""
    view = StubView(client)
    view.cursor = 0  # the view of a test that sent it all
    cursor = client.cursor()
    client.wait(after=cursor - 1, timeout=1)
    view.wait_for(f"id:{event_ids[-1]}")
    for search in (
        "",
        "event.type:error environment:production release:shop@1.0.0",
        "customer.tier:pro",
        "user.id:3",
        "trace:" + f"{1:032x}",
        "payment declined",
        "has:user.email",
        "message:payment",
        "transaction:/api/*",
    ):
        client.events(search)
        client.events(search, order="desc", limit=100, project="app")
        client.explain(search)
    client.events(after=cursor // 2)
    client.scoped([KEY]).events("event.type:error")
    client.event(event_ids[0])
    client.envelopes()
    client.envelopes(after=cursor // 2, project="app")
    items = client.items(["event", "attachment"])
    client.items(project="app", content=True)
    httpx.get(f"{client.url}/stub/api/items/{items[0]['item_id']}/content")  # bytes, not JSON
    for kind in ("spans", "outcomes", "sessions", "check-ins", "logs"):
        client.rows(kind)
        client.rows(kind, after=cursor // 2, project="app")
    client.get("/stub/api/traces")
    client.get("/stub/api/traces", {"trace": f"{1:032x}"})
    for kind in ("logs", "spans"):
        client.get(f"/stub/api/rows/{kind}", {"trace": NEXTJS_TRACE})
    client.summary()
    client.discover(queries.GROUPED_FIELDS, "event.type:transaction", sort=["transaction"])
    client.discover(queries.SPAN_FIELDS, queries.SPAN_QUERY, sort=["span.description"])
    client.discover(["title", "count()", "count_unique(user)"], "event.type:error", project="app")
    client.pipe_query("event.type:error | count() by release | sort by count DESC")
    client.get(f"/api/0/organizations/{ORG}/events/", {"field": ["transaction", "count()"]})
    issues = client.issues()
    client.resolve_issue(issues[0]["id"])
    client.alerts()
    client.evaluate_alerts()
    client.owners_of_event(event_ids[0])
    client.releases()
    client.check_pii()
    client.check_sampling(1.0)
    client.check_releases()
    client.check_sourcemaps()
    client.forwards()
    exported = client.export_page()
    client.reset()
    client.import_records(exported["data"])


@pytest.fixture(scope="module")
def suite_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    """The store the suite's reads made and the statements the server ran for them."""
    path = tmp_path_factory.mktemp("suite") / "stub.sqlite3"
    config = path.with_name("stub.toml")
    config.write_text(CONFIG)
    with traced_statements(path) as statements, StubServer(db=path, config=config) as server:
        use_the_web_api(server.url)
        read_everything(StubClient(server.url), send_everything(server.url))
    return path, statements


@pytest.fixture(scope="module")
def benchmark_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    """The query benchmark's store (bulk-loaded, ANALYZEd) and the statements its reads ran."""
    path = tmp_path_factory.mktemp("benchmark") / "query.sqlite3"
    queries.bulk_load(path, BENCHMARK_EVENTS)
    with traced_statements(path) as statements, StubServer(db=path) as server:
        queries.measure(server.url, repeats=1)
    return path, statements


def test_every_index_is_used_by_a_query_plan(
    suite_store: tuple[Path, set[str]], benchmark_store: tuple[Path, set[str]]
) -> None:
    idle = unused(*suite_store) & unused(*benchmark_store)
    assert not idle, (
        f"no query plan uses the indexes {sorted(idle)}: drop them from the declarations "
        "(storage/schema.py, protocol/tables.py), or add to this test the query that uses them"
    )


def test_an_index_no_plan_uses_is_found(suite_store: tuple[Path, set[str]]) -> None:
    path, statements = suite_store
    with contextlib.closing(planned(path)) as connection:
        connection.execute("BEGIN")  # the index goes with the rollback
        connection.execute("CREATE INDEX idx_events_stored_error ON events (stored_error)")
        try:
            idle = declared_indexes(connection) - indexes_used(connection, statements)
        finally:
            connection.execute("ROLLBACK")
    assert "idx_events_stored_error" in idle
