"""The derived row tables, declared once: each one's row type, indexes and what the API serves.

A derived table holds the rows that processing makes of an item (spans, outcomes, sessions,
check-ins, logs). Its ``TypedDict`` is its column list: the schema creates the table from it,
the derivation inserts rows of it, the reader and ``/stub/api/rows/{kind}`` serve it under its
kinds, and the OpenAPI description documents it. A new derived table is one ``Table`` here
(and the derivation that fills it). The module is pure and light: the client imports it too.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict, get_args, get_type_hints

import orjson


class SpanRow(TypedDict, total=False):
    """Spans: children of transactions, standalone (legacy) spans and span v2 containers."""

    id: int
    item_id: int
    project_id: int
    received_at: float
    trace_id: str | None
    span_id: str | None
    parent_span_id: str | None
    segment_id: str | None
    is_segment: int | None
    op: str | None
    description: str | None
    status: str | None
    start_timestamp: float | None
    timestamp: float | None
    duration: float | None  # milliseconds
    transaction_name: str | None
    environment: str | None
    release: str | None
    data: str | None  # JSON: span data / attributes


class OutcomeRow(TypedDict, total=False):
    """Client reports, one row per counted outcome."""

    id: int
    item_id: int
    project_id: int
    received_at: float
    kind: str  # discarded_events, rate_limited_events, filtered_events, ...
    reason: str | None
    category: str | None
    quantity: int | None


class SessionRow(TypedDict, total=False):
    """Session updates (``session``) and aggregates (``sessions``, one row per bucket)."""

    id: int
    item_id: int
    project_id: int
    received_at: float
    aggregate: int
    sid: str | None
    did: str | None
    status: str | None
    init: int | None
    errors: int | None
    seq: int | None
    started: str | None
    timestamp: str | None
    duration: float | None
    release: str | None
    environment: str | None
    exited: int | None
    errored: int | None
    abnormal: int | None
    crashed: int | None
    unhandled: int | None


class CheckInRow(TypedDict, total=False):
    """Cron monitor check-ins."""

    id: int
    item_id: int
    project_id: int
    received_at: float
    check_in_id: str | None
    monitor_slug: str | None
    status: str | None
    duration: float | None
    release: str | None
    environment: str | None
    trace_id: str | None


class LogRow(TypedDict, total=False):
    """One log entry of a ``log`` container."""

    id: int
    item_id: int
    project_id: int
    received_at: float
    timestamp: float | None
    trace_id: str | None
    span_id: str | None
    level: str | None
    severity_number: int | None
    body: str | None
    environment: str | None
    release: str | None
    attributes: str | None  # JSON


@dataclass(frozen=True)
class Alias:
    """A field the API adds to each row under Sentry's name for a column (``as_bool``: as a
    boolean, not SQLite's 0/1)."""

    name: str
    column: str
    as_bool: bool = False


@dataclass(frozen=True)
class Index:
    """An index a query plan uses (``tests/test_index_usage.py`` checks that one does): its
    columns and, for a partial index, the condition of the rows it holds."""

    columns: tuple[str, ...]
    where: str = ""
    name: str = ""  # idx_<table>_<columns> unless given, as sqlite-utils names them


@dataclass(frozen=True)
class Table:
    """One SQLite table: its columns (name -> Python type, in order), key and indexes; for a
    derived table also its row type and how ``/stub/api/rows/{kind}`` serves it."""

    name: str
    columns: Mapping[str, type]
    primary_key: str = "id"
    indexes: tuple[Index, ...] = ()
    received: bool = False  # made from what was received: a reset deletes its rows
    row_type: type | None = None  # the TypedDict of a derived table
    kinds: tuple[str, ...] = ()  # its names under /stub/api/rows/; the first is its own
    json_columns: tuple[str, ...] = ()  # stored as JSON text, served parsed
    aliases: tuple[Alias, ...] = field(default=())

    @property
    def traced(self) -> bool:
        """Whether rows carry a trace id (``?trace=`` then selects one trace's rows)."""
        return "trace_id" in self.columns

    def api_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """A stored row as the API serves it: JSON columns parsed, aliases added."""
        for column in self.json_columns:
            text = record[column]
            record[column] = orjson.loads(text) if text else None
        for alias in self.aliases:
            value = record[alias.column]
            record[alias.name] = bool(value) if alias.as_bool else value
        return record

    def index_name(self, index: Index) -> str:
        return index.name or "_".join(("idx", self.name, *index.columns))


def derived_table(
    name: str,
    row_type: type,
    *,
    kinds: tuple[str, ...],
    indexes: tuple[Index, ...] = (),
    json_columns: tuple[str, ...] = (),
    aliases: tuple[Alias, ...] = (),
) -> Table:
    """A derived table whose columns are its row type's keys."""
    columns = {column: _stored_type(hint) for column, hint in get_type_hints(row_type).items()}
    return Table(
        name,
        columns,
        indexes=indexes,
        received=True,
        row_type=row_type,
        kinds=kinds,
        json_columns=json_columns,
        aliases=aliases,
    )


def _stored_type(hint: Any) -> type:
    """``str | None`` -> ``str``: every column but the key may be NULL."""
    if isinstance(hint, types.UnionType):
        (hint,) = (arg for arg in get_args(hint) if arg is not type(None))
    return hint


DERIVED_TABLES: tuple[Table, ...] = (
    derived_table(
        "spans",
        SpanRow,
        kinds=("spans",),
        indexes=(Index(("item_id",)), Index(("op",))),
        json_columns=("data",),
        # Sentry's names for the segment a span belongs to (its transaction, or the segment
        # span an SDK streamed instead of one).
        aliases=(
            Alias("is_transaction", "is_segment", as_bool=True),
            Alias("segment_name", "transaction_name"),
        ),
    ),
    derived_table(
        "outcomes",
        OutcomeRow,
        kinds=("outcomes", "client-reports"),
        indexes=(
            Index(("item_id",)),
            Index(("project_id", "id")),
            Index(("reason", "category")),
        ),
    ),
    derived_table("sessions", SessionRow, kinds=("sessions",), indexes=(Index(("item_id",)),)),
    derived_table(
        "check_ins",
        CheckInRow,
        kinds=("check-ins",),
        indexes=(Index(("item_id",)),),
    ),
    derived_table(
        "logs",
        LogRow,
        kinds=("logs",),
        indexes=(Index(("item_id",)), Index(("trace_id",)), Index(("project_id", "id"))),
        json_columns=("attributes",),
    ),
)

# Every name a derived table answers to under /stub/api/rows/{kind}.
ROW_KINDS: dict[str, Table] = {kind: table for table in DERIVED_TABLES for kind in table.kinds}
