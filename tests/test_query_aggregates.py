"""Aggregates against hand-computed values (spec section 3).

Percentiles are ClickHouse's ``quantile``: sort, take h = level * (n - 1), interpolate linearly
between the values at floor(h) and floor(h) + 1. For 100, 200, 300, 400, 500:
p50 h=2 -> 300; p75 h=3 -> 400; p90 h=3.6 -> 460; p95 h=3.8 -> 480; p99 h=3.96 -> 496.
"""

from __future__ import annotations

import re

import pytest

from sentry_stub.query.discover import run_discover
from sentry_stub.query.errors import InvalidQueryError
from sentry_stub.query.sqlite_functions import quantile
from tests.query_rows import add_event, add_transaction, at, database


def test_quantile_interpolates_linearly_between_ranks():
    assert quantile([1, 1, 2, 3], 0.5) == 1.5  # the example in ClickHouse's documentation
    assert quantile([40, 10, 30, 20], 0.75) == 32.5  # h = 2.25 -> 30 + 0.25 * 10
    assert quantile(list(range(1, 101)), 0.99) == pytest.approx(99.01)  # h = 98.01
    assert quantile([7], 0.95) == 7
    assert quantile([], 0.5) is None


@pytest.fixture
def durations():
    """Five /api transactions of 100..500 ms, plus an error (no duration) that must not count."""
    connection = database()
    for duration in (300, 100, 500, 200, 400):
        add_transaction(connection, "/api/a", duration)
    add_event(connection, transaction_name="/api/a")
    return connection


def one_row(connection, fields, query="event.type:transaction"):
    result = run_discover(connection, fields=fields, query=query, orderby=None)
    assert len(result["data"]) == 1
    return result["data"][0], result["meta"]


def test_percentiles_and_simple_aggregates(durations):
    fields = [
        "p50(transaction.duration)",
        "p75()",
        "p90(transaction.duration)",
        "p95(transaction.duration)",
        "p99(transaction.duration)",
        "p100(transaction.duration)",
        "percentile(transaction.duration, 0.9)",
        "avg(transaction.duration)",
        "sum(transaction.duration)",
        "min(transaction.duration)",
        "max(transaction.duration)",
        "count()",
    ]
    row, meta = one_row(durations, fields, query="")
    assert row == pytest.approx(
        {
            "p50(transaction.duration)": 300,
            "p75()": 400,
            "p90(transaction.duration)": 460,
            "p95(transaction.duration)": 480,
            "p99(transaction.duration)": 496,
            "p100(transaction.duration)": 500,
            "percentile(transaction.duration, 0.9)": 460,
            "avg(transaction.duration)": 300,
            "sum(transaction.duration)": 1500,
            "min(transaction.duration)": 100,
            "max(transaction.duration)": 500,
            "count()": 6,  # the error row counts, its missing duration does not
        }
    )
    assert meta["fields"]["p95(transaction.duration)"] == "duration"
    assert meta["units"]["p95(transaction.duration)"] == "millisecond"
    assert meta["fields"]["count()"] == "integer"
    assert meta["units"]["count()"] is None
    assert isinstance(row["count()"], int)


def test_apdex_counts_tolerated_as_half():
    # T = 300: satisfied 100, 200, 300; tolerated (300, 1200]: 400, 500; frustrated: 1300.
    connection = database()
    for duration in (100, 200, 300, 400, 500, 1300):
        add_transaction(connection, "/api/a", duration)
    row, meta = one_row(connection, ["apdex(300)", "apdex()", "apdex(100)"])
    # T = 100: satisfied 100; tolerated (100, 400]: 200, 300, 400 -> (1 + 1.5) / 6
    assert row == pytest.approx({"apdex(300)": 4 / 6, "apdex()": 4 / 6, "apdex(100)": 2.5 / 6})
    assert meta["fields"]["apdex(300)"] == "number"


def test_failure_rate_ignores_ok_cancelled_and_unknown():
    connection = database()
    statuses = ["ok", "cancelled", "unknown", "internal_error", "deadline_exceeded", "ok"]
    for status in statuses:
        add_transaction(connection, "/api/a", 100, trace_status=status)
    row, meta = one_row(connection, ["failure_rate()", "failure_count()"])
    assert row == pytest.approx({"failure_rate()": 2 / 6, "failure_count()": 2})
    assert meta["fields"]["failure_rate()"] == "percentage"


def test_count_unique_skips_missing_values_and_last_seen_is_a_date():
    connection = database()
    for user, day in (("1", "01"), ("1", "02"), ("2", "03"), (None, "04")):
        add_event(connection, user_id=user, timestamp=at(f"2024-05-{day}T10:00:00"))
    row, meta = one_row(connection, ["count_unique(user.id)", "last_seen()"], query="")
    assert row == {"count_unique(user.id)": 2, "last_seen()": "2024-05-04T10:00:00+00:00"}
    assert meta["fields"] == {"count_unique(user.id)": "integer", "last_seen()": "date"}


def test_count_if(durations):
    row, _ = one_row(durations, ["count_if(transaction.duration, greater, 300)"])
    assert row == {"count_if(transaction.duration, greater, 300)": 2}


def test_empty_input_gives_a_zero_count_and_no_percentile():
    row, _ = one_row(database(), ["count()", "p95(transaction.duration)"])
    assert row == {"count()": 0, "p95(transaction.duration)": None}


@pytest.fixture
def grouped():
    connection = database()
    for name, duration in (("/a", 100), ("/a", 3000), ("/a", 200), ("/b", 50), ("/c", 2500)):
        add_transaction(connection, name, duration)
    return connection


def test_aggregate_filters_become_having(grouped):
    def names(query):
        result = run_discover(grouped, fields=["transaction", "count()"], query=query, orderby=None)
        return [row["transaction"] for row in result["data"]]

    assert names("count():>1") == ["/a"]
    assert names("!count():>1") == ["/b", "/c"]
    # /a: p95 of 100, 200, 3000 = 200 + 0.9 * 2800 = 2720; /c: 2500; /b: 50
    assert names("p95(transaction.duration):>2000") == ["/a", "/c"]
    assert names("p95(transaction.duration):>2.6s") == ["/a"]
    assert names("count():>1 OR max(transaction.duration):<100") == ["/a", "/b"]
    assert names("transaction:/a* count():<5") == ["/a"]


def test_sort_by_aggregate_field_or_alias(grouped):
    def order(orderby):
        fields = ["transaction", "count()", "avg(transaction.duration)"]
        result = run_discover(grouped, fields=fields, orderby=orderby)
        return [row["transaction"] for row in result["data"]]

    assert order(["-count()", "transaction"]) == ["/a", "/b", "/c"]
    assert order(["-avg(transaction.duration)"]) == ["/c", "/a", "/b"]  # 2500, 1100, 50
    assert order(["avg_transaction_duration"]) == ["/b", "/a", "/c"]
    assert order(["-transaction"]) == ["/c", "/b", "/a"]
    assert order(None) == ["/a", "/b", "/c"]  # group values ascending


def test_limit_offset_and_cursor(grouped):
    result = run_discover(
        grouped, fields=["transaction"], orderby=["transaction"], limit=2, offset=1
    )
    assert [row["transaction"] for row in result["data"]] == ["/a", "/a"]
    later = run_discover(grouped, fields=["count()"], orderby=None, min_item_id=3)
    assert later["data"] == [{"count()": 2}]


@pytest.mark.parametrize(
    ("fields", "orderby", "message"),
    [
        (["avg(transaction)"], None, "avg() needs a numeric field, but transaction is a string"),
        (["median(transaction.duration)"], None, "Unknown function median()"),
        (["percentile(transaction.duration, 2)"], None, "The percentile must be between 0 and 1"),
        (["count_unique()"], None, "count_unique() takes 1 argument(s), got 0"),
        (["count_if(transaction.duration, above, 1)"], None, "count_if() operator must be one of"),
        (["transaction", "count()"], ["-avg"], "Cannot sort by 'avg'"),
        ([], None, "At least one field is required"),
    ],
)
def test_bad_requests_are_explained(grouped, fields, orderby, message):
    with pytest.raises(InvalidQueryError, match="^" + re.escape(message)):
        run_discover(grouped, fields=fields, orderby=orderby)
