"""Searches Sentry answers but their author probably did not mean: every answer says so.

The warnings are made once, by the query engine, and travel with each answer: the events API,
explain, Discover (native and Sentry's endpoint, in ``meta.warnings`` there), the pipe form,
the CLI's stderr. A ``|`` in a plain search is refused rather than searched as text.
"""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from sentry_stub import QuerySyntaxError, StubServer
from sentry_stub.client import StubClient
from sentry_stub.query.compile import compile_query
from sentry_stub.query.pipe import parse_pipe
from tests.sending import post_event


def warnings_of(query: str) -> tuple[str, ...]:
    return compile_query(query).warnings


@pytest.mark.parametrize(
    ("query", "suggestion"),
    [
        ("type:error", "`event.type:error`"),
        ("!type:error", "`!event.type:error`"),
        ("has:type", "`has:event.type`"),
        ("enviroment:production", "`environment:production`"),
        ("status_code:500", "`http.status_code:500`"),
        ("user_id:42", "`user.id:42`"),
    ],
)
def test_a_field_name_taken_as_a_tag_suggests_the_field(query: str, suggestion: str) -> None:
    [warning] = warnings_of(query)
    assert "is not a field" in warning
    assert f"did you mean {suggestion}" in warning
    assert "tags[" in warning  # how to say "the tag" without a warning


@pytest.mark.parametrize(
    "query",
    ["browser:Chrome", "feature:checkout", "tags[type]:error", "tags.type:error", "level:error"],
)
def test_tags_and_fields_as_written_draw_no_warning(query: str) -> None:
    assert warnings_of(query) == ()


@pytest.mark.parametrize(
    ("query", "suggestion"),
    [
        ("event.type = 'error'", "`event.type:error`"),
        ("event.type=='error'", "`event.type:error`"),
        ("level != 'info'", "`!level:info`"),
        ("message LIKE '%timeout%'", "`message:*timeout*`"),
        ("environment:'production'", "`environment:production`"),
        ("level:==error", "`level:error`"),
    ],
)
def test_sql_habits_are_named_with_the_sentry_form(query: str, suggestion: str) -> None:
    [warning] = warnings_of(query)
    assert f"did you mean {suggestion}" in warning


def test_single_quotes_inside_double_quotes_are_meant_and_stay_quiet() -> None:
    assert warnings_of("error.value:\"'a'\"") == ()  # str(KeyError("a")) is 'a', quotes and all


def test_not_and_symbols_point_to_sentry_operators() -> None:
    assert "`!level:error`" in warnings_of("NOT level:error")[0]
    assert "write `AND`" in warnings_of("level:error && release:1")[0]


def test_and_or_are_sentry_syntax_and_stay_quiet() -> None:
    assert warnings_of("event.type:error AND (level:error OR level:fatal)") == ()


def test_key_star_still_warns_as_decided() -> None:
    [warning] = warnings_of("tags.nope:*")
    assert "`has:tags.nope`" in warning


def test_an_aggregate_as_search_text_warns_and_is_an_error_in_the_pipe_form() -> None:
    assert "an aggregate belongs in the fields" in warnings_of("count()")[0]
    with pytest.raises(QuerySyntaxError, match=r"count\(\) is an aggregate, not a search") as bad:
        parse_pipe("event.type:error count()")
    assert bad.value.column == 18


def test_a_pipe_in_a_plain_search_is_refused_at_its_column() -> None:
    with pytest.raises(QuerySyntaxError, match=r"takes no '\|' stages") as refused:
        compile_query("event.type:transaction | count() by transaction")
    assert refused.value.column == 24
    assert compile_query('"a | b"').warnings == ()  # quoted, it is text to search for


# --- through HTTP ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(server: StubServer) -> StubServer:
    """The shared server with one error event, derived before the tests read."""
    post_event(server, {"event_id": "a" * 32, "message": "boom", "level": "error"})
    StubClient(server.url).events()  # read barrier: the event is derived
    return server


def get(server: StubServer, path: str, **params: object) -> httpx.Response:
    return httpx.get(f"{server.url}{path}", params=params)  # type: ignore[arg-type]


def test_the_events_api_answers_matches_and_warnings(server: StubServer) -> None:
    body = get(server, "/stub/api/events", query="type:error").json()
    assert body["data"] == []
    assert "did you mean `event.type:error`" in body["warnings"][0]
    clean = get(server, "/stub/api/events", query="event.type:default").json()
    assert (len(clean["data"]), clean["warnings"]) == (1, [])


def test_explain_discover_and_pipe_answers_carry_warnings(server: StubServer) -> None:
    explain = get(server, "/stub/api/explain", query="type:error").json()
    assert "`event.type:error`" in explain["warnings"][0]
    discover = get(server, "/stub/api/discover", field="count()", query="type:error").json()
    assert "`event.type:error`" in discover["warnings"][0]
    pipe = get(server, "/stub/api/query", q="type:error | count()").json()
    assert "`event.type:error`" in pipe["warnings"][0]


def test_sentrys_discover_endpoint_keeps_its_shape_with_warnings_in_meta(
    server: StubServer,
) -> None:
    path = "/api/0/organizations/acme/events/"
    body = get(server, path, field="count()", query="type:error").json()
    assert set(body) == {"data", "meta"}
    assert "`event.type:error`" in body["meta"]["warnings"][0]
    assert body["meta"]["fields"] == {"count()": "integer"}


def test_a_pipe_in_a_search_is_a_400_that_names_the_pipe_form(server: StubServer) -> None:
    text = "event.type:transaction | count() by transaction"
    response = get(server, "/stub/api/events", query=text)
    assert response.status_code == 400
    body = response.json()
    assert "run the whole text as a pipe query" in body["detail"]
    assert (body["column"], body["query"]) == (24, text)
    answer = get(server, "/stub/api/discover", field="count()", query=text)
    assert answer.status_code == 400


def test_the_client_raises_syntax_errors_with_the_query_and_a_caret(server: StubServer) -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        StubClient(server.url).events("level:error ((")
    error = raised.value
    assert isinstance(error, ValueError)
    assert str(error).splitlines()[1:] == ["  level:error ((", f"  {' ' * (error.column - 1)}^"]
    assert error.query == "level:error (("


# --- the CLI --------------------------------------------------------------------------------


def cli(server: StubServer, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "sentry_stub", *args, "--url", server.url]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_cli_events_prints_warnings_to_stderr(server: StubServer) -> None:
    result = cli(server, "events", "type:error")
    assert result.returncode == 0
    assert "warning: `type` is not a field" in result.stderr
    assert "did you mean `event.type:error`" in result.stderr
    assert "warning" not in result.stdout


def test_cli_query_refuses_an_aggregate_where_the_search_belongs(server: StubServer) -> None:
    result = cli(server, "query", "count()")
    assert result.returncode == 1
    assert "(0 rows)" not in result.stdout
    assert "count() is an aggregate, not a search" in result.stderr
    assert "  count()\n  ^" in result.stderr
    counted = cli(server, "query", "| count()")
    assert counted.returncode == 0
    assert "(1 row)" in counted.stdout


def test_cli_events_refuses_a_pipe_in_its_search(server: StubServer) -> None:
    result = cli(server, "events", "level:error | count()")
    assert result.returncode == 1
    assert "run the whole text as a pipe query" in result.stderr
    assert "(0 rows)" not in result.stdout
