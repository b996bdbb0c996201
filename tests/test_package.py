"""The package users install: ``python -m build`` makes the sdist and the wheel, twine accepts
them, and the wheel, installed with its dependencies into a clean virtualenv, gives a working
``sentry-stub --version``, ``sentry-stub serve`` and pytest plugin.

The dependencies come from the package indexes pip is configured with, as for a user.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest

from client_tests.support import ServerProcess
from tests.container_files import ROOT

pytestmark = pytest.mark.timeout(900)

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

# A user's test: the real sentry-sdk sends to the plugin's in-process server.
USER_TEST = """
import sentry_sdk


def test_an_error_arrives(sentry_stub):
    sentry_sdk.init(dsn=sentry_stub.dsn)
    sentry_sdk.capture_message("installed from the wheel")
    sentry_sdk.flush(10)
    [event] = sentry_stub.wait_for('message:"installed from the wheel"')
    assert event.level == "info"
"""


def run(command: list[str | Path], cwd: Path, timeout: float = 600) -> str:
    """The command's output; it must succeed. SENTRY_STUB_* and PYTHONPATH do not leak in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SENTRY_STUB_") and k != "PYTHONPATH"
    }
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (
        f"{command} exited {result.returncode}:\n{result.stdout}{result.stderr}"
    )
    return result.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", out, ROOT], cwd=out)
    return out


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean virtualenv with the wheel, its dependencies, pytest and sentry-sdk; its bin/."""
    home = tmp_path_factory.mktemp("venv")
    venv.create(home / "env", with_pip=True)
    [wheel] = dist.glob("*.whl")
    python = home / "env" / "bin" / "python"
    run([python, "-m", "pip", "install", "--quiet", wheel, "pytest", "sentry-sdk"], cwd=home)
    return home / "env" / "bin"


def test_build_makes_an_sdist_and_a_wheel_that_twine_accepts(dist: Path) -> None:
    assert sorted(path.name for path in dist.iterdir()) == [
        f"sentry_stub-{VERSION}-py3-none-any.whl",
        f"sentry_stub-{VERSION}.tar.gz",
    ]
    output = run([sys.executable, "-m", "twine", "check", "--strict", *dist.iterdir()], cwd=dist)
    assert output.count("PASSED") == 2, output


def test_the_wheel_ships_py_typed(dist: Path) -> None:
    """``py.typed`` (PEP 561): type checkers read the installed package's hints."""
    [wheel] = dist.glob("*.whl")
    assert "sentry_stub/py.typed" in zipfile.ZipFile(wheel).namelist()


def test_the_installed_command_tells_the_pyproject_version(installed: Path) -> None:
    assert run([installed / "sentry-stub", "--version"], cwd=installed).strip() == (
        f"sentry-stub {VERSION}"
    )
    where = run(
        [installed / "python", "-c", "import sentry_stub; print(sentry_stub.__file__)"],
        cwd=installed,
    )
    assert Path(where.strip()).is_relative_to(installed.parent), "imported from the checkout"


def test_the_installed_server_serves_ingest_and_the_web_ui(installed: Path, tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "db.sqlite3", bin_dir=installed).start()
    try:
        with urllib.request.urlopen(f"{server.url}/", timeout=10) as page:
            ui = page.read().decode()  # the UI's files are package data: in the wheel or not
        with urllib.request.urlopen(f"{server.url}/stub/api/projects", timeout=10) as answer:
            projects = answer.read().decode()
    finally:
        server.stop()
    assert "<html" in ui.lower()
    assert '"dsn"' in projects


def test_the_installed_plugin_runs_a_users_test(installed: Path, tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(USER_TEST)
    output = run(
        [installed / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=tmp_path
    )
    assert "1 passed" in output
