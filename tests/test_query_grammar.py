"""Sentry search syntax over a fixed set of events: which events each query matches, and where
malformed queries fail. Expected sets follow spec section 1 (and its checklist in section 8)."""

from __future__ import annotations

import functools
import string
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentry_stub.query.compile import compile_query
from sentry_stub.query.discover import search_events
from sentry_stub.query.errors import InvalidQueryError, QuerySyntaxError
from sentry_stub.query.fields import EVENT_FIELD_NAMES
from sentry_stub.query.grammar import And, Filter, FreeText, Or, parse_query, render
from sentry_stub.query.sqlite_functions import register
from tests.query_rows import add_event, add_transaction, at, database

ALL = {"e1", "e2", "e3", "e4", "t1", "t2", "t3", "t4"}


@pytest.fixture(scope="module")
def events():
    connection = database({1: "backend", 2: "frontend"})
    add_event(
        connection,
        event_id="e1",
        environment="production",
        transaction_name="/api/users",
        exception_type="ValueError",
        exception_value="Authentication failed for user",
        handled=0,
        user_id="1",
        user_email="a@example.com",
        browser_name="Chrome",
        level="error",
        release="1.0",
        tags={"websocket": "yes", "connection_id": "c1", "mytag": ">5"},
    )
    add_event(
        connection,
        event_id="e2",
        environment="production",
        transaction_name="/api/login",
        exception_type="AuthError",
        exception_value="authentication failed",
        handled=1,
        user_id="2",
        user_email="b@example.com",
        http_status_code="500",
        level="error",
        tags={"browser.name": "Firefox", "connection_id": "c2"},
    )
    add_event(
        connection,
        event_id="e3",
        environment="staging",
        exception_type="KeyError",
        exception_value="'x'",
        handled=1,
        level="error",
        timestamp=time.time() - 3600,
    )
    add_event(
        connection,
        event_id="e4",
        type="default",
        environment="production",
        transaction_name="/api/login",
        message="Authentication failed badly",
        level="warning",
    )
    add_transaction(
        connection, "/api/users", 1500, event_id="t1", environment="production", trace_status="ok"
    )
    add_transaction(
        connection,
        "/api/orders",
        250,
        event_id="t2",
        environment="production",
        trace_status="internal_error",
        tags={"http.status_code": "502"},
    )
    add_transaction(
        connection,
        "/health",
        20,
        event_id="t3",
        environment="staging",
        trace_status="ok",
        project_id=2,
    )
    add_transaction(
        connection,
        "/API/Items",
        5000,
        event_id="t4",
        environment="production",
        trace_status="deadline_exceeded",
        timestamp=at("2024-05-02T08:00:00"),
    )
    return connection


def matching(connection, query: str) -> set[str]:
    ids = search_events(connection, query)
    marks = ", ".join("?" * len(ids))
    rows = connection.execute(f"SELECT event_id FROM events WHERE item_id IN ({marks})", ids)
    return {event_id for (event_id,) in rows}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ALL),
        ("event.type:error", {"e1", "e2", "e3"}),  # message-only events are "default"
        ("event.type:default", {"e4"}),
        ("!event.type:error", {"e4", "t1", "t2", "t3", "t4"}),
        ("environment:production", {"e1", "e2", "e4", "t1", "t2", "t4"}),
        ("environment:Production", set()),  # equality is case-sensitive
        ("transaction:/api/*", {"e1", "e2", "e4", "t1", "t2", "t4"}),  # wildcard ignores case
        ("transaction:*", ALL),  # a missing transaction reads as "" and matches
        ("has:transaction", ALL - {"e3"}),
        ("!has:user.email", ALL - {"e1", "e2"}),
        ("user.email:[a@example.com, b@example.com]", {"e1", "e2"}),
        ('user.email:["a@example.com", nobody]', {"e1"}),
        ("!user.email:a@example.com", ALL - {"e1"}),  # NULL emails match a negation
        ("transaction.duration:>1000", {"t1", "t4"}),
        ("transaction.duration:>1s", {"t1", "t4"}),
        ("transaction.duration:<=0.25s", {"t2", "t3"}),
        ("transaction.duration:>=1.5s", {"t1", "t4"}),
        ("transaction.duration:<1m", {"t1", "t2", "t3", "t4"}),  # m is minutes on durations
        ("!transaction.duration:>1s", {"t2", "t3"}),  # negation flips to <=
        ("transaction.duration:[20, 250ms]", {"t2", "t3"}),
        ("authentication failed", {"e1", "e2", "e4"}),  # one free-text token, a substring
        ('message:"authentication failed"', {"e1", "e2", "e4"}),
        ('"authentication failed" environment:staging', set()),
        ("message:auth*user", {"e1"}),  # wildcards in message are unanchored
        ("message:/health", {"t3"}),  # a transaction's message is its name
        ("ValueError", {"e1"}),  # free text reaches the exception type through the title
        ("error.type:ValueError", {"e1"}),
        ("error.type:valueerror", set()),
        ("error.type:value*", {"e1"}),
        ("error.value:*FAILED*", {"e1", "e2"}),
        ("error.handled:0", {"e1"}),
        ("error.handled:false", {"e1"}),
        ("error.unhandled:true", {"e1"}),
        ("tags[websocket]:yes", {"e1"}),
        ("tags.websocket:yes", {"e1"}),
        ("websocket:yes", {"e1"}),
        ("tags.websocket:*", ALL),
        ("has:websocket", {"e1"}),
        ("!websocket:yes", ALL - {"e1"}),  # events without the tag match the negation
        ("mytag:>5", {"e1"}),  # an operator on a tag is part of the text
        ("browser.name:Chrome OR browser.name:Firefox", {"e1", "e2"}),  # Firefox from a tag
        ("browser.name:[chrome, Firefox]", {"e2"}),
        ("http.status_code:502", {"t2"}),
        ("http.status_code:500", {"e2"}),
        ("level:warning", {"e4"}),
        ("release:1.0", {"e1"}),
        ("transaction.status:ok", {"t1", "t3"}),
        ("project:frontend", {"t3"}),
        ("project.id:2", {"t3"}),
        ("!project.id:1", {"t3"}),
        ("timestamp:2024-05-02", {"t4"}),
        ("timestamp:2024-05-02T08:03:00", {"t4"}),  # a date-time is a -5/+6 minute window
        ("timestamp:2024-05-02T08:07:00", set()),
        ("timestamp:>2024-05-01T12:00:00Z", {"e3", "t4"}),
        ("timestamp:-24h", {"e3"}),  # newer than 24 hours ago
        ("timestamp:+24h", ALL - {"e3"}),  # older than 24 hours ago
        (
            "event.type:error environment:production OR transaction.duration:<100",
            {"e1", "e2", "t3"},
        ),
        ("event.type:error (environment:staging OR user.email:a@example.com)", {"e1", "e3"}),
        ("event.type:error AND (environment:staging OR user.email:a@example.com)", {"e1", "e3"}),
        ("event.type:error and environment:staging", {"e3"}),  # operators ignore case
        ("environment:staging OR environment:production event.type:default", {"e3", "t3", "e4"}),
    ],
)
def test_query_matches(events, query, expected):
    assert matching(events, query) == expected


def test_star_on_a_tag_warns_and_suggests_has():
    compiled = compile_query("tags.websocket:* environment:production")
    assert compiled.warnings == (
        "`tags.websocket:*` matches every event, also those without tags.websocket "
        "(a missing value reads as empty); use `has:tags.websocket` to require one",
    )
    assert compile_query("has:websocket").warnings == ()


def test_and_binds_tighter_than_or():
    tree = parse_query("a:1 b:2 OR c:3")
    assert isinstance(tree, Or)
    assert isinstance(tree.terms[0], And)
    assert [leaf.key for leaf in tree.terms[0].terms] == ["a", "b"]
    assert tree.terms[1] == Filter("c", "=", "3", False, 12, 14)


def test_free_text_is_one_token_up_to_the_next_filter():
    tree = parse_query("example error environment:prod more words")
    assert isinstance(tree, And)
    assert tree.terms[0] == FreeText("example error", 1)
    assert tree.terms[2] == FreeText("more words", 32)


def test_quoted_values_unescape_quotes_and_keep_star_escapes():
    tree = parse_query(r'message:"say \"hi\" \*"')
    assert tree == Filter("message", "=", r'say "hi" \*', False, 1, 9)


@pytest.mark.parametrize(
    ("query", "column", "message"),
    [
        ("event.type:error AND", 18, "A query cannot end with AND"),
        ("OR a:b", 1, "A query cannot start with OR"),
        ("a:b AND OR c:d", 9, "OR cannot follow AND directly"),
        ("(a:b", 1, "This parenthesis is never closed"),
        ("a:b)", 4, "Unmatched closing parenthesis"),
        ("()", 1, "Empty parentheses"),
        ("key: x", 5, 'Empty value; write key:"" to match an empty value'),
        ('key:"abc', 5, "This quote is never closed"),
        ('key:ab"c', 7, "Quotes must surround the whole value"),
        ('key:"a"b', 8, "Expected a space or ')' after the value"),
        ("key:[a,,b]", 8, "Lists should not have empty values"),
        ("key:[a, b", 5, "This list is never closed"),
        ("has: x", 5, "Expected a key after 'has:'"),
        ("transaction.duration:>abc", 23, "Invalid duration: 'abc'"),
        ("timestamp:yesterday", 11, "Invalid date: 'yesterday'"),
        ("timestamp:>-24h", 12, "A relative date such as -24h takes no operator"),
        ("error.handled:maybe", 15, "Invalid boolean: 'maybe'"),
        ("project.id:abc", 12, "Invalid number: 'abc'"),
        ("a:b OR count():>10", 5, "Having an OR between aggregate filters and normal filters"),
        ("x:y nosuch():>1", 5, "Unknown function nosuch()"),
        ("count():>lots", 10, "Invalid number: 'lots'"),
        ("p95():>fast", 8, "Invalid duration: 'fast'"),
    ],
)
def test_malformed_queries_point_at_the_column(query, column, message):
    with pytest.raises(QuerySyntaxError) as raised:
        compile_query(query)
    assert raised.value.column == column
    assert raised.value.message.startswith(message)


# -- properties ---------------------------------------------------------------------------------

_WORDS = st.sampled_from(
    [
        *EVENT_FIELD_NAMES,
        "tags[x]",
        "tags.y",
        "has",
        "op",
        "count()",
        "p95()",
        "AND",
        "OR",
        "(",
        ")",
    ]
)
_PIECES = st.one_of(
    _WORDS,
    st.sampled_from([":", "!", ">", "<=", "=", "*", '"', "\\", "[", "]", ",", " ", "-24h", "1s"]),
    st.text(max_size=6),
)
_QUERIES = st.one_of(st.text(max_size=40), st.lists(_PIECES, max_size=12).map("".join))


@functools.cache
def _scratch_database():
    connection = database()
    register(connection)
    return connection


@settings(max_examples=400, deadline=None)
@given(_QUERIES)
def test_compile_never_crashes_and_its_sql_runs(text):
    try:
        compiled = compile_query(text, now=0.0)
    except QuerySyntaxError:
        return
    connection = _scratch_database()
    having = compiled.having_sql or "1"
    sql = f"SELECT 1 FROM events AS e WHERE {compiled.sql} GROUP BY e.type HAVING {having}"
    connection.execute(sql, [*compiled.params, *compiled.having_params]).fetchall()


_MARKED = st.text(string.ascii_lowercase, min_size=1, max_size=8).map(lambda s: "zq" + s)
_OPERATORS = st.sampled_from(["", ">", "<=", "!=", "="])


@st.composite
def _marked_terms(draw) -> str:
    """A term whose user-chosen parts (values, tag keys, free text) all contain "zq"."""
    value = draw(_MARKED)
    key = draw(st.one_of(st.sampled_from(EVENT_FIELD_NAMES), _MARKED))
    form = draw(st.sampled_from(["filter", "list", "has", "free", "tag", "quoted"]))
    negation = draw(st.sampled_from(["", "!"]))
    if form == "list":
        return f"{negation}{key}:[{value}, {draw(_MARKED)}*]"
    if form == "has":
        return f"{negation}has:{draw(_MARKED)}"
    if form == "free":
        return value
    if form == "tag":
        return f"tags[{draw(_MARKED)}]:{value}"
    if form == "quoted":
        return f'{key}:"{value} {draw(_MARKED)}"'
    return f"{negation}{key}:{draw(_OPERATORS)}{value}*"


@settings(max_examples=300, deadline=None)
@given(st.lists(_marked_terms(), min_size=1, max_size=5), st.sampled_from([" ", " AND ", " OR "]))
def test_user_text_only_travels_as_parameters(terms, joiner):
    try:
        compiled = compile_query(joiner.join(terms))
    except (QuerySyntaxError, InvalidQueryError):
        return  # typed keys (dates, numbers) reject these values, which is fine
    assert "zq" not in compiled.sql
    assert any("zq" in str(param) for param in compiled.params)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["message", "environment", "tags[x]", "error.value"]),
    st.text(min_size=1, max_size=20).filter(lambda v: not v.endswith("\\")),
)
def test_a_rendered_filter_parses_back_to_itself(key: str, value: str) -> None:
    """Suggestions in warnings are rendered searches: they must mean what the tree means."""
    node = Filter(key, "=", value, False, 1, 1)
    reparsed = parse_query(render(node))
    assert isinstance(reparsed, Filter)
    assert (reparsed.key, reparsed.value, reparsed.operator) == (key, value, "=")


def test_a_suggestion_keeps_non_ascii_as_written() -> None:
    [warning] = compile_query("enviroment:café").warnings
    assert 'did you mean `environment:"café"`' in warning


def test_double_bar_is_named_as_not_sentry_syntax() -> None:
    with pytest.raises(QuerySyntaxError, match=r"'\|\|' is not Sentry syntax: write OR"):
        compile_query("level:error || level:fatal")
