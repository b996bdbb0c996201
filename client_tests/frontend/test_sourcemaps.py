"""Would Sentry show the React app's errors with their original source?

The app is built once per session by Vite in production mode with source maps (the builds are
cached by their variables and the app's sources). Each test copies the build, runs the real
``sentry-cli`` on the copy as CI does (3.x ``sourcemaps inject`` + ``sourcemaps upload``, or
2.x ``releases files ... upload-sourcemaps``), serves the copy, throws in headless Chromium and
asks the stub whether the frames resolve. The release comes from the page
(``window.SENTRY_RELEASE``, as Sentry's bundler plugins set it), so each test has its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from client_tests.cli.test_sentry_cli import SENTRY_CLI_2, SENTRY_CLI_2_INSTALL, sentry_cli
from client_tests.frontend.build import APP_DIR, build_frontend
from client_tests.frontend.test_frontend_sentry import break_the_widget

THROW = 'throw new Error("Widget failed to render");'
THROW_LINE = next(
    number
    for number, text in enumerate((APP_DIR / "src" / "main.jsx").read_text().splitlines(), 1)
    if THROW in text
)


@pytest.fixture
def release(request: pytest.FixtureRequest) -> str:
    """A release of this test alone, so no other test's upload can answer for it."""
    return f"agentsflowai-frontend@{request.node.name[:40]}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def build(sentry_stub: Any, frontend_builds: Path, tmp_path: Path) -> Callable[..., Path]:
    """A copy of the production build (made once per session) that sentry-cli may change."""

    def copy(environment: str = "production") -> Path:
        env = {"VITE_SENTRY_DSN": sentry_stub.dsn, "VITE_SENTRY_ENVIRONMENT": environment}
        dist = tmp_path / "dist"
        shutil.copytree(build_frontend(env, frontend_builds), dist)
        return dist

    return copy


@pytest.fixture
def cli_env(sentry_stub: Any, tmp_path: Path) -> dict[str, str]:
    """What the frontend's CI sets for sentry-cli, pointed at the stub (HOME is empty)."""
    home = tmp_path / "home"
    home.mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    return {
        **base,
        "HOME": str(home),
        "SENTRY_URL": sentry_stub.url,
        "SENTRY_AUTH_TOKEN": "ci-token",
        "SENTRY_ORG": "agentsflowai",
        "SENTRY_PROJECT": sentry_stub.client.projects()[0]["slug"],  # the DSN's project
        "SENTRY_DISABLE_UPDATE_CHECK": "true",
        "SENTRY_LOAD_DOTENV": "0",
    }


def throw_in_browser(
    sentry_stub: Any, page: Page, serve_directory: Callable[[Path], str], dist: Path, release: str
) -> Any:
    """Open the build with ``release`` on the page, break the widget, return the error event."""
    page.add_init_script(f"window.SENTRY_RELEASE = {{id: {json.dumps(release)}}};")
    page.goto(serve_directory(dist))
    break_the_widget(page)
    [event] = sentry_stub.wait_for(f'event.type:error release:"{release}"')
    return event


def assert_resolves_to_the_throw(event: Any, by: str) -> None:
    frames = event.symbolicated_frames
    looked_up = [frame for frame in frames if frame["in_app"] and frame["checked"]]
    assert looked_up and all(frame["resolved"] for frame in looked_up), frames
    innermost = looked_up[-1]
    assert innermost["source"].endswith("src/main.jsx"), innermost
    assert innermost["line"] == THROW_LINE
    assert THROW in innermost["context_line"]
    assert innermost["function"] == "BrokenWidget"
    assert innermost["resolved_by"] == by


def test_3x_inject_then_upload_resolves_by_debug_id(
    sentry_stub, page, serve_directory, build, cli_env, release
):
    dist = build()
    sentry_cli(cli_env, "sourcemaps", "inject", str(dist))
    sentry_cli(cli_env, "sourcemaps", "upload", str(dist))  # no release: the debug ids suffice
    event = throw_in_browser(sentry_stub, page, serve_directory, dist, release)

    report = sentry_stub.assert_sourcemaps_resolve()
    assert report["checked"] == 1
    assert_resolves_to_the_throw(event, "debug id")


def test_2x_upload_sourcemaps_resolves_by_release_and_url(
    sentry_stub, page, serve_directory, build, cli_env, release
):
    """The mission's CI step, which only sentry-cli 2.x has."""
    if not SENTRY_CLI_2.exists():
        pytest.fail(f"sentry-cli 2.x is missing at {SENTRY_CLI_2}; install: {SENTRY_CLI_2_INSTALL}")
    dist = build()
    sentry_cli(cli_env, "releases", "new", release, binary=SENTRY_CLI_2)
    upload = ("releases", "files", release, "upload-sourcemaps", str(dist), "--rewrite")
    sentry_cli(cli_env, *upload, binary=SENTRY_CLI_2)
    event = throw_in_browser(sentry_stub, page, serve_directory, dist, release)

    sentry_stub.assert_sourcemaps_resolve(f'release:"{release}"')
    assert_resolves_to_the_throw(event, "release")


def failure(sentry_stub: Any) -> str:
    with pytest.raises(AssertionError) as raised:
        sentry_stub.assert_sourcemaps_resolve()
    return str(raised.value)


def test_a_wrong_release_names_the_release_that_has_the_file(
    sentry_stub, page, serve_directory, build, cli_env, release
):
    dist = build()
    sentry_cli(cli_env, "sourcemaps", "upload", "--release", f"{release}-other", str(dist))
    event = throw_in_browser(sentry_stub, page, serve_directory, dist, release)

    message = failure(sentry_stub)
    assert f"no artifacts were uploaded for release {release!r}" in message
    # The same build may be uploaded for other tests' releases too: all of them are named.
    assert "was uploaded for release" in message and f"'{release}-other'" in message
    assert not any(frame["resolved"] for frame in event.symbolicated_frames)


def test_a_wrong_dist_is_a_dist_mismatch(
    sentry_stub, page, serve_directory, build, cli_env, release
):
    dist = build()
    sentry_cli(cli_env, "sourcemaps", "upload", "--release", release, "--dist", "web", str(dist))
    throw_in_browser(sentry_stub, page, serve_directory, dist, release)

    message = failure(sentry_stub)
    assert "dist mismatch: the event's dist is none" in message
    assert "has artifacts for dist 'web'" in message


def test_maps_uploaded_before_inject_leave_the_debug_id_unknown(
    sentry_stub, page, serve_directory, build, cli_env, release
):
    # A build of its own: the same build, injected and uploaded by another test, has the same ids.
    dist = build(environment="before-inject")
    sentry_cli(cli_env, "sourcemaps", "upload", "--release", f"{release}-upload", str(dist))
    sentry_cli(cli_env, "sourcemaps", "inject", str(dist))
    event = throw_in_browser(sentry_stub, page, serve_directory, dist, release)

    message = failure(sentry_stub)
    [image] = event["debug_meta"]["images"]
    assert f"debug id {image['debug_id']}" in message
    assert "was not uploaded (were the files injected after the upload?" in message


def test_no_upload_at_all(sentry_stub, page, serve_directory, build, release):
    throw_in_browser(sentry_stub, page, serve_directory, build(), release)

    message = failure(sentry_stub)
    assert f"no artifacts were uploaded for release {release!r}" in message
    assert "would stay minified in Sentry" in message


def test_the_cli_check_answers_the_same(sentry_stub, page, serve_directory, build, release):
    throw_in_browser(sentry_stub, page, serve_directory, build(), release)
    done = sentry_cli_check(sentry_stub, f'release:"{release}"', "--json")
    assert done.returncode == 1
    [event] = json.loads(done.stdout)["events"]
    assert event["release"] == release and not event["resolved"]


def sentry_cli_check(sentry_stub: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """``sentry-stub check sourcemaps`` from the shell, on what arrived in this test."""
    command = [str(Path(sys.executable).parent / "sentry-stub"), "check", "sourcemaps", *args]
    command += ["--url", sentry_stub.url, "--after", str(sentry_stub.cursor)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)
