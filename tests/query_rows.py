"""Rows for the query-engine tests, inserted with plain SQL into a fresh in-memory database."""

from __future__ import annotations

import itertools
import json
import sqlite3
from datetime import UTC, datetime

from sentry_stub.storage.schema import connect, migrate

_event_numbers = itertools.count(1)


def database(projects: dict[int, str] | None = None) -> sqlite3.Connection:
    connection = connect(":memory:")
    migrate(connection)
    for project_id, slug in (projects or {1: "backend"}).items():
        connection.execute("INSERT INTO projects (id, slug) VALUES (?, ?)", (project_id, slug))
    return connection


def at(iso: str) -> float:
    """Unix seconds of an ISO date-time written without a zone (UTC)."""
    return datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp()


def add_event(
    connection: sqlite3.Connection, *, tags: dict[str, str] | None = None, **columns: object
) -> int:
    """Insert one events row (defaults: an error in project 1) and its tags; return its item_id."""
    row = {
        "project_id": 1,
        "type": "error",
        "event_id": f"{next(_event_numbers):032x}",
        "timestamp": at("2024-05-01T10:00:00"),
        **columns,
    }
    names = ", ".join(row)
    marks = ", ".join("?" * len(row))
    cursor = connection.execute(
        f"INSERT INTO events ({names}) VALUES ({marks})", list(row.values())
    )
    item_id = cursor.lastrowid
    for key, value in (tags or {}).items():
        connection.execute(
            "INSERT INTO tags (item_id, key, value) VALUES (?, ?, ?)", (item_id, key, value)
        )
    return item_id


def add_transaction(connection: sqlite3.Connection, name: str, duration: float, **columns) -> int:
    return add_event(
        connection, type="transaction", transaction_name=name, duration=duration, **columns
    )


def add_span(
    connection: sqlite3.Connection, item_id: int, op: str, *, data: dict | None = None, **columns
) -> None:
    """A span inside the transaction stored as ``item_id``."""
    row = {
        "item_id": item_id,
        "project_id": 1,
        "op": op,
        "data": json.dumps(data) if data is not None else None,
        **columns,
    }
    names = ", ".join(row)
    marks = ", ".join("?" * len(row))
    connection.execute(f"INSERT INTO spans ({names}) VALUES ({marks})", list(row.values()))
