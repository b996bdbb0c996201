"""The backend's database: stdlib ``sqlite3``, each query traced as a ``db.query`` span.

sentry-sdk has no sqlite3 integration, so the app opens the span itself and names the table in
``db.table``: the guide's "Slow Database Queries" search groups by it.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import sentry_sdk

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_sha256 TEXT NOT NULL,
    plan TEXT NOT NULL
)
"""
DEMO_USERS = (("ada", "correct-horse", "pro"), ("grace", "battery-staple", "free"))


class DatabaseConnectionError(RuntimeError):
    """The database could not be opened: the guide's "Database Connection Errors" alert."""


def password_digest(password: str) -> str:
    """A stand-in for a real password hash (use argon2 or bcrypt in a real app)."""
    return hashlib.sha256(password.encode()).hexdigest()


def prepare(path: Path) -> None:
    """Create the schema and the demo users, once."""
    with sqlite3.connect(path) as connection:
        connection.execute(SCHEMA)
        connection.executemany(
            "INSERT OR IGNORE INTO users (username, password_sha256, plan) VALUES (?, ?, ?)",
            [(name, password_digest(password), plan) for name, password, plan in DEMO_USERS],
        )
    connection.close()


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """Open the existing database at ``path``; it is never created behind the app's back."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=rw", uri=True)
    except sqlite3.OperationalError as error:
        raise DatabaseConnectionError(f"database connection failed: {error}") from error
    connection.row_factory = sqlite3.Row
    try:
        yield connection
    finally:
        connection.close()


def query(
    connection: sqlite3.Connection, table: str, sql: str, parameters: Sequence[object] = ()
) -> list[sqlite3.Row]:
    """Run ``sql`` (which reads ``table``) inside a ``db.query`` span."""
    with sentry_sdk.start_span(op="db.query", name=sql) as span:
        span.set_data("db.system", "sqlite")
        span.set_data("db.table", table)
        rows = connection.execute(sql, parameters).fetchall()
        span.set_data("db.rows", len(rows))
    return rows
