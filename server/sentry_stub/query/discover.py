"""Discover over SQLite: the answer Sentry's organization ``events`` endpoint gives.

``run_discover`` takes what that endpoint takes (fields, query, sort, projects, environments,
time range, paging) and answers ``{"data": [...], "meta": {"fields", "units"}, "warnings"}``,
with row keys exactly the requested field strings. Every plain field is grouped by when any
aggregate is requested, as in Sentry. Rows come from events, or from spans inside transactions
when a span field is named (see ``fields``). After the requested sort (or without one), rows
are ordered by their group values ascending, or plain rows by receive order, so answers are
deterministic. ``search_events`` is the plain event list (item ids) behind the pytest
plugin's ``events()``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sentry_stub.query import sqlite_functions
from sentry_stub.query.aggregates import is_function, resolve_aggregate, split_call
from sentry_stub.query.compile import Compiled, compile_query
from sentry_stub.query.errors import InvalidQueryError
from sentry_stub.query.fields import (
    ARRAY,
    BOOLEAN,
    DATE,
    DURATION,
    EVENTS,
    INTEGER,
    SPANS,
    STRING,
    Dataset,
    needs_spans,
    resolve_field,
)
from sentry_stub.query.grammar import AggregateFilter, Filter, Has, Node, leaves, parse_query
from sentry_stub.query.values import parse_date, parse_stats_period
from sentry_stub.storage.schema import INT64_MAX

from ..storage.placeholders import placeholders

Moment = datetime | float | str


@dataclass(frozen=True)
class _Column:
    key: str  # the field string as requested
    sql: str
    params: tuple[object, ...]
    type: str
    alias: str | None  # Sentry's function alias, for aggregates
    aggregate: bool


def run_discover(
    conn: sqlite3.Connection,
    *,
    fields: Sequence[str],
    query: str = "",
    orderby: Sequence[str] | None = None,
    project_ids: Sequence[int] | None = None,
    environments: Sequence[str] | None = None,
    start: Moment | None = None,
    end: Moment | None = None,
    stats_period: str | None = None,
    limit: int = 50,
    offset: int = 0,
    min_item_id: int = 0,
    public_keys: Sequence[str] = (),
) -> dict:
    """Answer a Discover request; ``QuerySyntaxError``/``InvalidQueryError`` say what is wrong.

    ``start``/``end`` are datetimes, Unix seconds or ISO strings (end exclusive);
    ``stats_period`` (``24h``, ``14d``) counts back from now and ignores ``start``/``end``.
    ``min_item_id`` keeps rows received after that item (the plugin's per-test view).
    """
    requested = list(dict.fromkeys(fields))
    if not requested:
        raise InvalidQueryError("At least one field is required")
    node = parse_query(query)
    sorts = [_sort_key(text) for text in orderby or ()]
    dataset = _dataset(_names(requested, node, [key for key, _ in sorts]))
    columns = [_column(text, dataset) for text in requested]
    compiled = compile_query(node, dataset=dataset)
    scope, scope_params = _scope(
        dataset, project_ids, environments, start, end, stats_period, public_keys
    )
    sql = [
        "SELECT " + ", ".join(f"{column.sql} AS c{index}" for index, column in enumerate(columns)),
        f"FROM {dataset.source}",
        f"WHERE {dataset.item_id} > ? AND {scope} AND ({compiled.sql})",
    ]
    params: list[object] = [p for column in columns for p in column.params]
    params += [min_item_id, *scope_params, *compiled.params]
    grouped = [f"c{index}" for index, column in enumerate(columns) if not column.aggregate]
    aggregated = any(column.aggregate for column in columns)
    if aggregated and grouped:
        sql.append("GROUP BY " + ", ".join(grouped))
    if compiled.having_sql:
        if not aggregated and not grouped:
            raise InvalidQueryError("An aggregate filter needs at least one field")
        if not aggregated:
            sql.append("GROUP BY " + ", ".join(grouped))
        sql.append(f"HAVING {compiled.having_sql}")
        params += compiled.having_params
    sql.append("ORDER BY " + _order(columns, sorts, dataset, aggregated or compiled.having_sql))
    sql.append("LIMIT ? OFFSET ?")
    params += [_non_negative("limit", limit), _non_negative("offset", offset)]
    sqlite_functions.register(conn)
    rows = conn.execute("\n".join(sql), params).fetchall()
    return {
        "data": [
            {
                column.key: _output(value, column.type)
                for column, value in zip(columns, row, strict=True)
            }
            for row in rows
        ],
        "meta": {
            "fields": {column.key: column.type for column in columns},
            "units": {
                column.key: "millisecond" if column.type == DURATION else None for column in columns
            },
        },
        "warnings": list(compiled.warnings),
    }


def search_events(
    conn: sqlite3.Connection,
    query: str,
    *,
    project_ids: Sequence[int] | None = None,
    min_item_id: int = 0,
    limit: int | None = None,
    offset: int = 0,
    order: str = "asc",
    public_keys: Sequence[str] = (),
) -> list[int]:
    """``events.item_id`` of the events a search matches, in receive order (``order="desc"``
    for newest first). A span field matches events with such a span inside."""
    if order not in ("asc", "desc"):
        raise InvalidQueryError(f"order must be 'asc' or 'desc', not {order!r}")
    dataset, compiled = _event_search(query)
    scope, scope_params = _scope(dataset, project_ids, None, None, None, None, public_keys)
    sql = (
        f"SELECT DISTINCT e.item_id FROM {dataset.source}"
        f" WHERE e.item_id IS NOT NULL AND e.item_id > ? AND {scope} AND ({compiled.sql})"
        f" ORDER BY e.item_id {order.upper()} LIMIT ? OFFSET ?"
    )
    params = [min_item_id, *scope_params, *compiled.params]
    params += [-1 if limit is None else _non_negative("limit", limit)]
    params += [_non_negative("offset", offset)]
    sqlite_functions.register(conn)
    return [item_id for (item_id,) in conn.execute(sql, params)]


def event_search_warnings(query: str) -> list[str]:
    """The warnings of ``query`` as ``search_events`` runs it (``key:*``, tag-or-field, SQL...)."""
    return list(_event_search(query)[1].warnings)


def _event_search(query: str) -> tuple[Dataset, Compiled]:
    node = parse_query(query)
    if any(isinstance(leaf, AggregateFilter) for leaf in leaves(node)):
        raise InvalidQueryError("Aggregate filters such as count():>1 need a Discover query")
    dataset = _dataset(_names([], node, []))
    return dataset, compile_query(node, dataset=dataset)


def reads_spans(query: str, fields: Sequence[str] = (), orderby: Sequence[str] = ()) -> bool:
    """Whether a search (or a Discover request with ``fields``) reads span rows; a query that
    does not parse reads nothing (running it says why)."""
    try:
        sort_keys = [_sort_key(text)[0] for text in orderby]
        return _dataset(_names(fields, parse_query(query), sort_keys)) is SPANS
    except InvalidQueryError:
        return False


def _dataset(names: Iterator[str]) -> Dataset:
    """Spans when a name only makes sense per span, else events (see ``fields``)."""
    return SPANS if needs_spans(names) else EVENTS


def _names(fields: Sequence[str], node: Node | None, sort_keys: Sequence[str]) -> Iterator[str]:
    """Every field name a request mentions, inside functions and filters too."""
    for text in (*fields, *sort_keys):
        yield from split_call(text)[1] if is_function(text) else (text,)
    for leaf in leaves(node):
        if isinstance(leaf, Filter | Has):
            yield leaf.key
        elif isinstance(leaf, AggregateFilter):
            yield from split_call(leaf.function)[1]


def _column(text: str, dataset: Dataset) -> _Column:
    if is_function(text):
        aggregate = resolve_aggregate(text, dataset)
        return _Column(text, aggregate.sql, aggregate.params, aggregate.type, aggregate.alias, True)
    field = resolve_field(text, dataset)
    return _Column(text, field.sql, field.params, field.type, None, False)


def _sort_key(text: str) -> tuple[str, bool]:
    """``-count()`` -> ("count()", descending)."""
    stripped = text.strip()
    descending = stripped.startswith("-")
    return stripped.removeprefix("-").strip(), descending


def _order(
    columns: list[_Column], sorts: list[tuple[str, bool]], dataset: Dataset, grouped: object
) -> str:
    """The requested sort, then group values ascending (or receive order) to break ties."""
    terms = []
    for key, descending in sorts:
        index = next(
            (i for i, column in enumerate(columns) if key in (column.key, column.alias)), None
        )
        if index is None:
            selected = ", ".join(column.key for column in columns)
            raise InvalidQueryError(
                f"Cannot sort by {key!r}: sort by one of the selected fields ({selected})"
            )
        terms.append(f"c{index} {'DESC' if descending else 'ASC'} NULLS LAST")
    if not grouped:
        return ", ".join([*terms, f"{dataset.item_id} ASC"])
    groups = [f"c{i} ASC NULLS LAST" for i, column in enumerate(columns) if not column.aggregate]
    return ", ".join([*terms, *groups]) or "NULL"


def _scope(
    dataset: Dataset,
    project_ids: Sequence[int] | None,
    environments: Sequence[str] | None,
    start: Moment | None,
    end: Moment | None,
    stats_period: str | None,
    public_keys: Sequence[str] = (),
) -> tuple[str, list[object]]:
    """The request's projects, environments, time range and DSN keys as one condition."""
    conditions: list[str] = ["1"]
    params: list[object] = []
    if public_keys:
        conditions.append(
            f"{dataset.item_id} IN (SELECT id FROM items WHERE public_key IN "
            f"({placeholders(public_keys)}))"
        )
        params += list(public_keys)
    if project_ids:
        conditions.append(f"{dataset.project_id} IN ({placeholders(project_ids)})")
        params += [int(project_id) for project_id in project_ids]
    if environments:
        environment = resolve_field("environment", dataset)
        conditions.append(f"{environment.sql} IN ({placeholders(environments)})")
        params += [*environment.params, *environments]
    if stats_period:
        try:
            start, end = time.time() - parse_stats_period(stats_period), None
        except ValueError as error:
            raise InvalidQueryError(str(error)) from None
    timestamp = resolve_field("timestamp", dataset)
    for moment, operator in ((start, ">="), (end, "<")):
        if moment is not None:
            conditions.append(f"{timestamp.sql} {operator} ?")
            params += [*timestamp.params, _seconds(moment)]
    return " AND ".join(conditions), params


def _seconds(moment: Moment) -> float:
    if isinstance(moment, datetime):
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return aware.timestamp()
    if isinstance(moment, str):
        try:
            return parse_date(moment)
        except ValueError as error:
            raise InvalidQueryError(f"start/end: {error}") from None
    return float(moment)


def _non_negative(name: str, value: int) -> int:
    """``value`` checked for SQLite, whose integers stop at 2**63 - 1 (OverflowError past it)."""
    if not isinstance(value, int) or not 0 <= value <= INT64_MAX:
        raise InvalidQueryError(f"{name} must be an integer from 0 to {INT64_MAX}, not {value!r}")
    return value


def _output(value: int | float | str | bytes | None, kind: str) -> object:
    """A value as Discover serialises it: ISO dates, arrays for array columns, ints for counts."""
    if kind == ARRAY:
        return json.loads(value) if isinstance(value, str) and value.startswith("[") else []
    if value is None:
        return None
    if kind == DATE:
        return datetime.fromtimestamp(float(value), UTC).replace(microsecond=0).isoformat()
    if kind == INTEGER:
        return int(value)
    if kind == BOOLEAN:
        return bool(value)
    if isinstance(value, int | float) and kind != STRING:
        return float(value)
    return value
