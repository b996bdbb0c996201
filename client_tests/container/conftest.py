"""Tests of the built image, run by ``scripts/image-test`` against the image it names.

They need a container engine and an image, which the ordinary suite does not have: without
``SENTRY_STUB_IMAGE`` they are not collected at all (rather than skipped). ``scripts/image-test``
builds the image, sets the variable and runs them; in CI a failed build fails the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from client_tests.container.engine import Container, Engine

IMAGE = os.environ.get("SENTRY_STUB_IMAGE")
collect_ignore_glob = [] if IMAGE else ["test_*.py"]

# What the tests measured, printed at the end of the run (and quoted in the README).
MEASURED: dict[str, str] = {}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if MEASURED:
        terminalreporter.section("measured against the container")
        for name, value in MEASURED.items():
            terminalreporter.line(f"{name}: {value}")


@pytest.fixture(scope="session")
def measured() -> dict[str, str]:
    return MEASURED


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine.from_environment()


@pytest.fixture(scope="session")
def image() -> str:
    assert IMAGE, "SENTRY_STUB_IMAGE names the image to test"
    return IMAGE


MakeContainer = Callable[..., Container]


@pytest.fixture
def new_container(engine: Engine, image: str) -> Iterator[MakeContainer]:
    """Makes running containers of the image, each with its own volume; removed after the test.

    Arguments are ``Container``'s: ``port``, and optionally ``environment`` and ``mounts``.
    """
    made: list[Container] = []

    def make(port: int, **options: Any) -> Container:
        name = f"sentry-stub-test-{uuid.uuid4().hex[:8]}"
        made.append(Container(engine, image, name, port, **options))
        return made[-1].create()

    yield make
    for container in made:
        container.remove()
