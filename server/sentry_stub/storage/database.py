"""One database: the writer thread plus a read connection per reading thread."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

from .schema import connect
from .writer import Writer

T = TypeVar("T")


class Database:
    def __init__(self, path: str):
        self.path = path
        self.writer = Writer(path, on_commit=self._committed)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Condition | None = None
        self._version = 0
        # Called in the writer thread after each commit (the alert dispatcher wakes up on it).
        self.commit_listeners: list[Callable[[], None]] = []

    def open(self) -> None:
        """Start the writer; call from the event loop that will serve ``wait_for_change``."""
        try:
            self._loop = asyncio.get_running_loop()
            self._changed = asyncio.Condition()
        except RuntimeError:
            self._loop = None
        self.writer.start()  # creates and migrates the schema before any reader connects

    def close(self) -> None:
        self.writer.stop()
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()

    def reader(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = connect(self.path)
            connection.execute("PRAGMA query_only=ON")
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    async def read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``query`` on a read connection in a worker thread."""
        return await run_in_threadpool(lambda: query(self.reader()))

    async def write(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        return await self.writer.run(operation)

    @property
    def version(self) -> int:
        """Counts commits; take it before reading, then wait for it to move."""
        return self._version

    async def wait_for_change(self, since_version: int, timeout: float) -> None:
        """Return once a commit happened after ``since_version`` was taken, or at ``timeout``."""
        assert self._changed is not None, "open() the database inside the event loop"
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self._version != since_version), timeout
                )

    def _committed(self) -> None:
        for listener in self.commit_listeners:
            listener()
        # Called in the writer thread after each commit: wake the waiters in the server's loop.
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self._notify()))

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._version += 1
            self._changed.notify_all()
