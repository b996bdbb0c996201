"""One database: the writer thread plus a read connection per reading thread.

Reads see every acknowledged envelope with its rows: before a read runs, the rows still to be
derived up to the newest envelope are made by the derivation the database is given (the app
hands it ``processing.derivation.Deriver``; storage never imports what derives its rows).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable
from functools import partial
from typing import Protocol, TypeVar

from starlette.concurrency import run_in_threadpool

from .health import StorageUnavailable, check, storage_fault
from .pending_spans import spans_pending
from .reader import Scope
from .schema import connect
from .watermark import catch_up_target
from .writer import DEFAULT_POLICY, LOCK_WAIT_MS, WritePolicy, Writer

T = TypeVar("T")
SPAN_ATTEMPTS = 4  # snapshots a read of spans takes before it runs with what it has


class Derivation(Protocol):
    """What makes the rows of acknowledged envelopes, run by the writer (idle work and catch-up)."""

    def derive_next(
        self, connection: sqlite3.Connection, until: int | None = None, limit: int = ...
    ) -> int:
        """Derive the next envelopes (up to id ``until``); how many are left (0: none)."""
        ...

    def idle_work(self, connection: sqlite3.Connection, limit: int) -> int:
        """Derive ``limit`` envelopes in a gap between requests; how many are left."""
        ...

    def expand_spans(self, connection: sqlite3.Connection, scope: Scope) -> bool:
        """Make the span rows of the next transactions in ``scope`` that wait for them
        (``pending_spans.py``); whether more may be left."""
        ...


class Database:
    def __init__(self, path: str, deriver: Derivation, policy: WritePolicy = DEFAULT_POLICY):
        self.path = path
        self.deriver = deriver
        self.writer = Writer(
            path, on_commit=self._committed, idle=self.deriver.idle_work, policy=policy
        )
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: set[asyncio.Future] = set()  # wait_for_change calls, woken by a commit
        self._version = 0
        # Called in the writer thread after each commit (the alert dispatcher wakes up on it).
        self.commit_listeners: list[Callable[[], None]] = []

    def open(self) -> None:
        """Start the writer; call from the event loop that will serve ``wait_for_change``."""
        try:
            self._loop = asyncio.get_running_loop()
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

    async def read(
        self, query: Callable[[sqlite3.Connection], T], *, spans: Scope | None = None
    ) -> T:
        """Run ``query`` on a read connection in a worker thread, once the rows are derived;
        a ``query`` that reads spans names the ``spans`` it covers."""
        return await run_in_threadpool(self.read_sync, query, spans=spans)

    def read_sync(
        self, query: Callable[[sqlite3.Connection], T], *, spans: Scope | None = None
    ) -> T:
        connection = self.reader()
        try:
            target = catch_up_target(connection)
            if target is not None:
                derive = partial(self.deriver.derive_next, until=target)
                while self.writer.run_sync(derive):
                    pass
            if spans is None:
                return query(connection)
            return self._read_spans(connection, query, spans)
        except sqlite3.Error as error:  # a locked or failing database: 503, not 500
            fault = storage_fault(error)
            if fault is None:
                raise
            raise fault from error

    def _read_spans(
        self, connection: sqlite3.Connection, query: Callable[[sqlite3.Connection], T], scope: Scope
    ) -> T:
        """``query`` in a snapshot where every transaction of ``scope`` has its span rows.

        Idle work may derive more transactions between the expansion and the query: the
        snapshot is checked, and expanded again, a few times before the query runs anyway
        (what is still waiting then arrived after the read began).
        """
        expand = partial(self.deriver.expand_spans, scope=scope)
        for _ in range(SPAN_ATTEMPTS):
            connection.execute("BEGIN")  # one snapshot for the check and the query
            try:
                if not spans_pending(connection, scope):
                    return query(connection)
            finally:
                connection.execute("COMMIT")
            while self.writer.run_sync(expand):
                pass
        return query(connection)

    async def ready(self) -> StorageUnavailable | None:
        """None when the writer can commit; after a failed commit, ``health.check`` decides.

        The check writes nothing and runs outside the writer, so it never shares (and never
        fails) a commit with envelopes.
        """
        if self.writer.health.fault is None:
            return None
        return await run_in_threadpool(check, self.path, LOCK_WAIT_MS / 1000)

    async def write(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        return await self.writer.run(operation)

    @property
    def version(self) -> int:
        """Counts commits; take it before reading, then wait for it to move."""
        return self._version

    async def wait_for_change(self, since_version: int, timeout: float) -> None:
        """Return once a commit happened after ``since_version`` was taken, or at ``timeout``."""
        assert self._loop is not None, "open() the database inside the event loop"
        waiter = self._loop.create_future()
        self._waiters.add(waiter)  # before looking at the version: no commit goes unnoticed
        try:
            if self._version == since_version:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter, timeout)
        finally:
            self._waiters.discard(waiter)

    def _committed(self) -> None:
        """Called in the writer thread after each commit."""
        self._version += 1  # only this thread writes it
        for listener in self.commit_listeners:
            listener()
        if self._waiters and self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake_waiters)

    def _wake_waiters(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
