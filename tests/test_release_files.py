"""How the project tests and releases itself, and how users then run the published image.

The workflows are validated against GitHub's schema in ``test_docker_files.py``; here their
content is read back: what triggers them, what they run and where they publish.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

from tests.container_files import CI_RECIPE, ROOT, WORKFLOWS, ci_recipe, workflow

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
MAJOR_MINOR = ".".join(VERSION.split(".")[:2])


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    """The job's steps that use ``action`` (any version of it)."""
    return [step for step in job["steps"] if step.get("uses", "").split("@")[0] == action]


def runs(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def test_every_push_runs_the_readme_test_command_and_the_image_test() -> None:
    tests = workflow(WORKFLOWS / "tests.yml")
    assert "push" in tests["on"]
    assert "scripts/test" in runs(tests["jobs"]["tests"])
    assert "scripts/image-test" in runs(tests["jobs"]["image"])
    assert "\nscripts/test " in (ROOT / "README.md").read_text()  # the Quick start's command
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ci[-2:] == ["scripts/test", "exec scripts/image-test"]


def test_a_version_tag_publishes_the_package_to_pypi_by_trusted_publishing() -> None:
    release = workflow(WORKFLOWS / "release.yml")
    assert release["on"] == {"push": {"tags": ["v*"]}}
    dist, pypi = release["jobs"]["dist"], release["jobs"]["pypi"]
    assert "python -m build" in runs(dist)
    assert "python -m twine check --strict dist/*" in runs(dist)
    assert any('test "${GITHUB_REF_NAME}" = "v${version}"' in run for run in runs(dist))
    assert pypi["needs"] == "dist"
    assert pypi["permissions"] == {"id-token": "write"}  # OIDC, no stored token
    assert steps_using(pypi, "pypa/gh-action-pypi-publish")
    assert not any("password" in step.get("with", {}) for step in pypi["steps"])


def test_a_version_tag_publishes_a_multi_arch_image_to_ghcr() -> None:
    image = workflow(WORKFLOWS / "release.yml")["jobs"]["image"]
    assert image["permissions"]["packages"] == "write"
    assert steps_using(image, "docker/setup-qemu-action")
    assert steps_using(image, "docker/setup-buildx-action")
    [login] = steps_using(image, "docker/login-action")
    assert login["with"]["registry"] == "ghcr.io"
    [meta] = steps_using(image, "docker/metadata-action")
    assert meta["with"]["images"] == "ghcr.io/${{ github.repository_owner }}/sentry-stub"
    [push] = steps_using(image, "docker/build-push-action")
    assert set(push["with"]["platforms"].split(",")) == {"linux/amd64", "linux/arm64"}
    assert push["with"]["push"] is True
    assert "type=semver,pattern={{major}}.{{minor}}" in meta["with"]["tags"]


def test_the_ci_recipe_runs_the_published_image_and_package_with_no_build_job() -> None:
    recipe = ci_recipe(CI_RECIPE)
    assert list(recipe["jobs"]) == ["backend-tests"]
    job = recipe["jobs"]["backend-tests"]
    assert "needs" not in job
    image = job["services"]["sentry-stub"]["image"]
    assert re.fullmatch(rf"ghcr\.io/[a-z0-9-]+/sentry-stub:{re.escape(MAJOR_MINOR)}", image)
    assert any(f'"sentry-stub=={MAJOR_MINOR}.*"' in run for run in runs(job))
