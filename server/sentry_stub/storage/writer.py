"""The single writer: one thread, one connection, group commit.

Every change to the database is a function of a connection, handed to ``Writer.run``. The thread
takes whatever has queued up, runs it all inside one transaction (each call in its own savepoint,
so one failure does not undo its neighbours), commits, and only then resolves each caller's
future. A request therefore answers 2xx only once its envelope is on disk, while many concurrent
requests share one fsync.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from .schema import connect, migrate

T = TypeVar("T")
MAX_BATCH = 512


class Writer:
    def __init__(self, path: str, on_commit: Callable[[], None] | None = None):
        self.path = path
        self.on_commit = on_commit
        self._queue: queue.SimpleQueue[tuple[Callable[[sqlite3.Connection], Any], Future] | None]
        self._queue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sentry-stub-writer", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise self._startup_error

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def submit(self, operation: Callable[[sqlite3.Connection], T]) -> Future[T]:
        future: Future[T] = Future()
        self._queue.put((operation, future))
        return future

    async def run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``operation`` in the writer's transaction; return once it is committed."""
        return await asyncio.wrap_future(self.submit(operation))

    def run_sync(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        return self.submit(operation).result()

    def _run(self) -> None:
        try:
            connection = connect(self.path)
            migrate(connection)
        except BaseException as error:  # reported to start()
            self._startup_error = error
            self._ready.set()
            return
        self._ready.set()
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    queued = self._queue.get_nowait()
                except queue.Empty:
                    break
                if queued is None:
                    stopping = True
                    break
                batch.append(queued)
            self._commit(connection, batch)
        connection.close()

    def _commit(self, connection: sqlite3.Connection, batch: list) -> None:
        results: list[tuple[Future, Any, BaseException | None]] = []
        try:
            connection.execute("BEGIN IMMEDIATE")
            for operation, future in batch:
                connection.execute("SAVEPOINT operation")
                try:
                    result = operation(connection)
                except Exception as error:
                    connection.execute("ROLLBACK TO operation")
                    results.append((future, None, error))
                else:
                    results.append((future, result, None))
                connection.execute("RELEASE operation")
            connection.execute("COMMIT")
        except Exception as error:  # the commit itself failed: nothing of the batch is stored
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            results = [(future, None, error) for _, future in batch]
        if self.on_commit is not None:
            self.on_commit()
        for future, result, error in results:
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)
