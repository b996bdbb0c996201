"""The release check: naming, Sentry's own release rules, environments, web-API releases."""

from __future__ import annotations

import json
import sqlite3
import uuid

import pytest

from sentry_stub import StubServer
from sentry_stub.checks.inputs import known_releases
from sentry_stub.checks.releases import NO_WEB_API_RELEASES, EventRelease, check_releases
from sentry_stub.client import StubApiError, StubClient
from sentry_stub.view import StubView
from tests.sending import post_event

SHA = "3f2c9a1b7e4d5c6b8a9f0e1d2c3b4a5f6e7d8c9b"


def event(release: str | None, environment: str | None = "production") -> EventRelease:
    return EventRelease(uuid.uuid4().hex, "agentsflowai-backend", release, environment)


def problems(*events: EventRelease, **options) -> list[str]:
    return [p["problem"] for p in check_releases(events, **options)["problems"]]


@pytest.mark.parametrize(
    "release", ["agentsflowai-backend@1.0.0", f"agentsflowai-backend@{SHA}", SHA, SHA[:12]]
)
def test_project_at_version_and_git_shas_pass(release):
    report = check_releases([event(release)])
    assert report["passed"], report["problems"]
    assert report["web_api_releases"] == f"skipped: {NO_WEB_API_RELEASES}"


@pytest.mark.parametrize(
    ("release", "problem"),
    [
        (None, "the event has no release (set `release` in the SDK options)"),
        ("1.0.0", "does not follow the release naming"),
        ("latest", "Sentry would drop this release: invalid release: restricted release name"),
        ("backend/1.0", "Sentry would drop this release: invalid release: bad characters"),
    ],
)
def test_bad_releases_are_explained(release, problem):
    [found] = problems(event(release))
    assert found.startswith(problem)


def test_pattern_can_require_the_project_slug():
    pattern = r"{project}@\d+\.\d+\.\d+"
    assert problems(event("agentsflowai-backend@1.2.3"), pattern=pattern) == []
    [found] = problems(event("agentsflowai-frontend@1.2.3"), pattern=pattern)
    assert "does not follow the release naming" in found


def test_environments_must_be_allowed():
    assert problems(event("a@1", "staging")) == []
    assert problems(event("a@1", None)) == ["the event has no environment"]
    assert problems(event("a@1", "prod")) == [
        "not one of the allowed environments (development, staging, production)"
    ]
    assert problems(event("a@1", "qa"), environments=["qa"]) == []


def test_web_api_releases_must_exist_and_be_finalized():
    known = {"a@1.0.0": True, "a@1.1.0": False}
    report = check_releases(
        [event("a@1.0.0"), event("a@1.1.0"), event("a@2.0.0")], known_releases=known
    )
    assert report["web_api_releases"].startswith("checked")
    assert [(p["value"], p["problem"]) for p in report["problems"]] == [
        ("a@1.1.0", "the release was created but never finalized"),
        ("a@2.0.0", "no release of this name was created through the web API"),
    ]


def test_a_bad_pattern_is_an_error():
    with pytest.raises(ValueError, match="release pattern '\\(' is not a valid regex"):
        check_releases([], pattern="(")


def test_known_releases_come_from_the_releases_table_when_there_is_one():
    connection = sqlite3.connect(":memory:")
    assert known_releases(connection) is None
    connection.execute("CREATE TABLE releases (version TEXT, date_released TEXT)")
    connection.executemany(
        "INSERT INTO releases VALUES (?, ?)",
        [("a@1.0.0", "2025-01-01T00:00:00Z"), ("a@1.1.0", None)],
    )
    assert known_releases(connection) == {"a@1.0.0": True, "a@1.1.0": False}


# --- through the HTTP API ---------------------------------------------------------------------


def send_event(server: StubServer, **fields) -> None:
    post_event(server, {"event_id": uuid.uuid4().hex, "message": "hello", **fields})


def test_assert_releases_reports_each_event(server):
    view = StubView(StubClient(server.url))
    send_event(server, release="agentsflowai-backend@1.0.0", environment="staging")
    send_event(server, release="1.0", environment="prod")
    view.wait_for(count=2)

    with pytest.raises(AssertionError) as failure:
        view.assert_releases()
    message = str(failure.value)
    assert "2 problem(s) in 2 event(s)" in message
    assert "release '1.0': does not follow the release naming" in message
    assert "environment 'prod': not one of the allowed environments" in message
    assert f"web API releases: skipped: {NO_WEB_API_RELEASES}" in message

    report = view.assert_releases(environments=["staging", "prod"], pattern=r"[\w-]+@[\d.]+|1\.0")
    assert report["releases"] == {"agentsflowai-backend@1.0.0": 1, "1.0": 1}


def test_api_names_a_bad_pattern(server):
    with pytest.raises(StubApiError, match="is not a valid regex"):
        StubClient(server.url).check_releases(pattern="[")


def test_cli_check_exits_1_when_the_check_fails(server, capsys):
    from sentry_stub.cli import main

    cursor = str(StubClient(server.url).cursor())
    send_event(server, release="agentsflowai-backend@2.0.0", environment="qa")
    StubView(StubClient(server.url), cursor=int(cursor)).wait_for()
    common = ["--url", server.url, "--after", cursor]

    assert main(["check", "releases", *common]) == 1
    assert "environment 'qa': not one of the allowed environments" in capsys.readouterr().out
    assert main(["check", "releases", *common, "--environments", "qa", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["environments"] == {"qa": 1}
    assert main(["check", "pii", *common]) == 0
    assert "no PII leaks in 1 event." in capsys.readouterr().out
    assert main(["check", "sampling", "0.001", "--category", "error", *common]) == 1
    assert "likely cause: no client report arrived at all" in capsys.readouterr().out
