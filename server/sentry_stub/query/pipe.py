"""The runbook's pipe form, translated into the Discover request Sentry would need.

Sentry has no ``|`` syntax; the mission's guide writes queries like::

    event.type:error AND environment:production | count() by transaction | sort by count DESC

which is Discover's ``query=event.type:error AND environment:production``,
``field=transaction&field=count()`` and ``sort=-count()`` (spec 1.5). The stages are:

    SEARCH                                  Sentry search syntax (may be empty)
    | FIELD[, FIELD...] [by FIELD[, ...]]   aggregates (or plain fields), grouped by the by-fields
    | sort by KEY [ASC|DESC][, ...]         KEY: a selected field, a function name standing for the
                                            one selected call of it (count, avg), or Sentry's
                                            alias (avg_transaction_duration); ASC by default

A bare search lists events with ``DEFAULT_EVENT_FIELDS``. An aggregate written as the search
(``count()`` alone) is an error rather than a search for the text "count()". Errors point at the
column in the whole pipe text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sentry_stub.query.aggregates import FUNCTION_NAMES, function_alias, is_function, split_call
from sentry_stub.query.errors import QuerySyntaxError
from sentry_stub.query.grammar import FreeText, leaves, parse_query
from sentry_stub.query.warnings import is_aggregate_call

DEFAULT_EVENT_FIELDS = ("id", "timestamp", "event.type", "project", "title")

_FIELD_NAME = re.compile(r"tags\[[^\[\]]+\]|[a-zA-Z0-9_.:\-]+")
_BY = re.compile(r"\sby\s", re.IGNORECASE)
_SORT = re.compile(r"sort\s+by\s", re.IGNORECASE)
_DIRECTION = re.compile(r"\s+(asc|desc)$", re.IGNORECASE)


@dataclass(frozen=True)
class DiscoverRequest:
    """What ``run_discover`` takes: ``fields``, ``query`` and ``orderby`` (``-`` = descending)."""

    fields: tuple[str, ...]
    query: str
    orderby: tuple[str, ...]


@dataclass(frozen=True)
class _Piece:
    text: str
    start: int  # 0-based offset of ``text`` in the whole pipe text


def parse_pipe(text: str) -> DiscoverRequest:
    """Translate a pipe query; ``QuerySyntaxError`` points at the offending column."""
    stages = _split(_Piece(text, 0), "|")
    search = _strip(stages[0])
    try:
        node = parse_query(search.text)
    except QuerySyntaxError as error:
        raise QuerySyntaxError(error.message, error.column + search.start) from None
    for leaf in leaves(node):
        if isinstance(leaf, FreeText) and is_aggregate_call(leaf.text):
            raise QuerySyntaxError(
                f"{leaf.text} is an aggregate, not a search: aggregates come after a '|', "
                f"e.g. '| {leaf.text}' or 'event.type:error | {leaf.text} by transaction'",
                leaf.column + search.start,
            )
    fields: tuple[str, ...] | None = None
    orderby: tuple[str, ...] = ()
    for stage in map(_strip, stages[1:]):
        sort = _SORT.match(stage.text)
        if sort:
            if orderby:
                raise _fail("Only one sort stage is allowed", stage)
            body = _strip(_Piece(stage.text[sort.end() :], stage.start + sort.end()))
            selected = fields if fields is not None else DEFAULT_EVENT_FIELDS
            orderby = tuple(_sort_key(piece, selected) for piece in _items(body))
        elif fields is not None or orderby:
            raise _fail("Expected 'sort by' here: fields come right after the search", stage)
        else:
            fields = _select(stage)
    return DiscoverRequest(fields or DEFAULT_EVENT_FIELDS, search.text, orderby)


def _select(stage: _Piece) -> tuple[str, ...]:
    """``AGG[, AGG] [by FIELD[, FIELD]]`` -> by-fields first, then the aggregates (as Sentry)."""
    if not stage.text:
        raise _fail("Expected fields or aggregates after '|'", stage)
    by = next((m for m in _BY.finditer(stage.text) if _top_level(stage.text, m.start())), None)
    if by is None:
        selected, grouped = stage, None
    else:
        selected = _strip(_Piece(stage.text[: by.start()], stage.start))
        grouped = _strip(_Piece(stage.text[by.end() :], stage.start + by.end()))
    aggregates = [_field(piece) for piece in _items(selected)]
    groups = [_field(piece) for piece in _items(grouped)] if grouped else []
    return tuple(dict.fromkeys([*groups, *aggregates]))


def _field(piece: _Piece) -> str:
    if is_function(piece.text):
        name, _ = split_call(piece.text)
        if name not in FUNCTION_NAMES:
            known = ", ".join(sorted(FUNCTION_NAMES))
            raise _fail(f"Unknown function {name}(); known: {known}", piece)
        return piece.text
    if not _FIELD_NAME.fullmatch(piece.text):
        raise _fail(f"{piece.text!r} is not a field name or a function call", piece)
    return piece.text


def _sort_key(piece: _Piece, selected: tuple[str, ...]) -> str:
    direction = _DIRECTION.search(piece.text)
    key = piece.text[: direction.start()] if direction else piece.text
    descending = direction is not None and direction.group(1).lower() == "desc"
    matches = [field for field in selected if key in (field, _alias(field))]
    if not matches:
        matches = [f for f in selected if is_function(f) and split_call(f)[0] == key]
    if len(matches) != 1:
        problem = "matches several selected fields" if matches else "is not a selected field"
        raise _fail(f"Cannot sort by {key!r}: it {problem} ({', '.join(selected)})", piece)
    return ("-" if descending else "") + matches[0]


def _alias(field: str) -> str | None:
    return function_alias(field) if is_function(field) else None


def _items(piece: _Piece) -> list[_Piece]:
    items = [_strip(item) for item in _split(piece, ",")]
    for item in items:
        if not item.text:
            raise _fail("Empty item in a comma-separated list", item)
    return items


def _split(piece: _Piece, separator: str) -> list[_Piece]:
    """Split at ``separator`` where it is outside quotes and parentheses."""
    pieces, begin = [], 0
    for index, char in enumerate(piece.text):
        if char == separator and _top_level(piece.text, index):
            pieces.append(_Piece(piece.text[begin:index], piece.start + begin))
            begin = index + 1
    pieces.append(_Piece(piece.text[begin:], piece.start + begin))
    return pieces


def _top_level(text: str, position: int) -> bool:
    """Whether ``position`` is outside every quoted value and parenthesis before it."""
    depth, quoted, escaped = 0, False, False
    for char in text[:position]:
        if quoted:
            quoted = escaped or char != '"'
            escaped = char == "\\" and not escaped
        elif char == '"':
            quoted = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
    return depth == 0 and not quoted


def _strip(piece: _Piece) -> _Piece:
    leading = len(piece.text) - len(piece.text.lstrip())
    return _Piece(piece.text.strip(), piece.start + leading)


def _fail(message: str, piece: _Piece) -> QuerySyntaxError:
    return QuerySyntaxError(message, piece.start + 1)
