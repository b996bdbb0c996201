"""Rows read back as dicts keyed by column name, and JSON columns decoded.

``dict_rows`` serves the reads that hand records on much as they are stored (releases, files,
deploys, issues, alert firings and their action results); ``json_column`` every read of a JSON
column that may be empty.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson


def dict_rows(connection: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[dict]:
    """The rows of ``sql`` as dicts keyed by column name."""
    cursor = connection.execute(sql, tuple(params))
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def json_column(text: str | bytes | None, default: Any = None) -> Any:
    """A JSON column's value; ``default`` where it is empty (NULL or '')."""
    return orjson.loads(text) if text else default
