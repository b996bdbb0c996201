"""The source map check over HTTP: a bundle assembled through the web API as sentry-cli does it,
events posted as an SDK posts them, and the answers of the API, the plugin view and the CLI."""

from __future__ import annotations

import hashlib
import json
import uuid

import httpx
import pytest

from sentry_stub import StubServer
from sentry_stub.cli import main
from sentry_stub.client import StubApiError, StubClient
from sentry_stub.view import StubView
from tests.sending import post_event
from tests.test_checks_sourcemaps import MAP, MINIFIED
from tests.test_webapi import HEADERS, api, bundle_bytes, upload

pytest.importorskip("symbolic", reason="symbolic has wheels for Linux x86-64/arm64, macOS only")

ORG = "frontend"
RELEASE = "webapp@1.0.0"
URL = "http://127.0.0.1:5173/static/app.min.js"


@pytest.fixture(scope="module")
def uploaded(server: StubServer) -> str:
    """A bundle of ``RELEASE`` for the default project, whose slug this is."""
    slug = StubClient(server.url).projects()[0]["slug"]
    upload_bundle(server.url, slug)
    return slug


def upload_bundle(url: str, slug: str) -> None:
    """The hand-made build of ``RELEASE``, assembled as sentry-cli assembles an upload."""
    manifest = {
        "files": {
            "files/_/_/static/app.min.js": {
                "type": "minified_source",
                "url": "~/static/app.min.js",
            },
            "files/_/_/static/app.min.js.map": {
                "type": "source_map",
                "url": "~/static/app.min.js.map",
            },
        },
        "release": RELEASE,
    }
    members = {
        "files/_/_/static/app.min.js": MINIFIED,
        "files/_/_/static/app.min.js.map": json.dumps(MAP).encode(),
    }
    data = bundle_bytes(manifest, members)
    checksum = hashlib.sha1(data).hexdigest()
    request = {"checksum": checksum, "chunks": [checksum], "projects": [slug], "version": RELEASE}
    with httpx.Client(base_url=url, headers=HEADERS) as http:
        assert upload(http, api(ORG), data).status_code == 200
        done = http.post(f"{api(ORG)}/artifactbundle/assemble/", json=request).json()
    assert done["state"] == "ok"


def js_error(release: str, *extra_frames: dict) -> dict:
    frame = {"filename": URL, "abs_path": URL, "lineno": 1, "colno": 20, "in_app": True}
    frames = [*extra_frames, frame]
    return {
        "event_id": uuid.uuid4().hex,
        "platform": "javascript",
        "release": release,
        "environment": "production",
        "exception": {
            "values": [{"type": "Error", "value": "x", "stacktrace": {"frames": frames}}]
        },
    }


def test_an_uploaded_release_resolves(server: StubServer, view: StubView, uploaded: str) -> None:
    post_event(server, js_error(RELEASE))
    report = view.assert_sourcemaps_resolve(project=uploaded)
    assert report["passed"] and report["checked"] == 1
    [event] = view.wait_for("event.type:error")
    [frame] = event.symbolicated_frames
    assert frame["resolved"] is True
    assert (frame["source"], frame["line"], frame["column"]) == ("../src/app.js", 1, 16)
    assert frame["context_line"] == MAP["sourcesContent"][0]


def test_a_release_without_artifacts_fails_everywhere_with_its_reason(
    server: StubServer, view: StubView, uploaded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    post_event(server, js_error("webapp@2.0.0"))
    post_event(server, {**js_error(RELEASE), "platform": "python"})  # not JavaScript: skipped
    with pytest.raises(AssertionError) as failure:
        view.assert_sourcemaps_resolve()
    message = str(failure.value)
    assert "1 in-app frame of 1 JavaScript event would stay minified" in message
    assert f"{URL}:1:20" in message
    assert (
        "no artifacts were uploaded for release 'webapp@2.0.0'; "
        f"~/static/app.min.js was uploaded for release '{RELEASE}'"
    ) in message

    argv = ["check", "sourcemaps", "release:webapp@2.0.0", "--url", server.url]
    assert main([*argv, "--after", str(view.cursor), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    [frame] = report["events"][0]["frames"]
    assert {"abs_path", "lineno", "colno", "resolved", "reason", "source", "line", "column"} <= (
        set(frame)
    )
    assert frame["abs_path"] == URL and frame["resolved"] is False
    assert main([*argv, "--after", str(view.cursor)]) == 1
    assert "would stay minified" in capsys.readouterr().out

    releases = view.client.check_releases(after=view.cursor)
    [problem] = [p for p in releases["problems"] if p["value"] == "webapp@2.0.0"]
    assert "no source maps were uploaded for this release" in problem["problem"]


def test_no_javascript_event_is_no_pass(view: StubView) -> None:
    with pytest.raises(AssertionError, match="no JavaScript events matched"):
        view.assert_sourcemaps_resolve('release:"nothing"')


def test_a_bad_query_is_a_400(view: StubView) -> None:
    with pytest.raises(StubApiError) as error:
        view.client.check_sourcemaps("release:(", after=view.cursor)
    assert error.value.status == 400
