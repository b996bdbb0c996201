"""The public API: one module names it, and importing it stays light (py.typed: test_package.py).

Imports are checked in fresh interpreters: this test process has long since loaded everything.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import sentry_stub
from sentry_stub import StubServer

pytest_plugins = ["pytester"]

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
    pytester: pytest.Pytester, server: StubServer
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
    result = pytester.runpytest_subprocess("-p", "no:randomly", f"--sentry-stub-url={server.url}")
    result.assert_outcomes(passed=1)
