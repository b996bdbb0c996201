"""The mission guide's pipe queries: their Discover translation and their answers on known data."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentry_stub.query.discover import run_discover
from sentry_stub.query.errors import QuerySyntaxError
from sentry_stub.query.pipe import DEFAULT_EVENT_FIELDS, DiscoverRequest, parse_pipe
from tests.query_rows import add_event, add_span, add_transaction, database

ERROR_RATE = (
    "event.type:error AND transaction:* AND environment:production\n"
    "| count() by transaction\n"
    "| sort by count DESC"
)
SLOW_DATABASE = (
    "event.type:transaction AND op:db.query AND transaction.duration:>1000\n"
    "| avg(transaction.duration) by db.table\n"
    "| sort by avg DESC"
)
FAILED_AUTHENTICATION = (
    'event.type:error AND message:"authentication failed" AND environment:production\n'
    "| count() by user.email\n"
    "| sort by count DESC"
)
WEBSOCKET_FAILURES = (
    "event.type:error AND tags.websocket:* AND environment:production\n"
    "| count() by tags.connection_id\n"
    "| sort by count DESC"
)
ERRORS_BY_BROWSER = "event.type:error AND browser.name:* | count() by browser.name"
API_RESPONSE_TIME = "event.type:transaction AND transaction:/api/* | p95(transaction.duration)"
USER_IMPACT = "event.type:error | count_unique(user.id)"


def answer(connection, pipe_text: str) -> dict:
    request = parse_pipe(pipe_text)
    return run_discover(
        connection, fields=request.fields, query=request.query, orderby=request.orderby
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            ERROR_RATE,
            DiscoverRequest(
                ("transaction", "count()"),
                "event.type:error AND transaction:* AND environment:production",
                ("-count()",),
            ),
        ),
        (
            SLOW_DATABASE,
            DiscoverRequest(
                ("db.table", "avg(transaction.duration)"),
                "event.type:transaction AND op:db.query AND transaction.duration:>1000",
                ("-avg(transaction.duration)",),
            ),
        ),
        (
            API_RESPONSE_TIME,
            DiscoverRequest(
                ("p95(transaction.duration)",),
                "event.type:transaction AND transaction:/api/*",
                (),
            ),
        ),
        (
            "| count(), p95() by transaction, release | sort by p95",
            DiscoverRequest(("transaction", "release", "count()", "p95()"), "", ("p95()",)),
        ),
        (
            'message:"a | b" | count()',
            DiscoverRequest(("count()",), 'message:"a | b"', ()),
        ),
        ("level:error", DiscoverRequest(DEFAULT_EVENT_FIELDS, "level:error", ())),
        (
            "level:error | sort by timestamp desc",
            DiscoverRequest(DEFAULT_EVENT_FIELDS, "level:error", ("-timestamp",)),
        ),
    ],
)
def test_translation(text, expected):
    assert parse_pipe(text) == expected


def test_error_rate_by_endpoint():
    connection = database()
    for transaction in ("/api/users", "/api/users", "/api/users", "/api/login", None, None):
        add_event(connection, environment="production", transaction_name=transaction)
    add_event(connection, environment="staging", transaction_name="/api/login")
    add_transaction(connection, "/api/users", 100, environment="production")
    add_event(connection, type="default", environment="production", transaction_name="/api/login")

    result = answer(connection, ERROR_RATE)

    assert result["data"] == [
        {"transaction": "/api/users", "count()": 3},
        {"transaction": "", "count()": 2},  # transaction:* keeps events without one (Sentry)
        {"transaction": "/api/login", "count()": 1},
    ]
    assert result["meta"]["fields"] == {"transaction": "string", "count()": "integer"}
    assert any("use `has:transaction`" in warning for warning in result["warnings"])


def test_slow_database_queries_run_over_spans():
    connection = database()
    slow = add_transaction(connection, "/api/orders", 1500)
    add_span(connection, slow, "db.query", data={"db.table": "users"}, duration=5)
    add_span(connection, slow, "db.query", data={"db.table": "users"}, duration=7)
    add_span(connection, slow, "db.query", description='SELECT * FROM "orders" WHERE id = %s')
    add_span(connection, slow, "http.client", description="GET /users")
    slower = add_transaction(connection, "/api/users", 3000)
    add_span(connection, slower, "db.query", data={"db.table": "users", "db.system": "pg"})
    fast = add_transaction(connection, "/api/fast", 800)
    add_span(connection, fast, "db.query", data={"db.table": "users"})

    result = answer(connection, SLOW_DATABASE)

    # users: spans of the 1500 ms transaction (twice) and of the 3000 ms one -> 6000 / 3
    assert result["data"] == [
        {"db.table": "users", "avg(transaction.duration)": 2000.0},
        {"db.table": "orders", "avg(transaction.duration)": 1500.0},  # table read from the SQL
    ]
    assert result["meta"]["fields"]["avg(transaction.duration)"] == "duration"
    assert result["warnings"] == []

    # Without a span field, `op` is the transaction's op, and the answer says so.
    events_only = answer(connection, SLOW_DATABASE.replace("by db.table", ""))
    assert events_only["data"] == [{"avg(transaction.duration)": None}]
    assert "`op` is read as `transaction.op`" in events_only["warnings"][0]


def test_failed_authentication_attempts():
    connection = database()
    add_event(
        connection,
        environment="production",
        exception_type="AuthError",
        exception_value="Authentication failed",
        user_email="a@example.com",
    )
    add_event(
        connection,
        environment="production",
        message="authentication FAILED for a",
        user_email="a@example.com",
    )
    add_event(
        connection,
        environment="production",
        exception_type="AuthError",
        exception_value="authentication failed: bad token",
        user_email="b@example.com",
    )
    add_event(
        connection,
        environment="production",
        exception_type="AuthError",
        exception_value="Authentication failed",
    )  # no user
    add_event(
        connection,
        environment="staging",
        exception_type="AuthError",
        exception_value="Authentication failed",
        user_email="a@example.com",
    )
    add_event(
        connection,
        type="default",
        environment="production",
        message="authentication failed",
        user_email="c@example.com",
    )
    add_event(
        connection,
        environment="production",
        exception_type="ValueError",
        exception_value="bad input",
        user_email="c@example.com",
    )

    result = answer(connection, FAILED_AUTHENTICATION)

    assert result["data"] == [
        {"user.email": "a@example.com", "count()": 2},
        {"user.email": "b@example.com", "count()": 1},
        {"user.email": None, "count()": 1},
    ]


def test_websocket_connection_failures():
    connection = database()
    for connection_id in ("c1", "c1", "c1", "c2", "c2"):
        add_event(
            connection,
            environment="production",
            tags={"websocket": "true", "connection_id": connection_id},
        )
    add_event(connection, environment="production", tags={"websocket": "true"})
    add_event(connection, environment="staging", tags={"websocket": "true", "connection_id": "c1"})

    result = answer(connection, WEBSOCKET_FAILURES)

    assert result["data"] == [
        {"tags.connection_id": "c1", "count()": 3},
        {"tags.connection_id": "c2", "count()": 2},
        {"tags.connection_id": "", "count()": 1},
    ]


def test_frontend_errors_by_browser():
    connection = database()
    for browser in ("Chrome", "Chrome", "Firefox", None):
        add_event(connection, browser_name=browser)
    add_event(connection, tags={"browser.name": "Safari"})
    add_transaction(connection, "/", 10, browser_name="Chrome")

    result = answer(connection, ERRORS_BY_BROWSER)

    assert result["data"] == [
        {"browser.name": "", "count()": 1},
        {"browser.name": "Chrome", "count()": 2},
        {"browser.name": "Firefox", "count()": 1},
        {"browser.name": "Safari", "count()": 1},
    ]


def test_api_response_time_trends():
    connection = database()
    for name, duration in (("/api/a", 100), ("/api/a", 400), ("/api/b", 300), ("/API/c", 200)):
        add_transaction(connection, name, duration)
    add_transaction(connection, "/api/b", 500)
    add_transaction(connection, "/health", 10_000)
    add_event(connection, transaction_name="/api/a")

    result = answer(connection, API_RESPONSE_TIME)

    # 100, 200, 300, 400, 500: h = 0.95 * 4 = 3.8 -> 400 + 0.8 * 100
    assert result["data"] == [{"p95(transaction.duration)": pytest.approx(480.0)}]
    assert result["meta"]["units"] == {"p95(transaction.duration)": "millisecond"}


def test_user_impact():
    connection = database()
    for user in ("1", "1", "2", "3", None):
        add_event(connection, user_id=user)
    add_transaction(connection, "/", 10, user_id="4")

    assert answer(connection, USER_IMPACT)["data"] == [{"count_unique(user.id)": 3}]


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("event.type:error AND | count()", 18, "A query cannot end with AND"),
        ("a:b | count() | sort by avg", 25, "Cannot sort by 'avg'"),
        ("a:b | | count()", 7, "Expected fields or aggregates"),
        ("a:b | bogus() by x", 7, "Unknown function bogus()"),
        ("a:b | count(), by x", 15, "Empty item in a comma-separated list"),
        ("a:b | count() | count()", 17, "Expected 'sort by' here"),
        ("a:b | count() | sort by count | sort by count", 33, "Only one sort stage"),
        ("a:b | count(), avg(x), avg(y) | sort by avg", 41, "Cannot sort by 'avg': it matches"),
        ("a:b | what?", 7, "'what?' is not a field name"),
    ],
)
def test_pipe_errors_point_at_the_column(text, column, message):
    with pytest.raises(QuerySyntaxError) as raised:
        parse_pipe(text)
    assert raised.value.column == column
    assert raised.value.message.startswith(message)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(["|", " by ", ",", "sort by ", "count()", "avg", " DESC", '"', "("]),
            st.text(max_size=5),
        ),
        max_size=10,
    ).map("".join)
)
def test_parse_pipe_fails_only_with_a_syntax_error(text):
    try:
        parse_pipe(text)
    except QuerySyntaxError as error:
        assert 1 <= error.column <= len(text) + 1
