"""The Docker image, compose file, CI recipes and workflows, checked without a Docker engine.

These run everywhere: the files are linted (hadolint for Dockerfiles, the compose-spec and
GitHub-workflow JSON schemas that ``check-jsonschema`` ships) and read back. The container must
run the very command, with the very variables, that the remote-mode client tests run
(``client_tests/support.py``), so a passing client suite vouches for the image; and
``scripts/image-test`` (in CI) builds and runs the image for real (``client_tests/container``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest

from client_tests.support import SERVE_COMMAND, ServerProcess, free_port
from sentry_stub.config import DEFAULT_HOST, DEFAULT_PORT
from tests.container_files import (
    CI_RECIPE,
    CI_RECIPE_BUILD,
    COMPOSE_FILE,
    DOCKERFILE,
    EXAMPLE_CONFIG,
    EXAMPLE_DOCKERFILE,
    ROOT,
    WORKFLOWS,
    build_arguments,
    ci_recipe,
    compose,
    config_project,
    environment,
    example_config,
    final_stage,
    instruction,
    script,
    stages,
)

ALL_DOCKERFILES = [DOCKERFILE, EXAMPLE_DOCKERFILE]
LOOPBACK_OR_SERVICE = {"127.0.0.1", "sentry-stub"}


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    """hadolint failing on every finding, down to style hints."""
    return subprocess.run(
        [str(script("hadolint")), "--no-color", "--failure-threshold", "style", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    """Validate ``path`` against a schema vendored in check-jsonschema (nothing is downloaded)."""
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


# --- linters --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_dockerfile_passes_hadolint(path: Path) -> None:
    result = hadolint(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_reports_a_careless_dockerfile(tmp_path: Path) -> None:
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM python:3.11-slim\nRUN pip install flask\nCMD flask run\n")
    result = hadolint(careless)
    assert result.returncode != 0
    assert "DL3013" in result.stdout  # unpinned pip install
    assert "DL3025" in result.stdout  # CMD in shell form


def test_compose_file_follows_the_compose_spec() -> None:
    result = check_jsonschema("vendor.compose-spec", COMPOSE_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_spec_check_rejects_a_misspelt_key(tmp_path: Path) -> None:
    misspelt = tmp_path / "docker-compose.yml"
    misspelt.write_text(COMPOSE_FILE.read_text().replace("depends_on:", "depend_on:"))
    result = check_jsonschema("vendor.compose-spec", misspelt)
    assert result.returncode != 0
    assert "depend_on" in result.stdout


@pytest.mark.parametrize(
    "path",
    [CI_RECIPE, CI_RECIPE_BUILD, *sorted(WORKFLOWS.glob("*.yml"))],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_workflow_is_a_valid_github_workflow(path: Path) -> None:
    result = check_jsonschema("vendor.github-workflows", path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_github_workflow_check_rejects_a_misspelt_key(tmp_path: Path) -> None:
    misspelt = tmp_path / "release.yml"
    misspelt.write_text((WORKFLOWS / "release.yml").read_text().replace("runs-on:", "run-on:"))
    result = check_jsonschema("vendor.github-workflows", misspelt)
    assert result.returncode != 0


# --- the image runs what the remote-mode tests run ------------------------------------------


def test_container_runs_the_command_the_client_tests_run(tmp_path: Path) -> None:
    cmd = instruction(final_stage(DOCKERFILE), "CMD")
    assert cmd.json, "CMD must be in JSON form, so no shell sits between Docker and the server"
    assert list(cmd.value) == list(SERVE_COMMAND)
    [executable, *arguments] = ServerProcess(tmp_path / "db.sqlite3").command()
    assert Path(executable) == script(SERVE_COMMAND[0])
    assert Path(executable).is_file()
    assert arguments == list(SERVE_COMMAND[1:])


def test_container_sets_the_variables_the_client_tests_set(tmp_path: Path) -> None:
    image_env = environment(final_stage(DOCKERFILE))
    service_env = compose()["services"]["sentry-stub"]["environment"]
    container = {name for name in {**image_env, **service_env} if name.startswith("SENTRY_STUB_")}
    server = ServerProcess(tmp_path / "db.sqlite3", config=EXAMPLE_CONFIG)
    assert container == set(server.settings_environment())


def test_only_the_container_listens_beyond_loopback(tmp_path: Path) -> None:
    assert environment(final_stage(DOCKERFILE))["SENTRY_STUB_HOST"] == "0.0.0.0"
    server = ServerProcess(tmp_path / "db.sqlite3")
    assert server.settings_environment()["SENTRY_STUB_HOST"] == "127.0.0.1"
    assert DEFAULT_HOST == "127.0.0.1"
    assert "server" not in example_config(), "the mounted config must not override the bind"
    for name, service in compose()["services"].items():
        for mapping in service.get("ports", []):
            assert mapping.startswith("127.0.0.1:"), f"{name} publishes {mapping} beyond loopback"


def test_port_is_the_documented_default_and_exposed() -> None:
    image = final_stage(DOCKERFILE)
    port = environment(image)["SENTRY_STUB_PORT"]
    assert int(port) == DEFAULT_PORT
    assert list(instruction(image, "EXPOSE").value) == [port]
    assert compose()["services"]["sentry-stub"]["ports"] == [f"127.0.0.1:{port}:{port}"]


def test_database_lives_on_the_volume() -> None:
    image = final_stage(DOCKERFILE)
    [volume] = instruction(image, "VOLUME").value
    database = PurePosixPath(environment(image)["SENTRY_STUB_DB"])
    assert database.parent == PurePosixPath(volume)
    assert f"sentry-stub-data:{volume}" in compose()["services"]["sentry-stub"]["volumes"]


@pytest.mark.parametrize("path", ALL_DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_image_runs_as_an_unprivileged_user(path: Path) -> None:
    user = instruction(final_stage(path), "USER").value[0]
    assert user.split(":")[0] not in ("root", "0")


def test_image_is_built_in_a_separate_stage() -> None:
    build, image = stages(DOCKERFILE)
    assert build[0].value[0] == image[0].value[0] == "${PYTHON_IMAGE}"
    assert build_arguments(DOCKERFILE) == {"PYTHON_IMAGE": "python:3.11-slim"}
    assert not any(command.cmd == "COPY" for command in image), "sources must stay in the build"


def test_dockerignore_admits_exactly_what_the_build_copies() -> None:
    lines = (line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines())
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert patterns[0] == "*", "the build context starts empty and admits files by name"
    admitted = {p[1:] for p in patterns if p.startswith("!")}
    [build, _] = stages(DOCKERFILE)
    copied = {source for c in build if c.cmd == "COPY" for source in c.value[:-1]}
    assert copied == admitted
    assert all((ROOT / source).exists() for source in copied)


# --- the health check -----------------------------------------------------------------------


def healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    """The image's HEALTHCHECK command, run with the image's port and this venv's python."""
    check = instruction(final_stage(DOCKERFILE), "HEALTHCHECK")
    assert check.json and check.value[0] == "CMD", check.original
    env = {
        **os.environ,
        "PATH": f"{script('python').parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "SENTRY_STUB_PORT": str(port),
    }
    return subprocess.run(
        list(check.value[1:]), env=env, capture_output=True, text=True, timeout=30, check=False
    )


def test_healthcheck_passes_against_a_running_server(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "db.sqlite3").start()
    try:
        result = healthcheck(server.port)
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr


def test_healthcheck_fails_where_no_server_listens() -> None:
    result = healthcheck(free_port())
    assert result.returncode != 0
    assert "Connection refused" in result.stderr


# --- the compose example ---------------------------------------------------------------------


def test_example_backend_reports_to_the_stub_service_by_its_dsn() -> None:
    services = compose()["services"]
    stub, backend = services["sentry-stub"], services["example-backend"]
    dsn = urlsplit(backend["environment"]["SENTRY_DSN"])
    project = config_project("agentsflowai-backend")
    assert dsn.scheme == "http"
    assert dsn.hostname == "sentry-stub"
    assert dsn.port == DEFAULT_PORT
    assert dsn.username in project["keys"]
    assert dsn.path == f"/{project['id']}"
    assert backend["depends_on"] == {"sentry-stub": {"condition": "service_healthy"}}
    config_target = stub["environment"]["SENTRY_STUB_CONFIG"]
    assert f"./{EXAMPLE_CONFIG.relative_to(ROOT)}:{config_target}:ro" in stub["volumes"]


def test_image_and_compose_allow_the_name_the_network_gives_the_stub() -> None:
    """Outside ingest the stub answers only allowed hosts: the service name must be one."""
    services = compose()["services"]
    name = urlsplit(services["example-backend"]["environment"]["SENTRY_DSN"]).hostname
    image = environment(final_stage(DOCKERFILE))["SENTRY_STUB_ALLOWED_HOSTS"]
    service = services["sentry-stub"]["environment"]["SENTRY_STUB_ALLOWED_HOSTS"]
    assert name in image.split(",")
    assert name in service.split(",")


def test_example_config_holds_the_two_mission_projects() -> None:
    projects = {p["slug"]: p for p in example_config()["projects"]}
    assert {slug: p["id"] for slug, p in projects.items()} == {
        "agentsflowai-backend": 1,
        "agentsflowai-frontend": 2,
    }
    for project in projects.values():
        assert all(re.fullmatch(r"[0-9a-f]{32}", key) for key in project["keys"])


# --- the CI recipe -----------------------------------------------------------------------


RECIPES = pytest.mark.parametrize(
    "recipe", [CI_RECIPE, CI_RECIPE_BUILD], ids=lambda p: str(p.relative_to(ROOT))
)


@RECIPES
def test_ci_recipe_sends_nothing_beyond_the_runner(recipe: Path) -> None:
    text = recipe.read_text()
    assert "sentry.io" not in text
    urls = re.findall(r"https?://[^\s\"']+", text)
    assert urls, "the recipe points its DSN and SENTRY_STUB_URL somewhere"
    assert {urlsplit(url).hostname for url in urls} <= LOOPBACK_OR_SERVICE


@RECIPES
def test_ci_recipe_service_publishes_the_stub_on_loopback(recipe: Path) -> None:
    job = ci_recipe(recipe)["jobs"]["backend-tests"]
    port = environment(final_stage(DOCKERFILE))["SENTRY_STUB_PORT"]
    assert job["services"]["sentry-stub"]["ports"] == [f"127.0.0.1:{port}:{port}"]
    assert job["env"]["SENTRY_STUB_URL"] == f"http://127.0.0.1:{port}"
    dsn = urlsplit(job["env"]["SENTRY_DSN"])
    assert dsn.username in config_project("agentsflowai-backend")["keys"]
