"""What every server a test starts shares, in a thread (``StubServer``) or a child process
(``StubProcess``): a context manager that stops it however the block ends, and a temporary
directory for its files, removed once it has stopped.

Kept apart from ``server.py`` so that the child-process side does not load the server stack.
"""

from __future__ import annotations

import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Self


class ServerHandle(ABC):
    """A server to ``start`` and ``stop``, or to use as ``with ... as stub:``."""

    _tempdir: tempfile.TemporaryDirectory | None = None

    @abstractmethod
    def start(self) -> Self: ...

    @abstractmethod
    def _stop_server(self) -> None:
        """Stop the server, if it runs; files it writes stay until ``stop`` removes them."""

    def _workdir(self) -> Path:
        """A new temporary directory for the server's files (its database, its log)."""
        self._tempdir = tempfile.TemporaryDirectory(prefix="sentry-stub-")
        return Path(self._tempdir.name)

    def stop(self) -> None:
        try:
            self._stop_server()
        finally:
            if self._tempdir is not None:
                self._tempdir.cleanup()
                self._tempdir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
