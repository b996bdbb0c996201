"""Rows given as dicts, inserted with parameterized SQL (column names are the code's)."""

from __future__ import annotations

import sqlite3
from typing import Any


def insert(connection: sqlite3.Connection, table: str, row: dict[str, Any]) -> int:
    columns = ", ".join(row)
    marks = ", ".join("?" * len(row))
    cursor = connection.execute(
        f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(row.values())
    )
    return cursor.lastrowid or 0


def insert_many(connection: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """Rows of one table at once; rows with the same columns share one statement."""
    by_columns: dict[tuple[str, ...], list[tuple]] = {}
    for row in rows:
        by_columns.setdefault(tuple(row), []).append(tuple(row.values()))
    for columns, values in by_columns.items():
        marks = ", ".join("?" * len(columns))
        connection.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", values
        )
