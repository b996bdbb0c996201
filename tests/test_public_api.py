"""The public API: one module names it, importing it stays light, and the package ships typed.

Imports are checked in fresh interpreters: this test process has long since loaded everything.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import sentry_stub
from sentry_stub import StubServer

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
# What a process that only talks to a running server must not load.
SERVER_STACK = ("uvicorn", "starlette", "sqlite_utils", "sentry_stub.storage", "sentry_stub.ingest")


def loaded_after(code: str) -> set[str]:
    """The modules of SERVER_STACK (and sentry_stub.server) loaded after running ``code``."""
    program = f"import sys\n{code}\nimport json\nprint(json.dumps(sorted(sys.modules)))\n"
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    modules = json.loads(result.stdout.splitlines()[-1])
    watched = (*SERVER_STACK, "sentry_stub.server")
    return {m for m in modules if m in watched or m.startswith(tuple(f"{w}." for w in watched))}


def test_every_public_name_is_importable_from_the_package() -> None:
    namespace: dict[str, object] = {}
    exec("from sentry_stub import *", namespace)
    assert set(sentry_stub.__all__) <= set(namespace)
    assert namespace["StubServer"] is StubServer
    errors = {"StubApiError", "StubConnectionError", "ConfigError"}
    assert {"StubClient", "Event", "StubView", *errors} <= set(namespace)
    assert set(sentry_stub.__all__) <= set(dir(sentry_stub))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'StubSever'"):
        _ = sentry_stub.StubSever


def test_the_client_and_the_plugin_import_no_server_stack() -> None:
    code = "import sentry_stub, sentry_stub.client, sentry_stub.view, sentry_stub.pytest_plugin"
    assert loaded_after(code) == set()


def test_the_server_stack_loads_when_stub_server_is_first_used() -> None:
    loaded = loaded_after(
        "import sentry_stub\nassert sentry_stub.StubServer.__module__ == 'sentry_stub.server'"
    )
    assert {"uvicorn", "starlette", "sentry_stub.server", "sentry_stub.storage"} <= loaded


def test_a_session_against_a_running_server_never_loads_the_server_stack(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        f"""
        import sys

        def test_remote(sentry_stub):
            assert sentry_stub.events() == []
            loaded = sorted(m for m in sys.modules if m.startswith({SERVER_STACK!r}))
            assert loaded == []
        """
    )
    with StubServer() as server:
        result = pytester.runpytest_subprocess(
            "-p", "no:randomly", f"--sentry-stub-url={server.url}"
        )
    result.assert_outcomes(passed=1)


def test_the_wheel_ships_py_typed(tmp_path: Path) -> None:
    """``py.typed`` (PEP 561) is in the built wheel, so type checkers read the package's hints."""
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "server", source / "server", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), "."],
        cwd=source,
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("sentry_stub-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "sentry_stub/py.typed" in names
    assert "sentry_stub/__init__.py" in names
