"""A derived table is one declaration (protocol/tables.py): created by the schema, filled by the
derivation, served by the API under its kinds, documented in OpenAPI, read by the view; and no
other module lists the derived tables."""

from __future__ import annotations

import ast
import dataclasses
import sqlite3
from pathlib import Path

import httpx
import pytest

from sentry_stub import StubServer, StubView
from sentry_stub.processing.rows import Rows
from sentry_stub.protocol.tables import DERIVED_TABLES, ROW_KINDS, Table
from sentry_stub.storage.schema import TABLES, connect, migrate

from .sending import post_envelope

PACKAGE = Path(__file__).parent.parent / "server" / "sentry_stub"
DECLARATION = PACKAGE / "protocol" / "tables.py"


def _created(tmp_path: Path) -> sqlite3.Connection:
    connection = connect(str(tmp_path / "schema.sqlite3"))
    migrate(connection)
    return connection


@pytest.mark.parametrize("table", DERIVED_TABLES, ids=lambda t: t.name)
def test_a_declared_table_is_created_with_its_columns_and_indexes(
    table: Table, tmp_path: Path
) -> None:
    connection = _created(tmp_path)
    columns = [row[1] for row in connection.execute(f"PRAGMA table_info({table.name})")]
    assert columns == list(table.columns) == list(table.row_type.__annotations__)
    indexed = {
        tuple(row[2] for row in connection.execute(f"PRAGMA index_info({name})"))
        for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (table.name,)
        )
    }
    assert indexed == {index.columns for index in table.indexes}


def test_the_schema_holds_every_derived_table_once() -> None:
    assert [t for t in TABLES.values() if t.row_type is not None] == list(DERIVED_TABLES)


@pytest.mark.parametrize("table", DERIVED_TABLES, ids=lambda t: t.name)
def test_the_derivation_makes_rows_of_every_declared_table(table: Table) -> None:
    fields = {f.name for f in dataclasses.fields(Rows)}
    assert table.name in fields, f"processing/rows.py Rows has no list of {table.name} rows"


def test_every_kind_is_served_and_documented(server: StubServer) -> None:
    schema = httpx.get(f"{server.url}/stub/api/openapi.json").json()
    rows_path = schema["paths"]["/stub/api/rows/{kind}"]["get"]
    (kind_parameter,) = (p for p in rows_path["parameters"] if p["name"] == "kind")
    assert kind_parameter["schema"]["enum"] == list(ROW_KINDS)
    documented = schema["components"]["schemas"]
    for kind, table in ROW_KINDS.items():
        answer = httpx.get(f"{server.url}/stub/api/rows/{kind}")
        assert answer.status_code == 200, kind
        assert answer.json() == {"data": []}
        assert table.row_type is not None
        properties = documented[table.row_type.__name__]["properties"]
        exposed = {*table.columns, "project", *(alias.name for alias in table.aliases)}
        assert set(properties) == exposed


def test_an_unknown_kind_is_refused_naming_the_declared_ones(server: StubServer) -> None:
    answer = httpx.get(f"{server.url}/stub/api/rows/breadcrumbs")
    assert answer.status_code == 404
    assert answer.json()["detail"] == (
        f"unknown kind 'breadcrumbs'; expected one of {', '.join(ROW_KINDS)}"
    )


def test_the_view_reads_every_kind_and_refuses_others(view: StubView) -> None:
    for kind in ROW_KINDS:
        assert view.rows(kind) == []
    with pytest.raises(ValueError, match="unknown row kind 'span'; expected one of spans, "):
        view.rows("span")


def test_a_served_row_is_the_declared_row_with_its_aliases(
    server: StubServer, view: StubView
) -> None:
    """A span as stored, its JSON column parsed and Sentry's names for its segment added."""
    span = {
        "trace_id": "a" * 32,
        "span_id": "b" * 16,
        "op": "db",
        "start_timestamp": 1.0,
        "timestamp": 2.0,
        "data": {"db.system": "sqlite"},
    }
    post_envelope(server, {}, ({"type": "span"}, span))
    (span_row,) = view.rows("spans")
    assert span_row["op"] == "db"
    (row,) = view.client.rows("spans", after=view.cursor)
    assert set(row) == {*TABLES["spans"].columns, "project", "is_transaction", "segment_name"}
    assert row["data"] == {"db.system": "sqlite"}
    assert row["is_transaction"] is False
    assert row["op"] == "db"
    assert row["project_id"] == 1
    assert isinstance(row["project"], str)


def test_no_module_but_the_declaration_lists_the_derived_tables() -> None:
    """A tuple or set literal naming two or more derived tables is a second list of them."""
    names = {table.name for table in DERIVED_TABLES} | set(ROW_KINDS)
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path == DECLARATION:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Dict):
                elements = node.keys if isinstance(node, ast.Dict) else node.elts
                listed = {e.value for e in elements if isinstance(e, ast.Constant)} & names
                if len(listed) >= 2:
                    offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {sorted(listed)}")
    assert not offenders, offenders


def _indexes(connection: sqlite3.Connection) -> dict[str, str | None]:
    return dict(connection.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'"))


def test_migrating_drops_the_indexes_no_longer_declared(tmp_path: Path) -> None:
    connection = _created(tmp_path)
    connection.execute("CREATE INDEX idx_envelopes_event_id ON envelopes (event_id)")  # retired
    migrate(connection)
    names = _indexes(connection)
    assert "idx_envelopes_event_id" not in names
    # the partial index declared with the events table, and the keys' own indexes, stay
    assert {"events_spans_pending", "sqlite_autoindex_meta_1"} <= names.keys()


def test_migrating_leaves_indexes_the_stub_did_not_make(tmp_path: Path) -> None:
    connection = _created(tmp_path)
    connection.execute("CREATE TABLE my_notes (k TEXT)")
    connection.execute("CREATE INDEX my_notes_k ON my_notes (k)")
    connection.execute("CREATE INDEX my_events_by_time ON events (received_at)")
    migrate(connection)
    assert {"my_notes_k", "my_events_by_time"} <= _indexes(connection).keys()


def test_migrating_makes_an_index_declared_differently_again(tmp_path: Path) -> None:
    connection = _created(tmp_path)
    declared = _indexes(connection)
    connection.execute("DROP INDEX events_spans_pending")
    connection.execute(
        "CREATE INDEX events_spans_pending ON events (item_id) WHERE spans_pending = 2"
    )
    migrate(connection)
    assert _indexes(connection) == declared
    migrate(connection)  # and a database as declared is left as it is
    assert _indexes(connection) == declared
