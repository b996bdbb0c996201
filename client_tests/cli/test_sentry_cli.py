"""The real ``sentry-cli`` binary against a real ``sentry-stub serve`` process.

The environment is the one the mission's CI sets (``SENTRY_URL``, ``SENTRY_AUTH_TOKEN``,
``SENTRY_ORG``, ``SENTRY_PROJECT``, ``SENTRY_LOG_LEVEL``), and the commands are its release
steps: ``releases new``, ``set-commits --auto``, ``finalize``, source map uploads, deploys.
``sentry-cli`` 3.x comes from the ``sentry-cli`` wheel in the virtualenv; the 2.x-only
``releases files ... upload-sourcemaps`` runs the last 2.x release, which ``scripts/test``
installs into ``.venv/sentry-cli-2``. Each test uses its own organization, so the
"previous release" sentry-cli asks about is always one of that test's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from client_tests.support import ServerProcess
from sentry_stub.client import StubClient
from sentry_stub.view import StubView

VENV_BIN = Path(sys.executable).parent
SENTRY_CLI = VENV_BIN / "sentry-cli"
SENTRY_CLI_2 = VENV_BIN.parent / "sentry-cli-2" / "bin" / "sentry-cli"
SENTRY_CLI_2_INSTALL = (
    '.venv/bin/python -m pip install --target .venv/sentry-cli-2 "sentry-cli==2.58.6"'
)
PROJECT = "agentsflowai-frontend"
MINIFIED = "function greet(n){return'hi '+n}greet('x');\n//# sourceMappingURL=app.min.js.map\n"
SOURCE_MAP = (
    '{"version":3,"file":"app.min.js","sources":["../src/app.js"],"names":["greet","n"],'
    '"mappings":"AAAA,SAASA,MAAMC","sourcesContent":["function greet(n) { return \'hi \' + n }"]}'
)


@pytest.fixture
def org(request: pytest.FixtureRequest) -> str:
    return request.node.name.replace("_", "-").lower()[:50]


@pytest.fixture
def env(stub_process: ServerProcess, org: str, tmp_path: Path) -> dict[str, str]:
    """What CI sets, and nothing of the developer's own Sentry setup (HOME is empty)."""
    home = tmp_path / "home"
    home.mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "CUSTOM_"))}
    return {
        **base,
        "HOME": str(home),
        "SENTRY_URL": stub_process.url,
        "SENTRY_AUTH_TOKEN": "ci-token",
        "SENTRY_ORG": org,
        "SENTRY_PROJECT": PROJECT,
        "SENTRY_LOG_LEVEL": "info",
        "SENTRY_DISABLE_UPDATE_CHECK": "true",
        "SENTRY_LOAD_DOTENV": "0",
    }


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git checkout with two commits and a built ``dist/`` (minified JS plus its map)."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    git(root, "config", "user.name", "Dev")
    git(root, "config", "user.email", "dev@example.com")
    (root / "README").write_text("app\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    dist = root / "dist"
    dist.mkdir()
    (dist / "app.min.js").write_text(MINIFIED)
    (dist / "app.min.js.map").write_text(SOURCE_MAP)
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "build")
    return root


@pytest.fixture
def client(stub_process: ServerProcess) -> StubClient:
    return StubClient(stub_process.url)


@pytest.fixture
def sentry_cli_2() -> Path:
    if not SENTRY_CLI_2.exists():
        pytest.fail(
            f"sentry-cli 2.x is missing at {SENTRY_CLI_2}; scripts/test installs it with: "
            f"{SENTRY_CLI_2_INSTALL}"
        )
    return SENTRY_CLI_2


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def sentry_cli(
    env: dict[str, str], *args: str, cwd: Path | None = None, binary: Path = SENTRY_CLI
) -> str:
    """Run the CLI; fail with its output unless it exits 0. Returns stdout."""
    done = subprocess.run(
        [str(binary), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, (
        f"sentry-cli {' '.join(args)} exited {done.returncode}\n"
        f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    )
    return done.stdout


def only_release(client: StubClient, org: str) -> dict:
    [release] = client.releases(org=org)
    return release


def test_info(env: dict[str, str], stub_process: ServerProcess) -> None:
    out = sentry_cli(env, "info")
    assert f"Sentry Server: {stub_process.url}" in out
    assert "Method: Auth Token" in out
    assert "project:releases" in out


def test_mission_ci_release_steps(
    env: dict[str, str], repo: Path, client: StubClient, org: str
) -> None:
    version = f"{PROJECT}@{git(repo, 'rev-parse', 'HEAD')}"
    env = {**env, "SENTRY_RELEASE": version}
    sentry_cli(env, "releases", "new", version, cwd=repo)
    assert only_release(client, org)["finalized"] is False
    sentry_cli(env, "releases", "set-commits", version, "--auto", cwd=repo)
    sentry_cli(env, "releases", "finalize", version, cwd=repo)

    release = only_release(client, org)
    assert release["version"] == version
    assert release["projects"] == [PROJECT]
    assert release["finalized"] is True and release["date_released"]
    # With no repository integration, --auto sends the local history, newest first.
    commits = release["commits"]
    assert [c["id"] for c in commits] == git(repo, "log", "--format=%H").split()
    assert [c["message"].strip() for c in commits] == ["build", "first"]
    assert commits[0]["author_email"] == "dev@example.com"
    assert {p["path"] for p in commits[0]["patch_set"]} == {
        "dist/app.min.js",
        "dist/app.min.js.map",
    }


def test_set_commits_stops_at_the_previous_release(
    env: dict[str, str], repo: Path, client: StubClient, org: str
) -> None:
    sentry_cli(env, "releases", "new", "1.0.0", cwd=repo)
    sentry_cli(env, "releases", "set-commits", "1.0.0", "--auto", cwd=repo)
    (repo / "CHANGELOG").write_text("1.1.0\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "release 1.1.0")
    sentry_cli(env, "releases", "new", "1.1.0", cwd=repo)
    sentry_cli(env, "releases", "set-commits", "1.1.0", "--auto", cwd=repo)

    [newer] = client.releases(org=org, version="1.1.0")
    assert [c["message"].strip() for c in newer["commits"]] == ["release 1.1.0"]


def test_deploys(env: dict[str, str], repo: Path, client: StubClient, org: str) -> None:
    sentry_cli(env, "releases", "new", "2.0.0", cwd=repo)
    sentry_cli(env, "deploys", "new", "--release", "2.0.0", "-e", "production", "-n", "blue")
    sentry_cli(env, "releases", "deploys", "2.0.0", "new", "-e", "staging", "-t", "30")

    deploys = only_release(client, org)["deploys"]
    assert [(d["environment"], d["name"]) for d in deploys] == [
        ("production", "blue"),
        ("staging", None),
    ]
    assert deploys[1]["dateStarted"] < deploys[1]["dateFinished"]
    assert "staging" in sentry_cli(env, "deploys", "list", "--release", "2.0.0")


def assert_uploaded_build(release: dict) -> None:
    files = {f["name"]: f for f in release["files"]}
    assert set(files) == {"~/app.min.js", "~/app.min.js.map"}
    assert files["~/app.min.js"]["type"] == "minified_source"
    assert files["~/app.min.js"]["sourcemap"] == "app.min.js.map"
    assert files["~/app.min.js.map"]["type"] == "source_map"
    assert release["artifact_bundles"][0]["projects"] == [PROJECT]


def test_sourcemaps_upload(env: dict[str, str], repo: Path, client: StubClient, org: str) -> None:
    sentry_cli(env, "releases", "new", "3.0.0", cwd=repo)
    out = sentry_cli(env, "sourcemaps", "upload", "--release", "3.0.0", "./dist", cwd=repo)
    assert "File processing complete" in out
    assert_uploaded_build(only_release(client, org))
    # The same build again: every chunk is already on the server.
    again = sentry_cli(env, "sourcemaps", "upload", "--release", "3.0.0", "./dist", cwd=repo)
    assert "Nothing to upload, all files are on the server" in again
    assert len(only_release(client, org)["artifact_bundles"]) == 1


def test_sourcemaps_inject_then_upload_by_debug_id(
    env: dict[str, str], repo: Path, client: StubClient, org: str
) -> None:
    sentry_cli(env, "sourcemaps", "inject", "./dist", cwd=repo)
    sentry_cli(env, "releases", "new", "3.1.0", cwd=repo)
    sentry_cli(env, "sourcemaps", "upload", "--release", "3.1.0", "./dist", cwd=repo)
    files = {f["name"]: f for f in only_release(client, org)["files"]}
    debug_id = files["~/app.min.js"]["debug_id"]
    assert debug_id and debug_id == files["~/app.min.js.map"]["debug_id"]
    assert f"//# debugId={debug_id}" in (repo / "dist" / "app.min.js").read_text()


def test_mission_legacy_upload_sourcemaps_with_2x(
    env: dict[str, str], repo: Path, client: StubClient, org: str, sentry_cli_2: Path
) -> None:
    """The mission's frontend step, which exists only in sentry-cli 2.x."""
    assert "sentry-cli 2." in sentry_cli(env, "--version", binary=sentry_cli_2)
    version = f"{PROJECT}@4.0.0"
    sentry_cli(env, "releases", "new", version, cwd=repo, binary=sentry_cli_2)
    sentry_cli(
        env,
        *("releases", "files", version, "upload-sourcemaps", "./dist", "--rewrite"),
        cwd=repo,
        binary=sentry_cli_2,
    )
    sentry_cli(env, "releases", "finalize", version, cwd=repo, binary=sentry_cli_2)
    release = only_release(client, org)
    assert release["finalized"] is True
    assert_uploaded_build(release)
    listing = sentry_cli(env, "releases", "files", version, "list", binary=sentry_cli_2)
    assert "~/app.min.js.map" in listing


def test_org_auth_token_points_the_cli_at_the_stub(
    env: dict[str, str], stub_process: ServerProcess, client: StubClient, org: str
) -> None:
    """An ``sntrys_`` token overrides SENTRY_URL and SENTRY_ORG; ``sentry-stub token`` mints
    one that names the stub, so a CI with a dead SENTRY_URL still reaches it."""
    minted = subprocess.run(
        [str(VENV_BIN / "sentry-stub"), "token", "--org", org, "--url", stub_process.url],
        capture_output=True,
        text=True,
        check=True,
    )
    token = minted.stdout.strip()
    assert token.startswith("sntrys_")
    env = {**env, "SENTRY_AUTH_TOKEN": token, "SENTRY_URL": "http://127.0.0.1:9/"}
    env["SENTRY_ORG"] = "some-other-org"
    sentry_cli(env, "releases", "new", "5.0.0")
    assert only_release(client, org)["version"] == "5.0.0"


def test_send_event(env: dict[str, str], stub_process: ServerProcess) -> None:
    view = StubView(StubClient(stub_process.url))
    env = {**env, "SENTRY_DSN": view.dsn_for(PROJECT)}
    sentry_cli(
        env,
        *("send-event", "-m", "deploy smoke test", "--no-environ"),
        *("-r", f"{PROJECT}@1.0.0", "-E", "production", "-t", "stage:smoke"),
    )
    [event] = view.wait_for('message:"deploy smoke test"', project=PROJECT)
    assert event.release == f"{PROJECT}@1.0.0"
    assert event.environment == "production"
    assert event.tags["stage"] == "smoke"
    assert event.data["sdk"]["name"] == "sentry-cli"
