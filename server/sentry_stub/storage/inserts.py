"""Rows given as dicts, inserted with parameterized SQL (column names are the code's)."""

from __future__ import annotations

import sqlite3
from typing import Any

from .placeholders import placeholders


def insert(connection: sqlite3.Connection, table: str, row: dict[str, Any]) -> int:
    columns = ", ".join(row)
    marks = placeholders(row)
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
        marks = placeholders(columns)
        connection.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", values
        )


class RowBatch:
    """Rows of many envelopes held back and written with one ``executemany`` per table.

    ``items`` rows get their ids here, before they are written (the rows derived from an item
    name it): the writer is the only one inserting, so they are the ids SQLite would give.
    ``mark`` and ``truncate`` drop what one envelope added when its derivation fails.
    """

    def __init__(self, connection: sqlite3.Connection):
        self.connection = connection
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self._written: dict[str, int] = {}  # rows of each table flushed so far
        self._last_item_id: int | None = None

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.rows.setdefault(table, []).append(row)

    def item_id(self) -> int:
        """The id of the next ``items`` row added."""
        if self._last_item_id is None:
            query = "SELECT COALESCE(MAX(id), 0) FROM items"
            self._last_item_id = self.connection.execute(query).fetchone()[0]
        self._last_item_id += 1
        return self._last_item_id

    def mark(self) -> tuple[dict[str, int], int | None]:
        """Where the batch stands: rows added to each table so far, the last item id given."""
        added = {
            table: self._written.get(table, 0) + len(rows) for table, rows in self.rows.items()
        }
        return added, self._last_item_id

    def truncate(self, mark: tuple[dict[str, int], int | None]) -> None:
        """Drop the rows added since ``mark`` (any flushed since, the caller's savepoint undid)."""
        added, self._last_item_id = mark
        for table, rows in self.rows.items():
            del rows[max(0, added.get(table, 0) - self._written.get(table, 0)) :]

    def flush(self) -> None:
        """Write every row held, in the order added, one statement per table."""
        for table, rows in self.rows.items():
            if not rows:
                continue
            columns = list(dict.fromkeys(column for row in rows for column in row))
            marks = placeholders(columns)
            self.connection.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                [tuple(map(row.get, columns)) for row in rows],
            )
            self._written[table] = self._written.get(table, 0) + len(rows)
        self.rows.clear()
