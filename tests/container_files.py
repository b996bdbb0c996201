"""The container set-up (Dockerfiles, compose file, example config) read the way Docker reads it.

Dockerfiles are parsed with the ``dockerfile`` package, which wraps Docker's own parser, so a
test sees the same instructions, flags and JSON-form arguments that ``docker build`` would.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import Any

import dockerfile
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
EXAMPLE_DOCKERFILE = ROOT / "examples" / "backend" / "Dockerfile"
COMPOSE_FILE = ROOT / "docker-compose.yml"
EXAMPLE_CONFIG = ROOT / "examples" / "sentry-stub.toml"
CI_RECIPE = ROOT / "examples" / "github-actions.yml"
CI_RECIPE_BUILD = ROOT / "examples" / "github-actions-build.yml"
WORKFLOWS = ROOT / ".github" / "workflows"


def script(name: str) -> Path:
    """A console script installed in this interpreter's environment (hadolint, uvicorn, ...)."""
    return Path(sys.executable).parent / name


def stages(path: Path) -> list[list[dockerfile.Command]]:
    """The build stages of a Dockerfile, each a list of instructions starting with its FROM.

    The ``ARG``s before the first FROM belong to no stage (see ``build_arguments``).
    """
    result: list[list[dockerfile.Command]] = []
    for command in dockerfile.parse_file(str(path)):
        if command.cmd == "FROM":
            result.append([])
        if result:
            result[-1].append(command)
    return result


def build_arguments(path: Path) -> dict[str, str]:
    """The ``ARG name=default`` lines before the first FROM, which FROM lines can use."""
    arguments: dict[str, str] = {}
    for command in dockerfile.parse_file(str(path)):
        if command.cmd == "FROM":
            break
        if command.cmd == "ARG":
            name, _, default = command.value[0].partition("=")
            arguments[name] = default
    return arguments


def final_stage(path: Path) -> list[dockerfile.Command]:
    """The stage that becomes the image."""
    return stages(path)[-1]


def instruction(stage: list[dockerfile.Command], name: str) -> dockerfile.Command:
    """The effective (last) instruction ``name`` of a stage; the test fails if there is none."""
    found = [command for command in stage if command.cmd == name]
    assert found, f"no {name} instruction in the stage starting {stage[0].original!r}"
    return found[-1]


def environment(stage: list[dockerfile.Command]) -> dict[str, str]:
    """The variables the stage's ENV instructions set (``ENV A=1 B=2`` parses to pairs)."""
    env: dict[str, str] = {}
    for command in stage:
        if command.cmd == "ENV":
            pairs = command.value
            env.update(zip(pairs[::2], pairs[1::2], strict=True))
    return env


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def workflow(path: Path) -> dict[str, Any]:
    """A GitHub workflow; its ``on:`` key, which YAML 1.1 reads as ``True``, under ``"on"``."""
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in loaded:
        loaded["on"] = loaded.pop(True)
    return loaded


def ci_recipe(path: Path = CI_RECIPE) -> dict[str, Any]:
    return workflow(path)


def example_config() -> dict[str, Any]:
    return tomllib.loads(EXAMPLE_CONFIG.read_text(encoding="utf-8"))


def config_project(slug: str) -> dict[str, Any]:
    """The ``[[projects]]`` entry ``slug`` of the example config."""
    [project] = [p for p in example_config()["projects"] if p["slug"] == slug]
    return project
