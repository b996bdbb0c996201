"""``mission_stub`` is a second sentry-stub server, configured with ``examples/alerts.toml``:
the mission's two projects, its four alert rules and its three ownership rules.

``start_backend`` (the app, run for real) comes from ``client_tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sentry_stub import StubServer
from sentry_stub.client import StubClient
from sentry_stub.view import StubView

ALERTS_CONFIG = Path(__file__).parents[2] / "examples" / "alerts.toml"


@pytest.fixture(scope="session")
def mission_server() -> Iterator[StubServer]:
    with StubServer(config=ALERTS_CONFIG) as server:
        yield server


@pytest.fixture
def mission_stub(mission_server: StubServer) -> StubView:
    """Like ``sentry_stub``, on the server that has the mission's alert and ownership rules."""
    return StubView(StubClient(mission_server.url))
