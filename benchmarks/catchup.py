"""The work an acknowledgement leaves behind: deriving the rows of what was acknowledged.

The stub answers 2xx once an envelope's raw bytes are committed; its items, events, tags and
spans are derived afterwards, in the server's idle time or at once before any read
(``sentry_stub/processing/derivation.py``). A load run that stopped the clock at the last answer
would leave that work out, so after each run the harness reads once, as a test would
(``GET /stub/api/cursor``), and the read returns only when every acknowledged envelope has its
rows. Timing that read, and the server's CPU meanwhile, is the catch-up.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sentry_stub.client import StubClient
from sentry_stub.storage.watermark import derived_through

from .procfs import cpu_seconds

TIMEOUT = 600.0  # seconds the read may wait: a full run's backlog on a slow, shared machine


@dataclass(frozen=True)
class CatchUp:
    seconds: float  # wall time until the read returned
    cpu_seconds: float  # the server's CPU time meanwhile
    backlog: int  # envelopes that had no rows when it started


def catch_up(url: str, pid: int, db: Path) -> CatchUp:
    """Read once through the API, which waits for every acknowledged envelope's rows."""
    cpu_before, started = cpu_seconds(pid), time.perf_counter()
    before = watermark(db)
    StubClient(url, timeout=TIMEOUT).cursor()
    seconds, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu_before
    return CatchUp(seconds, cpu, envelopes_between(db, before, watermark(db)))


def watermark(db: Path) -> int:
    """The id of the last envelope whose rows exist, read without triggering derivation."""
    with closing(_read_only(db)) as connection:
        return derived_through(connection)


def envelopes_between(db: Path, after: int, through: int) -> int:
    """How many envelopes have ids in ``(after, through]``: those derived between two watermarks."""
    with closing(_read_only(db)) as connection:
        return connection.execute(
            "SELECT COUNT(*) FROM envelopes WHERE id > ? AND id <= ?", (after, through)
        ).fetchone()[0]


def _read_only(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True)
