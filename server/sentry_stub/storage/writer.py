"""The single writer: one thread, one connection, group commit.

Every change to the database is a function of a connection, handed to ``Writer.run``. The thread
takes whatever has queued up, runs it all inside one transaction (each call in its own savepoint,
so one failure does not undo its neighbours), commits, and only then settles each caller's
future. A request therefore answers 2xx only once its envelope is on disk, while many concurrent
requests share one fsync. The futures of one commit are settled with a single wake-up of the
event loop, not one each.

The thread also has ``idle`` work (the rows derived from acknowledged envelopes, see
``derivation.py``), counted in units (envelopes); each operation committed adds at most one.

- When nothing has been queued for ``IDLE_DELAY``, idle work runs back to back (``QUIET_UNITS``
  per transaction) until none is left: it fills the gaps between requests instead of competing
  with them.
- Traffic that never pauses that long still leaves it a turn of ``TURN_UNITS`` every
  ``IDLE_TURN`` seconds, so alerts fire while a steady stream goes on.
- Past ``MAX_BACKLOG`` units, the writer does as much idle work as the last batch added before
  it takes the next: a burst is answered at full speed, a flood only as fast as its rows are
  made, and a read never has much more than ``MAX_BACKLOG`` envelopes to wait for.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from .schema import connect, migrate

logger = logging.getLogger("sentry_stub")

T = TypeVar("T")
Operation = Callable[[sqlite3.Connection], Any]
Outcome = tuple["Future | asyncio.Future", Any, BaseException | None]
MAX_BATCH = 512
IDLE_DELAY = 0.05  # seconds without a request before idle work starts
IDLE_TURN = 0.1  # seconds of busy writing after which idle work gets one turn anyway
TURN_UNITS = 4  # units of idle work in such a turn: a short stall for the requests
QUIET_UNITS = 16  # units per transaction when quiet: a request arriving waits a few ms at most
MAX_BACKLOG = 5_000  # units of idle work left to pile up before requests pay for their own


class Writer:
    def __init__(
        self,
        path: str,
        on_commit: Callable[[], None] | None = None,
        idle: Callable[[sqlite3.Connection, int], int] | None = None,
    ):
        self.path = path
        self.on_commit = on_commit
        self.idle = idle  # (connection, units to do) -> units left
        self._queue: queue.SimpleQueue[tuple[Operation, Future | asyncio.Future] | None]
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
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put((operation, future))
        return await future

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
        backlog = 1 if self.idle is not None else 0  # a start may find work left by the last run
        quiet = False  # nothing queued for IDLE_DELAY, and nothing since
        last_batch = 0
        idle_turn = time.monotonic() + IDLE_TURN
        while not stopping:
            units = _idle_share(backlog, quiet, last_batch, time.monotonic() >= idle_turn)
            if units:
                backlog = self._run_idle(connection, units)
                idle_turn = time.monotonic() + IDLE_TURN
            try:
                # While quiet, idle work goes on back to back; a request ends the quiet at once.
                wait = (0 if quiet else IDLE_DELAY) if backlog else None
                first = self._queue.get(timeout=wait)
            except queue.Empty:
                quiet = True
                continue
            quiet = False
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
            _settle(self._commit(connection, batch))
            if self.idle is not None:
                backlog, last_batch = backlog + len(batch), len(batch)
        connection.close()

    def _run_idle(self, connection: sqlite3.Connection, units: int) -> int:
        """Run ``units`` of idle work in a transaction of its own; the units left after it."""
        idle = self.idle
        assert idle is not None
        [(_, left, error)] = self._commit(connection, [(lambda c: idle(c, units), Future())])
        if error is not None:
            logger.error("the writer's idle work failed", exc_info=error)
            return 0  # tried again after the next commit
        return left

    def _commit(self, connection: sqlite3.Connection, batch: list) -> list[Outcome]:
        outcomes: list[Outcome] = []
        try:
            connection.execute("BEGIN IMMEDIATE")
            for operation, future in batch:
                connection.execute("SAVEPOINT operation")
                try:
                    result = operation(connection)
                except Exception as error:
                    connection.execute("ROLLBACK TO operation")
                    outcomes.append((future, None, error))
                else:
                    outcomes.append((future, result, None))
                connection.execute("RELEASE operation")
            connection.execute("COMMIT")
        except Exception as error:  # the commit itself failed: nothing of the batch is stored
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            outcomes = [(future, None, error) for _, future in batch]
        if self.on_commit is not None:
            self.on_commit()
        return outcomes


def _idle_share(backlog: int, quiet: bool, last_batch: int, turn_due: bool) -> int:
    """How many units of idle work to do now (see the module's docstring)."""
    if not backlog:
        return 0
    if quiet:
        return QUIET_UNITS
    if backlog > MAX_BACKLOG:
        return last_batch
    return TURN_UNITS if turn_due else 0


def _settle(outcomes: list[Outcome]) -> None:
    """Settle each future: thread futures here, each event loop's in one call of its own."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Outcome]] = {}
    for outcome in outcomes:
        future = outcome[0]
        if isinstance(future, asyncio.Future):
            by_loop.setdefault(future.get_loop(), []).append(outcome)
        else:
            _set(outcome)
    for loop, in_loop in by_loop.items():
        if not loop.is_closed():
            loop.call_soon_threadsafe(_set_all, in_loop)


def _set_all(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        if not outcome[0].done():  # an awaiting request may have been cancelled
            _set(outcome)


def _set(outcome: Outcome) -> None:
    future, result, error = outcome
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)
