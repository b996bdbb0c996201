"""The route table (``routing.endpoints``) against what the server answers over HTTP.

Every route the table lists is asked: with Relay's CORS or none (a preflight and a real answer),
open to any Host or behind the guard, and with a body one byte past the route's own limit (413).
Small limits in the config keep the bodies small; the web API's fixed 32 MiB upload limits are
checked through ``Content-Length``, which is refused before the body is read.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import httpx
import pytest

from sentry_stub import StubServer
from sentry_stub.app import StubApp
from sentry_stub.routing import Endpoint, Policy, RoutePolicies, healthy

KEY = "0123456789abcdef0123456789abcdef"
PARAMS = {
    "project_id": "1",
    "event_id": "a" * 32,
    "sentry_key": KEY,
    "monitor_slug": "nightly",
    "org": "sentry",
    "project": "web",
    "version": "1.0",
    "file_id": "1",
    "item_id": "1",
    "kind": "spans",
    "issue_id": "1",
    "fault_id": "1",
}
LIMITS = """
[limits]
max_envelope_size = 3000
max_event_size = 2000
max_attachments_size = 4000
max_container_size = 5000
max_check_in_size = 1500
max_api_payload_size = 2500
"""
SMALL = 1024 * 1024  # limits up to this are tested with real bodies
EVIL = "http://evil.example"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StubServer]:
    config = tmp_path_factory.mktemp("routing") / "sentry-stub.toml"
    config.write_text(LIMITS)
    with StubServer(config=config) as stub:
        yield stub


@pytest.fixture(scope="module")
def table(server: StubServer) -> list[Endpoint]:
    assert isinstance(server.app, StubApp)
    return server.app.endpoints


def url_of(endpoint: Endpoint) -> str:
    """The route's path with its parameters filled in, and the DSN key for ingest."""
    path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: PARAMS[m[1]], endpoint.path)
    if endpoint.path.endswith("/wait"):
        return f"{path}?timeout=0"  # the long poll answers at once
    key_in_path = "{sentry_key}" in endpoint.path
    return (
        f"{path}?sentry_key={KEY}" if endpoint.policy is Policy.INGEST and not key_in_path else path
    )


def headers_for(endpoint: Endpoint) -> dict[str, str]:
    """What an allowed client sends: JSON, and a token for the web API."""
    return {"Content-Type": "application/json", "Authorization": "Bearer ci-token"}


def test_the_table_lists_each_route_and_method_once(table: list[Endpoint]) -> None:
    pairs = [(e.path, m) for e in table for m in e.methods]
    assert len(pairs) == len(set(pairs))
    ingest = {e.path for e in table if e.policy is Policy.INGEST}
    assert {"/api/{project_id}/envelope/", "/tunnel", "/api/store/"} <= ingest


def test_each_path_answers_under_its_routes_policy(table: list[Endpoint]) -> None:
    policies = RoutePolicies(table)
    for endpoint in table:
        assert policies(url_of(endpoint).partition("?")[0]) is endpoint.policy, endpoint.path


def test_cors_and_the_guard_follow_the_table_not_a_path_prefix() -> None:
    policies = RoutePolicies(
        [
            Endpoint("/custom/{x}/", ("POST",), healthy, Policy.INGEST),
            Endpoint("/api/7/watched/", ("GET",), healthy, Policy.GUARDED),
            Endpoint("/api/7/probe/", ("GET",), healthy, Policy.OPEN),
        ]
    )
    assert policies.is_ingest("/custom/a/") and policies.is_open("/custom/a/")
    assert not policies.is_open("/api/7/watched/")  # under /api/, but its route is guarded
    assert policies.is_open("/api/7/probe/") and not policies.is_ingest("/api/7/probe/")
    # Paths no route takes answer under their area's policy (a 404, a redirect).
    assert policies("/api/7/nothing/") is Policy.INGEST
    assert policies("/api/0/nothing/") is Policy.GUARDED
    assert policies("/api/relay/healthcheck/nothing/") is Policy.OPEN
    assert policies("/custom") is Policy.GUARDED
    # An area's name without its slash is that area (the answer is a redirect into it).
    assert policies("/api/0") is Policy.GUARDED and policies("/api/relay") is Policy.GUARDED
    # Dot segments lead out of the area, to what resolves them (the web UI's files).
    for path in ("/api/7/../../index.html", "/api/x/..%2F..%2Findex.html", "/api/7/./a"):
        assert policies(path) is Policy.GUARDED, path


def test_writes_must_be_json_where_a_route_without_a_bearer_token_takes_them(
    table: list[Endpoint],
) -> None:
    """The guard's JSON-only rule, by route (not by path prefix): not behind a bearer token
    (the web API's routes), and not where no route takes the request (nothing to change)."""
    policies = RoutePolicies(table)
    for endpoint in table:
        path = url_of(endpoint).partition("?")[0]
        for method in endpoint.methods:
            assert policies.needs_json(method, path) is not endpoint.bearer_token, (method, path)
    assert {e.path for e in table if e.bearer_token} >= {
        "/api/0/organizations/{org}/chunk-upload/",
        "/api/0/organizations/{org}/releases/{version}/files/",
    }
    assert not policies.needs_json("POST", "/api/0/organizations/sentry/nothing/")
    assert not policies.needs_json("POST", "/stub/api/events")  # a 405: GET only
    custom = RoutePolicies(
        [
            Endpoint("/custom/upload/", ("POST",), healthy, Policy.GUARDED, bearer_token=True),
            Endpoint("/api/0/custom/", ("POST",), healthy, Policy.GUARDED),
        ]
    )
    assert not custom.needs_json("POST", "/custom/upload/")
    assert custom.needs_json("POST", "/api/0/custom/")


def test_each_api_is_answered_by_its_own_package(table: list[Endpoint]) -> None:
    """``api/`` answers the stub's own ``/stub/api/*``, ``webapi/`` Sentry's ``/api/0/*`` (but for
    Relay's health check there)."""
    packages = {"/stub/api/": "sentry_stub.api.", "/api/0/": "sentry_stub.webapi."}
    for endpoint in table:
        for prefix, package in packages.items():
            if endpoint.policy is Policy.GUARDED and endpoint.path.startswith(prefix):
                assert endpoint.handler.__module__.startswith(package), endpoint.path


def test_ingest_routes_grant_relays_cors_and_others_none(
    server: StubServer, table: list[Endpoint]
) -> None:
    with httpx.Client(base_url=server.url) as http:
        for endpoint in table:
            url = url_of(endpoint)
            preflight = http.options(
                url, headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"}
            )
            method = endpoint.methods[0]
            answer = http.request(method, url, headers={**headers_for(endpoint), "Origin": EVIL})
            where = (method, endpoint.path, answer.status_code)
            if endpoint.policy is Policy.INGEST:
                assert preflight.status_code == 200, endpoint.path
                assert preflight.headers["access-control-allow-origin"] == "*"
                assert preflight.headers["access-control-allow-methods"] == "POST"
                assert answer.headers["access-control-allow-origin"] == "*", where
            else:
                assert not preflight.is_success, (endpoint.path, preflight.status_code)
                assert "access-control-allow-origin" not in preflight.headers, endpoint.path
                assert "access-control-allow-origin" not in answer.headers, where


def test_only_guarded_routes_refuse_other_hosts(server: StubServer, table: list[Endpoint]) -> None:
    with httpx.Client(base_url=server.url) as http:
        for endpoint in table:
            method = endpoint.methods[0]
            answer = http.request(
                method, url_of(endpoint), headers={**headers_for(endpoint), "Host": "evil.example"}
            )
            refused = answer.status_code == 421
            assert refused == (endpoint.policy is Policy.GUARDED), (method, endpoint.path)


def test_a_body_one_byte_past_the_routes_limit_is_413(
    server: StubServer, table: list[Endpoint]
) -> None:
    bodied = [e for e in table if e.body_limit]
    assert {e.policy for e in bodied} == {Policy.INGEST, Policy.GUARDED}
    with httpx.Client(base_url=server.url) as http:
        for endpoint in bodied:
            method = "POST" if "POST" in endpoint.methods else endpoint.methods[0]
            url, headers = url_of(endpoint), headers_for(endpoint)
            if endpoint.body_limit > SMALL:
                status = announced_status(server, method, url, endpoint.body_limit + 1)
            else:
                body = b"x" * (endpoint.body_limit + 1)
                status = http.request(method, url, content=body, headers=headers).status_code
            assert status == 413, (method, endpoint.path, endpoint.body_limit, status)


def test_a_body_at_the_limit_is_read(server: StubServer, table: list[Endpoint]) -> None:
    """The twin of the 413 test: exactly the limit is not refused for its size."""
    with httpx.Client(base_url=server.url) as http:
        for endpoint in table:
            if not endpoint.body_limit or endpoint.body_limit > SMALL:
                continue
            method = "POST" if "POST" in endpoint.methods else endpoint.methods[0]
            body = b"x" * endpoint.body_limit
            answer = http.request(
                method, url_of(endpoint), content=body, headers=headers_for(endpoint)
            )
            assert answer.status_code != 413, (method, endpoint.path, answer.text)


def announced_status(server: StubServer, method: str, url: str, length: int) -> int:
    """The status of a request that announces ``length`` bytes and sends none of them."""
    host, port = server.url.removeprefix("http://").split(":")
    request = (
        f"{method} {url} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer ci-token\r\n"
        f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {length}\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request.encode())
        status_line = connection.recv(1024).split(b"\r\n", 1)[0]
    return int(status_line.split()[1])


def raw_get(server: StubServer, path: str, host: str) -> bytes:
    """The head of the answer to a GET of ``path`` exactly as written (httpx would resolve dot
    segments before sending)."""
    address, port = server.url.removeprefix("http://").split(":")
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    with socket.create_connection((address, int(port)), timeout=10) as connection:
        connection.sendall(request.encode())
        answer = b""
        while b"\r\n\r\n" not in answer and (chunk := connection.recv(4096)):
            answer += chunk
    return answer.partition(b"\r\n\r\n")[0].lower()


@pytest.mark.parametrize(
    "path",
    [
        "/api/1/../../index.html",
        "/api/x/..%2F..%2Findex.html",
        "/api/relay/healthcheck/../../../index.html",
    ],
)
def test_dot_segments_do_not_carry_the_web_ui_into_an_open_area(
    server: StubServer, path: str
) -> None:
    head = raw_get(server, path, "evil.example")
    assert head.startswith(b"http/1.1 421"), head
    assert b"access-control-allow-origin" not in head


def test_starlette_serves_only_the_guarded_routes(
    server: StubServer, table: list[Endpoint]
) -> None:
    """The lean path takes ingest and health checks; nothing is served twice."""
    assert isinstance(server.app, StubApp)
    served = {(r.path, m) for r in server.app.starlette.routes for m in r.methods - {"HEAD"}}  # type: ignore[attr-defined]
    guarded = {(e.path, m) for e in table if e.policy is Policy.GUARDED for m in e.methods}
    assert served == guarded


def test_ingest_paths_answer_wrong_methods_and_slashes_as_starlette_did(server: StubServer) -> None:
    with httpx.Client(base_url=server.url) as http:
        wrong_method = http.get("/api/1/envelope/")
        assert (wrong_method.status_code, wrong_method.text) == (405, "Method Not Allowed")
        assert wrong_method.headers["allow"] == "POST"
        assert wrong_method.headers["access-control-allow-origin"] == "*"
        no_slash = http.post(f"/api/1/envelope?sentry_key={KEY}", content=b"{}")
        assert no_slash.status_code == 307
        assert no_slash.headers["location"].endswith(f"/api/1/envelope/?sentry_key={KEY}")
        unknown = http.get("/api/1/nothing/")  # the web UI has no such file
        assert unknown.status_code == 404
        assert unknown.headers["access-control-allow-origin"] == "*"
