"""Sentry's Discover endpoint, answered from the stub's data in Sentry's shapes."""

from __future__ import annotations

import httpx
import pytest
import sentry_sdk

from sentry_stub import StubServer
from sentry_stub.client import StubClient
from sentry_stub.view import StubView


@pytest.fixture(scope="module")
def server(server: StubServer) -> StubServer:
    """The shared server with five messages from a real sentry-sdk (three errors, two warnings)."""
    view = StubView(StubClient(server.url))
    sentry_sdk.init(dsn=server.dsn, default_integrations=False, environment="production")
    for level, count in (("error", 3), ("warning", 2)):
        for _ in range(count):
            sentry_sdk.capture_message("disk almost full", level=level)
    sentry_sdk.flush()
    view.wait_for(count=5)
    return server


def discover(server: StubServer, **params) -> httpx.Response:
    return httpx.get(f"{server.url}/api/0/organizations/acme/events/", params=params)


def test_grouped_count_with_meta(server: StubServer) -> None:
    response = discover(server, field=["level", "count()"], sort="-count()", project="-1")
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == [{"level": "error", "count()": 3}, {"level": "warning", "count()": 2}]
    assert body["meta"]["fields"] == {"level": "string", "count()": "integer"}


def test_pagination_follows_sentry_cursors(server: StubServer) -> None:
    first = discover(server, field=["id", "level"], per_page=2)
    assert len(first.json()["data"]) == 2
    assert 'rel="previous"; results="false"; cursor="0:0:1"' in first.headers["link"]
    assert 'rel="next"; results="true"; cursor="0:2:0"' in first.headers["link"]
    last = discover(server, field=["id", "level"], per_page=2, cursor="0:4:0")
    assert len(last.json()["data"]) == 1
    assert 'rel="next"; results="false"' in last.headers["link"]
    ids = {row["id"] for page in (first, last) for row in page.json()["data"]}
    middle = discover(server, field=["id", "level"], per_page=2, cursor="0:2:0")
    ids |= {row["id"] for row in middle.json()["data"]}
    assert len(ids) == 5


@pytest.mark.parametrize("org", ["%1F", "%C3%A9t%C3%A9", "a%0Ab"])
def test_pagination_links_stay_valid_headers_whatever_the_org(server: StubServer, org: str) -> None:
    """The org comes back decoded; the link quotes it again (a control character in a header
    made the server drop the connection without an answer; found by schemathesis)."""
    answer = httpx.get(
        f"{server.url}/api/0/organizations/{org}/events/", params={"field": "id", "per_page": 2}
    )
    assert answer.status_code == 200, answer.text
    next_page = answer.headers["link"].split(", ")[1]
    assert next_page.startswith(f"<{server.url}/api/0/organizations/{org}/events/?")
    assert next_page.isascii() and next_page.isprintable()


def test_environment_and_query_filters(server: StubServer) -> None:
    body = discover(server, field=["count()"], query="level:warning", environment="production")
    assert body.json()["data"] == [{"count()": 2}]
    none = discover(server, field=["count()"], environment="staging")
    assert none.json()["data"] == [{"count()": 0}]


def test_errors_name_the_problem(server: StubServer) -> None:
    missing = discover(server)
    assert missing.status_code == 400
    assert "field" in missing.json()["detail"]
    bad = discover(server, field=["count()"], query="level:[error")
    assert bad.status_code == 400
    assert bad.json()["column"] >= 7
    unknown = discover(server, field=["nope(level)"])
    assert unknown.status_code == 400
    assert "nope" in unknown.json()["detail"]
