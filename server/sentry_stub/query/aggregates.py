"""Discover's aggregate functions (spec section 3) as SQL aggregate expressions.

A function string such as ``p95(transaction.duration)`` resolves to an ``Aggregate``: its SQL
(with bound parameters), its result type and Sentry's function alias (``p95_transaction_duration``,
accepted in ``sort``). Percentiles use the ``stub_quantile`` aggregate registered by
``sqlite_functions``: linear interpolation at ``level * (n - 1)``, which is what ClickHouse's
``quantile`` computes for fewer than 8192 values (more than a test ever sends).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sentry_stub.query.errors import InvalidQueryError
from sentry_stub.query.fields import (
    DATE,
    DURATION,
    INTEGER,
    NUMBER,
    NUMERIC_TYPES,
    PERCENTAGE,
    Dataset,
    Field,
    resolve_field,
)
from sentry_stub.query.values import parse_duration, parse_number

from ..storage.placeholders import placeholders

PERCENTILE_LEVELS = {"p50": 0.5, "p75": 0.75, "p90": 0.9, "p95": 0.95, "p99": 0.99}
NON_FAILURE_STATUSES = ("ok", "cancelled", "unknown", "unknown_error")
DEFAULT_APDEX_THRESHOLD_MS = 300.0
COUNT_IF_OPERATORS = {
    "equals": "=",
    "notEquals": "!=",
    "less": "<",
    "greater": ">",
    "lessOrEquals": "<=",
    "greaterOrEquals": ">=",
}

_CALL = re.compile(r"\s*([a-zA-Z_][a-zA-Z0-9_]*)\((.*)\)\s*", re.DOTALL)


@dataclass(frozen=True)
class Aggregate:
    text: str  # as requested: the key of the result column
    sql: str
    params: tuple[object, ...]
    type: str
    alias: str  # Sentry's function alias, e.g. count, avg_transaction_duration


def is_function(text: str) -> bool:
    """Whether a field string is a function call rather than a plain field."""
    return _CALL.fullmatch(text) is not None


def function_alias(text: str) -> str:
    """Sentry's alias: ``name_arg1_arg2`` with every non-word character turned into ``_``."""
    name, arguments = split_call(text)
    return re.sub(r"\W", "_", "_".join((name, *arguments))).strip("_")


def resolve_aggregate(text: str, dataset: Dataset) -> Aggregate:
    """The aggregate a function string means; ``InvalidQueryError`` names what is wrong."""
    name, arguments = split_call(text)
    builder = _FUNCTIONS.get(name)
    if builder is None:
        known = ", ".join(sorted(_FUNCTIONS))
        raise InvalidQueryError(f"Unknown function {name}() in {text!r}; known: {known}")
    sql, params, kind = builder(_Arguments(text, name, arguments, dataset))
    return Aggregate(text, sql, tuple(params), kind, function_alias(text))


def split_call(text: str) -> tuple[str, tuple[str, ...]]:
    """``avg(span.duration)`` -> ("avg", ("span.duration",)); ``InvalidQueryError`` otherwise."""
    match = _CALL.fullmatch(text)
    if match is None:
        raise InvalidQueryError(f"{text!r} is not a function call")
    name, inside = match.groups()
    arguments = tuple(argument.strip() for argument in inside.split(","))
    return name, () if arguments == ("",) else arguments


@dataclass(frozen=True)
class _Arguments:
    """A call's arguments with the checks every function needs, phrased for the user."""

    text: str
    name: str
    values: tuple[str, ...]
    dataset: Dataset

    def expect(self, low: int, high: int) -> None:
        if not low <= len(self.values) <= high:
            wanted = str(low) if low == high else f"{low} to {high}"
            raise InvalidQueryError(
                f"{self.name}() takes {wanted} argument(s), got {len(self.values)} in {self.text!r}"
            )

    def field(
        self, index: int, default: str | None = None, *, allowed: tuple[str, ...] = NUMERIC_TYPES
    ) -> Field:
        name = self.values[index] if index < len(self.values) else default
        if name is None:
            raise InvalidQueryError(f"{self.name}() needs a field in {self.text!r}")
        field = resolve_field(name, self.dataset)
        if allowed and field.type not in allowed:
            raise InvalidQueryError(
                f"{self.name}() needs a numeric field, but {name} is a {field.type}"
                f" in {self.text!r}"
            )
        return field

    def number(self, index: int, default: float | None = None) -> float:
        if index >= len(self.values):
            if default is None:
                raise InvalidQueryError(f"{self.name}() needs a number in {self.text!r}")
            return default
        try:
            return parse_number(self.values[index])
        except ValueError as error:
            raise InvalidQueryError(f"{error} in {self.text!r}") from None


_Built = tuple[str, list[object], str]


def _count(call: _Arguments) -> _Built:
    return "COUNT(*)", [], INTEGER  # Sentry ignores count()'s argument


def _count_unique(call: _Arguments) -> _Built:
    call.expect(1, 1)
    field = call.field(0, allowed=())
    return f"COUNT(DISTINCT {field.sql})", list(field.params), INTEGER


def _simple(
    sql_function: str, result_type: Callable[[str], str], allowed: tuple[str, ...] = NUMERIC_TYPES
) -> Callable[[_Arguments], _Built]:
    def build(call: _Arguments) -> _Built:
        call.expect(1, 1)
        field = call.field(0, allowed=allowed)
        return f"{sql_function}({field.sql})", list(field.params), result_type(field.type)

    return build


def _quantile(call: _Arguments, level: float, field: Field) -> _Built:
    if not 0 <= level <= 1:
        raise InvalidQueryError(f"The percentile must be between 0 and 1 in {call.text!r}")
    return f"stub_quantile({field.sql}, ?)", [*field.params, level], _percentile_type(field.type)


def _fixed_percentile(level: float) -> Callable[[_Arguments], _Built]:
    def build(call: _Arguments) -> _Built:
        call.expect(0, 1)
        return _quantile(call, level, call.field(0, "transaction.duration"))

    return build


def _percentile(call: _Arguments) -> _Built:
    call.expect(2, 2)
    return _quantile(call, call.number(1), call.field(0))


def _p100(call: _Arguments) -> _Built:
    call.expect(0, 1)
    field = call.field(0, "transaction.duration")
    return f"MAX({field.sql})", list(field.params), _percentile_type(field.type)


def _failure_flags(call: _Arguments) -> tuple[str, list[object]]:
    """1 for a transaction whose status counts as a failure, else 0."""
    status = resolve_field("transaction.status", call.dataset)
    marks = placeholders(NON_FAILURE_STATUSES)
    sql = f"CASE WHEN {status.sql} NOT IN ({marks}) THEN 1 ELSE 0 END"
    return sql, [*status.params, *NON_FAILURE_STATUSES]


def _failure_count(call: _Arguments) -> _Built:
    call.expect(0, 0)
    flags, params = _failure_flags(call)
    return f"SUM({flags})", params, INTEGER


def _failure_rate(call: _Arguments) -> _Built:
    call.expect(0, 0)
    flags, params = _failure_flags(call)
    return f"CAST(SUM({flags}) AS REAL) / NULLIF(COUNT(*), 0)", params, PERCENTAGE


def _apdex(call: _Arguments) -> _Built:
    """Apdex: (satisfied + tolerated/2) / total, for d <= T, T < d <= 4T and d >= 0."""
    call.expect(0, 1)
    threshold = call.number(0, DEFAULT_APDEX_THRESHOLD_MS)
    if threshold <= 0:
        raise InvalidQueryError(f"apdex() needs a positive threshold in {call.text!r}")
    duration = resolve_field("transaction.duration", call.dataset)
    d = duration.sql
    score = f"CASE WHEN {d} < 0 THEN 0.0 WHEN {d} <= ? THEN 1.0 WHEN {d} <= ? THEN 0.5 ELSE 0.0 END"
    total = f"SUM(CASE WHEN {d} >= 0 THEN 1 ELSE 0 END)"
    p = list(duration.params)
    params = [*p, *p, threshold, *p, 4 * threshold, *p]
    return f"coalesce(SUM({score}) / NULLIF({total}, 0), 0.0)", params, NUMBER


def _last_seen(call: _Arguments) -> _Built:
    call.expect(0, 0)
    timestamp = resolve_field("timestamp", call.dataset)
    return f"MAX({timestamp.sql})", list(timestamp.params), DATE


def _count_if(call: _Arguments) -> _Built:
    call.expect(3, 3)
    field = call.field(0, allowed=())
    operator = COUNT_IF_OPERATORS.get(call.values[1])
    if operator is None:
        known = ", ".join(COUNT_IF_OPERATORS)
        raise InvalidQueryError(f"count_if() operator must be one of {known} in {call.text!r}")
    raw = call.values[2]
    try:
        value: object = (
            parse_duration(raw)
            if field.type == DURATION
            else parse_number(raw)
            if field.type in NUMERIC_TYPES
            else raw
        )
    except ValueError as error:
        raise InvalidQueryError(f"{error} in {call.text!r}") from None
    sql = f"SUM(CASE WHEN {field.sql} {operator} ? THEN 1 ELSE 0 END)"
    return sql, [*field.params, value], INTEGER


def _same(kind: str) -> str:
    return kind


def _average(kind: str) -> str:
    return DURATION if kind == DURATION else NUMBER


def _percentile_type(kind: str) -> str:
    return DURATION if kind == DURATION else NUMBER


_FUNCTIONS: dict[str, Callable[[_Arguments], _Built]] = {
    "count": _count,
    "count_unique": _count_unique,
    "count_if": _count_if,
    "avg": _simple("AVG", _average),
    "sum": _simple("SUM", _same),
    "min": _simple("MIN", _same, allowed=(*NUMERIC_TYPES, DATE)),
    "max": _simple("MAX", _same, allowed=(*NUMERIC_TYPES, DATE)),
    **{name: _fixed_percentile(level) for name, level in PERCENTILE_LEVELS.items()},
    "p100": _p100,
    "percentile": _percentile,
    "failure_count": _failure_count,
    "failure_rate": _failure_rate,
    "apdex": _apdex,
    "last_seen": _last_seen,
}

FUNCTION_NAMES = frozenset(_FUNCTIONS)
