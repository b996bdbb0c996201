from __future__ import annotations

from collections.abc import Iterator

import pytest

from client_tests.backend.running import StartBackend, backend_starter
from client_tests.support import ServerProcess


@pytest.fixture(scope="session")
def stub_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A ``sentry-stub serve`` process shared by the session's client tests."""
    server = ServerProcess(tmp_path_factory.mktemp("stub") / "stub.sqlite3").start()
    yield server
    server.stop()


@pytest.fixture
def start_backend(tmp_path) -> Iterator[StartBackend]:
    """Start the mission's FastAPI backend with the given ``SENTRY_*`` variables."""
    yield from backend_starter(tmp_path)
