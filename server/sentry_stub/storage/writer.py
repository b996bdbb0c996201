"""The single writer: one thread, one connection, group commit.

Every change to the database is a function of a connection, handed to ``Writer.run``. The thread
takes whatever has queued up, runs it all inside one transaction (each call in its own savepoint,
so one failure does not undo its neighbours), commits, and only then settles each caller's
future. A request therefore answers 2xx only once its envelope is on disk, while many concurrent
requests share one fsync. The futures of one commit are settled with a single wake-up of the
event loop, not one each.

The thread also has ``idle`` work (the rows derived from acknowledged envelopes, see
``processing/derivation.py``), counted in units (envelopes); each operation committed adds at
most one.
Idle work commits in transactions of its own, without the fsync that acknowledging needs
(``synchronous=NORMAL``): its rows can be derived again from the envelopes after a power loss,
and the next acknowledging commit syncs the log they sit in anyway.

A commit that fails for want of disk space or of the database lock (``health.py``) fails as a
whole: each of its requests gets 503, idle work is retried after the next commit, and the first
commit that succeeds ends the fault.

The scheduling is a ``WritePolicy`` handed to the writer (the defaults serve; tests hand a
policy of their own to force one path):

- Whenever no request is queued, idle work fills the gap, one unit at a time (at most
  ``gap_units`` per transaction). The first request to queue up meanwhile waits for the unit in
  progress, then gets the next commit: rows keep pace with a test's SDK, which spends a
  millisecond or more on each envelope it sends, so its assertions find nothing left to derive.
  A gap cut short within its first unit means a client that sends again as soon as it has its
  answer (a load generator, a flood): then the next gap is filled only once it has lasted
  ``gap_delay``, so that such a client is not slowed down one unit per request.
- Traffic that never leaves the queue empty still gives idle work a turn of ``turn_units`` every
  ``idle_turn`` seconds, so alerts fire while a flood goes on.
- Past ``max_backlog`` units, the writer does as much idle work as the last batch added before
  it takes the next: a burst is answered at full speed, a flood only as fast as its rows are
  made, and a read never has much more than ``max_backlog`` envelopes to wait for.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from .health import Health, StorageUnavailable, storage_fault
from .schema import connect, migrate

logger = logging.getLogger("sentry_stub")

T = TypeVar("T")
Operation = Callable[[sqlite3.Connection], Any]
Outcome = tuple["Future | asyncio.Future", Any, BaseException | None]
# How long a commit waits for a lock another process holds before its requests get 503: SDKs
# time out after a few seconds, and every request queued behind the commit waits as long.
LOCK_WAIT_MS = 2_000


@dataclass(frozen=True)
class WritePolicy:
    """When the writer commits requests and when it does idle work (see the module's docstring)."""

    max_batch: int = 512  # requests committed in one transaction at most
    idle_turn: float = 0.1  # seconds of busy writing after which idle work gets one turn anyway
    turn_units: int = 4  # units of idle work in such a turn: a short stall for the requests
    gap_delay: float = 0.001  # seconds a gap must last after one was cut short, before it is filled
    gap_units: int = 16  # units of idle work in one transaction while no request waits
    max_backlog: int = 5_000  # units of idle work left to pile up before requests pay for their own

    def idle_share(self, backlog: int, last_batch: int, turn_due: bool) -> int:
        """How many units of idle work to do before the next batch."""
        if not backlog:
            return 0
        if backlog > self.max_backlog:
            return last_batch
        return self.turn_units if turn_due else 0


DEFAULT_POLICY = WritePolicy()


class Writer:
    def __init__(
        self,
        path: str,
        on_commit: Callable[[], None] | None = None,
        idle: Callable[[sqlite3.Connection, int], int] | None = None,
        policy: WritePolicy = DEFAULT_POLICY,
    ):
        self.path = path
        self.on_commit = on_commit
        self.idle = idle  # (connection, units to do) -> units left
        self.policy = policy
        self._queue: queue.SimpleQueue[tuple[Operation, Future | asyncio.Future] | None]
        self._queue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._stopping = False
        self._durable = True  # whether the connection's commits fsync (synchronous=FULL)
        self.health = Health()  # the last storage fault, until a commit succeeds (health.py)

    def start(self) -> None:
        self._stopping = False
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
            connection.execute(f"PRAGMA busy_timeout={LOCK_WAIT_MS}")
            self._durable = True  # connect() sets synchronous=FULL
            migrate(connection)  # first: an index it builds on a large store sorts on disk
            # The savepoint around each operation keeps a statement journal, which SQLite moves
            # to a temporary file (created, written, unlinked) past 64 KiB, as a chunk of derived
            # rows often is. This connection's temporary storage stays in memory from here on;
            # the readers' (sorts of large results) keeps spilling to disk.
            connection.execute("PRAGMA temp_store=MEMORY")
        except BaseException as error:  # reported to start()
            self._startup_error = error
            self._ready.set()
            return
        self._ready.set()
        backlog = 1 if self.idle is not None else 0  # a start may find work left by the last run
        last_batch = 0
        policy = self.policy
        idle_turn = time.monotonic() + policy.idle_turn
        gap_delay = 0.0  # how long the queue must stay empty to count as a gap
        while not self._stopping:
            units = policy.idle_share(backlog, last_batch, time.monotonic() >= idle_turn)
            if units:
                backlog = self._run_idle(connection, units)
                idle_turn = time.monotonic() + policy.idle_turn
            try:
                first = self._queue.get(timeout=gap_delay if backlog else None)
            except queue.Empty:  # a gap between requests: fill it
                backlog, cut_short = self._fill_gap(connection)
                gap_delay = policy.gap_delay if cut_short else 0.0
                idle_turn = time.monotonic() + policy.idle_turn
                continue
            if first is None:
                break
            batch = [first, *self._queued()]
            _settle(self._commit(connection, batch))
            if self.idle is not None:
                backlog, last_batch = backlog + len(batch), len(batch)
        connection.close()

    def _fill_gap(self, connection: sqlite3.Connection) -> tuple[int, bool]:
        """Idle work until a request queues up or none is left.

        Returns the units left, and whether a request was already waiting when the first unit
        was done (the gap was cut short).
        """
        idle = self.idle
        assert idle is not None
        cut_short = False

        def until_a_request(connection: sqlite3.Connection) -> int:
            nonlocal cut_short
            left = 1
            for done in range(1, self.policy.gap_units + 1):
                left = idle(connection, 1)
                waiting = not self._queue.empty()
                if done == 1:
                    cut_short = waiting
                if not left or waiting:
                    break
            return left

        return self._run_idle_operation(connection, until_a_request), cut_short

    def _run_idle(self, connection: sqlite3.Connection, units: int) -> int:
        """Run ``units`` of idle work in a transaction of its own; the units left after it."""
        idle = self.idle
        assert idle is not None
        return self._run_idle_operation(connection, lambda c: idle(c, units))

    def _run_idle_operation(
        self, connection: sqlite3.Connection, operation: Callable[[sqlite3.Connection], int]
    ) -> int:
        """Commit idle work without an fsync; the units left after it."""
        [outcome] = self._commit(connection, [(operation, Future())], durable=False)
        return _units_left(outcome)

    def _queued(self) -> Iterator[tuple[Operation, Future | asyncio.Future]]:
        """What has queued up, taken without waiting; the stop sentinel ends the writer's loop."""
        for _ in range(self.policy.max_batch - 1):
            try:
                queued = self._queue.get_nowait()
            except queue.Empty:
                return
            if queued is None:
                self._stopping = True
                return
            yield queued

    def _commit(
        self, connection: sqlite3.Connection, batch: list, *, durable: bool = True
    ) -> list[Outcome]:
        """Run ``batch`` in one transaction, each operation in a savepoint; fsync if ``durable``."""
        outcomes: list[Outcome] = []
        try:
            if durable != self._durable:  # SQLite refuses the change inside a transaction
                connection.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
                self._durable = durable
            connection.execute("BEGIN IMMEDIATE")
            for operation, future in batch:
                connection.execute("SAVEPOINT operation")
                try:
                    result = operation(connection)
                except Exception as error:
                    if storage_fault(error) is not None:
                        raise  # the disk, not the request: the whole commit fails below
                    connection.execute("ROLLBACK TO operation")
                    outcomes.append((future, None, error))
                else:
                    outcomes.append((future, result, None))
                connection.execute("RELEASE operation")
            connection.execute("COMMIT")
        except Exception as error:  # the commit itself failed: nothing of the batch is stored
            _roll_back(connection)
            fault = storage_fault(error)
            if fault is not None and durable:  # idle work waits for the next commit instead
                self._fault(fault)
            outcomes = [(future, None, fault or error) for _, future in batch]
        else:
            if durable and self.health.committed():
                logger.warning("storage is writable again: commits succeed")
        if self.on_commit is not None:
            self.on_commit()
        return outcomes

    def _fault(self, fault: StorageUnavailable) -> None:
        if self.health.failed(fault):  # once per fault, not once per request refused
            logger.error("commits fail, requests get 503 until they succeed: %s", fault)


def _roll_back(connection: sqlite3.Connection) -> None:
    """Undo the open transaction, if SQLite has not undone it already (it may, on SQLITE_FULL)."""
    if connection.in_transaction:
        try:
            connection.execute("ROLLBACK")
        except sqlite3.Error:  # the transaction is gone either way; the writer must go on
            logger.warning("rolling back a failed commit failed", exc_info=True)


def _units_left(outcome: Outcome) -> int:
    _, left, error = outcome
    if error is not None:
        if not isinstance(error, StorageUnavailable):  # it fails the next request's commit too
            logger.error("the writer's idle work failed", exc_info=error)
        return 0  # tried again after the next commit
    return left


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
