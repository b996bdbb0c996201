"""The search grammar and Discover, compiled to SQL and run against the real schema.

Whatever the fields, search, sort and paging, ``run_discover``/``search_events`` answer or
raise ``InvalidQueryError`` (``QuerySyntaxError`` is one) with a message for the query's
author; the SQL they build always runs on SQLite. Over HTTP, the Discover endpoint answers
200 or a 400 whose ``detail`` says what is wrong.
"""

from __future__ import annotations

import sqlite3
from functools import cache

from hypothesis import example, given
from hypothesis import strategies as st

from sentry_stub.query.discover import run_discover, search_events
from sentry_stub.query.errors import InvalidQueryError
from sentry_stub.query.pipe import parse_pipe
from tests.fuzz.mutations import FUZZ
from tests.fuzz.searches import AGGREGATES, FIELDS, QUERIES, SELECTED
from tests.query_rows import add_event, add_span, add_transaction, database


@cache
def _events() -> sqlite3.Connection:
    """A few rows of every kind the grammar can address: errors, a transaction with spans."""
    connection = database({1: "backend", 2: "frontend"})
    add_event(connection, environment="production", tags={"x": "1", "y": "two"}, message="boom")
    add_event(connection, project_id=2, level="warning", user_email="a@example.com")
    item = add_transaction(connection, "/api/users", 1500.0, trace_status="ok")
    add_span(connection, item, "db.query", data={"db.table": "users"})
    return connection


@FUZZ
@given(
    SELECTED,
    QUERIES,
    st.lists(st.one_of(FIELDS, AGGREGATES).map(lambda f: f"-{f}") | FIELDS, max_size=2),
    st.integers(-2, 2**64),
    st.integers(-2, 2**64),
)
# Found by the long run: an offset past 2**63 - 1 raised OverflowError from SQLite.
@example(["browser.name"], "", [], 0, 2**63)
def test_discover_answers_or_explains(
    fields: list[str], query: str, orderby: list[str], limit: int, offset: int
) -> None:
    try:
        answer = run_discover(
            _events(), fields=fields, query=query, orderby=orderby, limit=limit, offset=offset
        )
    except InvalidQueryError as error:
        assert str(error)
        return
    assert set(answer) >= {"data", "meta"}


@FUZZ
@given(QUERIES, st.sampled_from(["asc", "desc", "up"]))
def test_event_search_answers_or_explains(query: str, order: str) -> None:
    try:
        search_events(_events(), query, order=order)
    except InvalidQueryError as error:
        assert str(error)


@FUZZ
@given(
    st.lists(
        st.one_of(QUERIES, st.sampled_from(["|", "| by ", "| sort -", "| fields ", ","])),
        max_size=5,
    ).map("".join)
)
def test_pipe_queries_translate_or_point_at_the_fault(text: str) -> None:
    try:
        request = parse_pipe(text)
    except InvalidQueryError as error:
        assert str(error)
        return
    try:
        run_discover(_events(), fields=request.fields, query=request.query, orderby=request.orderby)
    except InvalidQueryError as error:
        assert str(error)
