"""The functions compiled queries call that SQLite lacks; ``register`` adds them to a connection.

- ``stub_match(value, pattern, anchored)``: Sentry wildcard match, case-insensitive.
- ``stub_contains(value, needle)``: case-insensitive substring (Unicode-aware, unlike ``LIKE``).
- ``stub_title(...)``/``stub_message(...)``: Sentry's computed ``title`` and search message.
- ``stub_sql_table(op, description)``: the first table a ``db*`` span's SQL names.
- ``stub_quantile(value, level)``: aggregate, ClickHouse ``quantile`` for inputs up to its
  8192-value reservoir, i.e. linear interpolation at ``level * (n - 1)`` (R-7, numpy "linear").
"""

from __future__ import annotations

import math
import re
import sqlite3

from sentry_stub.query.wildcards import wildcard_regex

_SQL_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+[`\"\[]?([A-Za-z_][\w.$]*)", re.IGNORECASE)


def register(connection: sqlite3.Connection) -> None:
    """Make the functions available to queries on ``connection`` (cheap; safe to repeat)."""
    connection.create_function("stub_match", 3, _match, deterministic=True)
    connection.create_function("stub_contains", 2, _contains, deterministic=True)
    connection.create_function("stub_sql_table", 2, sql_table, deterministic=True)
    connection.create_function("stub_title", 5, title, deterministic=True)
    connection.create_function("stub_message", 5, search_message, deterministic=True)
    # typeshed describes one-argument aggregates only (step(value) -> finalize() -> int).
    connection.create_aggregate("stub_quantile", 2, _Quantile)  # type: ignore[arg-type]


def quantile(values: list[float], level: float) -> float | None:
    """Linear interpolation between the two nearest ranks, as ClickHouse computes it."""
    if not values:
        return None
    ordered = sorted(values)
    position = level * (len(ordered) - 1)
    lower = math.floor(position)
    fraction = position - lower
    if lower + 1 >= len(ordered):
        return float(ordered[lower])
    return ordered[lower] * (1 - fraction) + ordered[lower + 1] * fraction


def title(
    kind: str | None,
    transaction: str | None,
    message: str | None,
    exception_type: str | None,
    exception_value: str | None,
) -> str:
    """A transaction's name; an error's ``Type: value``; otherwise the message."""
    if kind == "transaction":
        return transaction or ""
    if exception_type:
        return f"{exception_type}: {exception_value}" if exception_value else exception_type
    return message or ""


def search_message(
    kind: str | None,
    transaction: str | None,
    message: str | None,
    exception_type: str | None,
    exception_value: str | None,
) -> str:
    """What ``message:`` and free text search: the message, plus the title if it adds to it."""
    if kind == "transaction":
        return transaction or ""
    heading = title(kind, transaction, message, exception_type, exception_value)
    text = message or ""
    return text if heading in text else f"{text} {heading}".strip()


def sql_table(op: str | None, description: str | None) -> str | None:
    if not op or not op.startswith("db") or not description:
        return None
    match = _SQL_TABLE.search(description)
    return match.group(1) if match else None


def _match(value: object, pattern: str, anchored: int) -> bool:
    if value is None:
        return False
    regex = wildcard_regex(pattern)
    found = regex.fullmatch(str(value)) if anchored else regex.search(str(value))
    return found is not None


def _contains(value: object, needle: str) -> bool:
    return value is not None and needle.casefold() in str(value).casefold()


class _Quantile:
    def __init__(self) -> None:
        self.values: list[float] = []
        self.level = 0.5

    def step(self, value: float | None, level: float) -> None:
        self.level = level
        if value is not None:
            self.values.append(value)

    def finalize(self) -> float | None:
        return quantile(self.values, self.level)
