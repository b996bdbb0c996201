"""Search tree -> parameterised SQL: a WHERE condition, and a HAVING one for aggregate filters.

User text only ever travels as a bound parameter; identifiers come from the field catalogue.
The SQL calls ``stub_match``/``stub_contains``/``stub_quantile``, so run it on a connection
prepared with ``sqlite_functions.register``.

Match semantics follow Sentry's Discover (spec 1.4): equality is case-sensitive; wildcards are
anchored and case-insensitive; ``message`` and free text are case-insensitive substrings;
negations also match rows where a nullable column is NULL; an operator on a text key is part of
the value (``tag:>5`` is the string ">5"); ``key:*`` matches every row when a missing value reads
as "" (tags, non-null columns), and the result carries a warning suggesting ``has:key``
(``warnings`` adds the others: field names taken as tags, SQL habits).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sentry_stub.query.aggregates import resolve_aggregate
from sentry_stub.query.errors import InvalidQueryError, QuerySyntaxError
from sentry_stub.query.fields import (
    ARRAY,
    BOOLEAN,
    DATE,
    DURATION,
    EVENTS,
    PERCENTAGE,
    TEXT_TYPES,
    Dataset,
    Field,
    resolve_field,
)
from sentry_stub.query.grammar import (
    AggregateFilter,
    And,
    FreeText,
    Has,
    Node,
    Or,
    parse_query,
)
from sentry_stub.query.grammar import Filter as SearchFilter
from sentry_stub.query.values import (
    parse_boolean,
    parse_date,
    parse_duration,
    parse_number,
    parse_percentage,
    parse_relative_date,
    specific_date_range,
)
from sentry_stub.query.warnings import search_warnings
from sentry_stub.query.wildcards import has_wildcard, unescape

from ..storage.placeholders import placeholders

NEGATED_OPERATORS = {"=": "!=", "!=": "=", ">": "<=", ">=": "<", "<": ">=", "<=": ">"}


@dataclass(frozen=True)
class Compiled:
    """SQL conditions over a dataset's rows; ``sql`` is ``"1"`` when nothing filters rows."""

    sql: str
    params: tuple[object, ...]
    warnings: tuple[str, ...]
    having_sql: str | None = None
    having_params: tuple[object, ...] = ()


@dataclass(frozen=True)
class _Sql:
    text: str
    params: tuple[object, ...]


def compile_query(
    query: str | Node | None, *, dataset: Dataset = EVENTS, now: float | None = None
) -> Compiled:
    """Compile a search (text or parsed) for ``dataset``; relative dates count back from ``now``.

    Raises ``QuerySyntaxError`` (with a column) for anything the query's author got wrong.
    """
    node = parse_query(query) if isinstance(query, str) else query
    compiler = _Compiler(dataset, time.time() if now is None else now)
    where, having = _split(node) if node is not None else (None, None)
    where_sql = compiler.condition(where) if where is not None else _Sql("1", ())
    having_sql = compiler.condition(having) if having is not None else None
    return Compiled(
        where_sql.text,
        where_sql.params,
        tuple(dict.fromkeys([*compiler.warnings, *search_warnings(node, dataset)])),
        having_sql.text if having_sql else None,
        having_sql.params if having_sql else (),
    )


def _split(node: Node) -> tuple[Node | None, Node | None]:
    """Separate row filters (WHERE) from aggregate filters (HAVING); OR may not mix them."""
    if isinstance(node, AggregateFilter):
        return None, node
    if isinstance(node, And):
        parts = [_split(term) for term in node.terms]
        return _and([w for w, _ in parts if w]), _and([h for _, h in parts if h])
    if isinstance(node, Or):
        parts = [_split(term) for term in node.terms]
        if all(having is None for _, having in parts):
            return node, None
        if all(where is None for where, _ in parts):
            return None, node
        raise QuerySyntaxError(
            "Having an OR between aggregate filters and normal filters is invalid", node.column
        )
    return node, None


def _and(nodes: list[Node]) -> Node | None:
    if not nodes:
        return None
    return nodes[0] if len(nodes) == 1 else And(tuple(nodes))


def _use(template: str, field: Field, *values: object) -> _Sql:
    """Fill ``{f}`` with the field's SQL and ``?`` with values, keeping parameters in order."""
    params: list[object] = []
    remaining = iter(values)
    for token in re.findall(r"\{f\}|\?", template):
        if token == "{f}":
            params.extend(field.params)
        else:
            params.append(next(remaining))
    return _Sql(template.replace("{f}", field.sql), tuple(params))


def _join(parts: Sequence[_Sql], word: str) -> _Sql:
    if len(parts) == 1:
        return parts[0]
    text = f" {word} ".join(part.text for part in parts)
    return _Sql(f"({text})", tuple(param for part in parts for param in part.params))


def _negate(condition: _Sql, field: Field) -> _Sql:
    """NOT, where a NULL column counts as "not matching" (Sentry ORs an isNull check)."""
    if not field.nullable:
        return _Sql(f"NOT ({condition.text})", condition.params)
    return _Sql(
        f"({field.sql} IS NULL OR NOT ({condition.text}))", (*field.params, *condition.params)
    )


class _Compiler:
    def __init__(self, dataset: Dataset, now: float) -> None:
        self.dataset = dataset
        self.now = now
        self.warnings: list[str] = []

    def condition(self, node: Node) -> _Sql:
        if isinstance(node, And):
            return _join([self.condition(term) for term in node.terms], "AND")
        if isinstance(node, Or):
            return _join([self.condition(term) for term in node.terms], "OR")
        if isinstance(node, FreeText):
            return self.text_match(self.field("message"), node.text, in_list=False)
        if isinstance(node, Has):
            return self.has(node)
        if isinstance(node, AggregateFilter):
            return self.aggregate_filter(node)
        return self.filter(node)

    def field(self, name: str) -> Field:
        field = resolve_field(name, self.dataset)
        if field.warning:
            self.warnings.append(field.warning)
        return field

    def has(self, node: Has) -> _Sql:
        field = self.field(node.key)
        template = "{f} IS NOT NULL" if field.type not in TEXT_TYPES else "coalesce({f}, '') != ''"
        if field.type == ARRAY:
            template = "coalesce(json_array_length({f}), 0) > 0"
        present = _use(template, field)
        return _Sql(f"NOT ({present.text})", present.params) if node.negated else present

    def filter(self, node: SearchFilter) -> _Sql:
        field = self.field(node.key)
        if field.type in TEXT_TYPES:
            return self.text_filter(node, field)
        if isinstance(node.value, tuple):
            return self.typed_list(node, field)
        if field.type == DATE:
            return self.date_filter(node, field, node.value)
        if field.type == BOOLEAN:
            value = self.parsed(node, parse_boolean, node.value)
            return self.comparison(node, field, "=", int(value))
        parse = parse_duration if field.type == DURATION else parse_number
        return self.comparison(node, field, node.operator, self.parsed(node, parse, node.value))

    def parsed(
        self, node: SearchFilter | AggregateFilter, parse: Callable[[str], Any], text: str
    ) -> Any:
        """``parse(text)``, its ValueError reported at the value's column."""
        try:
            return parse(text)
        except (ValueError, OverflowError) as error:
            raise QuerySyntaxError(str(error), node.value_column) from None

    def comparison(self, node: SearchFilter, field: Field, operator: str, value: object) -> _Sql:
        """A typed comparison; negation flips the operator as Sentry does (!> is <=)."""
        if node.negated:
            operator = NEGATED_OPERATORS[operator]
        if operator == "!=" and field.nullable:
            return _use("({f} IS NULL OR {f} != ?)", field, value)
        return _use(f"{{f}} {operator} ?", field, value)

    def typed_list(self, node: SearchFilter, field: Field) -> _Sql:
        if field.type == DATE:
            raise QuerySyntaxError("A date cannot be compared with a list", node.value_column)
        parse = {DURATION: parse_duration, BOOLEAN: parse_boolean}.get(field.type, parse_number)
        values = [self.parsed(node, parse, item) for item in node.value]
        marks = placeholders(values)
        inside = _use(f"{{f}} IN ({marks})", field, *values)
        return _negate(inside, field) if node.negated else inside

    def date_filter(self, node: SearchFilter, field: Field, text: str) -> _Sql:
        relative = parse_relative_date(text)
        if relative is not None:
            if node.operator != "=":
                raise QuerySyntaxError(
                    "A relative date such as -24h takes no operator", node.value_column
                )
            operator, seconds_ago = relative
            return self.comparison(node, field, operator, self.now - float(seconds_ago))
        if node.operator in ("=", "!="):
            start, end = self.parsed(node, specific_date_range, text)
            window = _use("({f} >= ? AND {f} < ?)", field, start, end)
            return _negate(window, field) if node.negated != (node.operator == "!=") else window
        return self.comparison(node, field, node.operator, self.parsed(node, parse_date, text))

    def text_filter(self, node: SearchFilter, field: Field) -> _Sql:
        operator, value = node.operator, node.value
        if operator not in ("=", "!=") and isinstance(value, str):
            value, operator = operator + value, "="  # text keys take operators as text
        items = value if isinstance(value, tuple) else (value,)
        in_list = isinstance(value, tuple)
        matches = [self.text_match(field, item, in_list=in_list) for item in items]
        condition = _join(matches, "OR")
        positive = (operator == "=") != node.negated
        if positive and value == "*" and not field.nullable:
            self.warnings.append(
                f"`{node.key}:*` matches every event, also those without {node.key} (a missing "
                f"value reads as empty); use `has:{node.key}` to require one"
            )
        return condition if positive else _negate(condition, field)

    def text_match(self, field: Field, value: str, *, in_list: bool) -> _Sql:
        if field.type == ARRAY:
            return self.array_match(field, value)
        searching = field.name == "message" and not in_list
        if has_wildcard(value):
            return _use("stub_match({f}, ?, ?)", field, value, 0 if searching else 1)
        if value == "":
            return _use("coalesce({f}, '') = ''", field)
        if searching:
            return _use("stub_contains({f}, ?)", field, unescape(value))
        return _use("{f} = ?", field, unescape(value))

    def array_match(self, field: Field, value: str) -> _Sql:
        """Any element matches, as on Sentry's array columns; `""` means no element at all."""
        if value == "":
            return _use("coalesce(json_array_length({f}), 0) = 0", field)
        element = Field(field.name, "a.value")
        inner = self.text_match(element, value, in_list=True)
        return _Sql(
            f"EXISTS (SELECT 1 FROM json_each({field.sql}) AS a WHERE {inner.text})",
            (*field.params, *inner.params),
        )

    def aggregate_filter(self, node: AggregateFilter) -> _Sql:
        try:
            aggregate = resolve_aggregate(node.function, self.dataset)
        except InvalidQueryError as error:
            raise QuerySyntaxError(str(error), node.column) from None
        parse = {
            DURATION: parse_duration,
            PERCENTAGE: parse_percentage,
            DATE: parse_date,
        }.get(aggregate.type, parse_number)
        value = self.parsed(node, parse, node.value)
        operator = NEGATED_OPERATORS[node.operator] if node.negated else node.operator
        return _Sql(f"{aggregate.sql} {operator} ?", (*aggregate.params, value))
