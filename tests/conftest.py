"""The servers the unit and API tests share, so a module asks for one instead of starting it.

``server`` is the in-process ``StubServer`` (the pytest plugin's server), one per module: tests
in a module read what they sent through their own cursors and event ids. ``server_process`` is
``sentry-stub serve`` as the container starts it, for tests about the process itself. A module
that needs data seeded or a config of its own overrides the fixture (it may ask for the shared
one by the same name and add to it). ``tests/fuzz/conftest.py`` keeps the Hypothesis profiles.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from client_tests.support import ServerProcess, running_server
from sentry_stub import StubServer
from sentry_stub.client import StubClient
from sentry_stub.view import StubView


@pytest.fixture(scope="module")
def server() -> Iterator[StubServer]:
    """An in-process server on a fresh database, shared by the tests of one module."""
    with StubServer() as stub:
        yield stub


@pytest.fixture
def view(server: StubServer) -> StubView:
    """The per-test view of ``server``, as the plugin's ``sentry_stub`` fixture gives it."""
    return StubView(StubClient(server.url))


@pytest.fixture(scope="module")
def server_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A ``sentry-stub serve`` process on a fresh database, shared by the tests of one module."""
    yield from running_server(tmp_path_factory.mktemp("stub"))
