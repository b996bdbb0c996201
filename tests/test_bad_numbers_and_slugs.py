"""Out-of-range integers, item lengths Relay refuses, and project slugs Sentry refuses.

Against a real ``sentry-stub serve`` process over HTTP: each is a 400 that names the parameter,
the item or the slug, and the server goes on answering (it used to answer 500 and reset the
connection for integers past SQLite's range).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from client_tests.support import ServerProcess

KEY = "b" * 32
HUGE = "99999999999999999999"  # past 2^63-1, SQLite's largest integer


@pytest.fixture
def http(server_process: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server_process.url, timeout=30) as client:
        yield client


def post_envelope(http: httpx.Client, body: bytes, project: str = "1") -> httpx.Response:
    return http.post(f"/api/{project}/envelope/?sentry_key={KEY}", content=body)


def test_a_project_id_past_sqlites_range_is_a_400_naming_it(http: httpx.Client) -> None:
    response = post_envelope(http, b'{}\n{"type":"event"}\n{}', project=HUGE + "999")
    assert (response.status_code, response.json()) == (
        400,
        {
            "detail": "bad project path parameter",
            "causes": [f"project id {HUGE}999 is past 9223372036854775807"],
        },
    )
    assert post_envelope(http, b'{}\n{"type":"event"}\n{}').status_code == 200


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/stub/api/events?after=1e400", "after"),
        (f"/stub/api/events?limit={HUGE}", "limit"),
        (f"/stub/api/envelopes?after={HUGE}", "after"),
        (f"/stub/api/events?project={HUGE}", "project"),
        (f"/api/0/organizations/sentry/events/?field=message&project={HUGE}", "project"),
        ("/stub/api/wait?timeout=1e400", "timeout"),
        (f"/stub/api/checks/pii?item={HUGE}", "item"),
    ],
)
def test_an_out_of_range_query_parameter_is_a_400_naming_it(
    http: httpx.Client, path: str, parameter: str
) -> None:
    response = http.get(path)
    assert response.status_code == 400, response.text
    assert f"parameter '{parameter}'" in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "parameter"),
    [
        ("GET", f"/stub/api/items/{HUGE}/content", "item_id"),
        ("POST", f"/stub/api/issues/{HUGE}/resolve", "issue_id"),
        ("DELETE", f"/api/0/organizations/sentry/releases/1.0/files/{HUGE}/", "file_id"),
    ],
)
def test_a_row_id_past_the_range_in_the_path_is_a_400_naming_it(
    http: httpx.Client, method: str, path: str, parameter: str
) -> None:
    """Found by schemathesis: such an id reached SQLite and the answer was a 500."""
    headers = {"Content-Type": "application/json", "Authorization": "Bearer ci-token"}
    response = http.request(method, path, headers=headers)
    assert response.status_code == 400, response.text
    assert f"path parameter '{parameter}' must be at most" in response.json()["detail"]


def test_a_dsn_project_id_past_the_range_is_refused_as_a_bad_dsn(http: httpx.Client) -> None:
    dsn = f"http://{KEY}@127.0.0.1/{HUGE}"
    response = http.post("/tunnel", content=b'{"dsn":"' + dsn.encode() + b'"}\n')
    assert response.status_code == 401
    assert response.json()["causes"] == [f"dsn {dsn!r}: project id is past 9223372036854775807"]


@pytest.mark.parametrize(
    ("length", "cause"),
    [
        ("-1", "invalid item header: invalid value: integer `-1`, expected u32 (length)"),
        ("4294967296", "invalid item header: invalid value: integer `4294967296`, expected u32"),
    ],
)
def test_a_length_relay_cannot_read_fails_the_envelope(
    http: httpx.Client, length: str, cause: str
) -> None:
    before = http.get("/stub/api/cursor").json()["cursor"]
    body = b'{}\n{"type":"attachment","length":' + length.encode() + b"}\nabc\n"
    response = post_envelope(http, body)
    assert response.status_code == 400
    assert response.json()["detail"] == "invalid event envelope"
    [described] = response.json()["causes"]
    assert described.startswith(cause)
    assert http.get("/stub/api/cursor").json()["cursor"] == before  # nothing stored


def test_a_length_past_the_body_is_an_unexpected_end_of_file(http: httpx.Client) -> None:
    response = post_envelope(http, b'{}\n{"type":"attachment","length":50}\nabc\n')
    assert (response.status_code, response.json()["detail"]) == (400, "invalid event envelope")
    assert response.json()["causes"] == [
        "unexpected end of file: length 50 but only 4 bytes remain (item 0, byte 37)"
    ]


@pytest.mark.parametrize("slug", ["My-App", "12345", "a" * 51, "web app", "café", ""])
def test_an_open_mode_slug_sentry_refuses_is_a_400_naming_it(http: httpx.Client, slug: str) -> None:
    response = http.post("/stub/api/projects", json={"slug": slug})
    assert response.status_code == 400
    if slug:
        assert response.json()["detail"] == f"invalid project slug {slug!r}"
    assert all(p["slug"] != slug for p in http.get("/stub/api/projects").json()["data"])


@pytest.mark.parametrize("slug", ["web", "my_app-2", "a" * 50, "1st"])
def test_slugs_sentry_accepts_make_projects(http: httpx.Client, slug: str) -> None:
    response = http.post("/stub/api/projects", json={"slug": slug})
    assert response.status_code == 201, response.text
    assert response.json()["slug"] == slug


def test_dsn_for_refuses_a_bad_slug(tmp_path: Path) -> None:
    from sentry_stub.server import StubServer
    from sentry_stub.storage.projects import InvalidSlug

    with StubServer(db=tmp_path / "s.sqlite3") as stub, pytest.raises(InvalidSlug):
        stub.dsn_for("Not A Slug")
