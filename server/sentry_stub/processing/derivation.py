"""Deriving the rows tests query from acknowledged envelopes, off the acknowledgement path.

Acknowledging an envelope stores its raw bytes and nothing more (``storage/received.py``).
Its items, events, tags, spans and the rest cost several times as much to make, so they are
made afterwards, in receive order, by the writer: in the gaps between requests (its idle work),
or at once when somebody reads. Relay and Sentry work the same way, acknowledging first and
processing behind a queue; here the queue is the envelopes table itself, and the watermark
``meta.derived_through`` (the last envelope id done) moves in the same transaction as the rows,
so a crash loses nothing and repeats nothing.

Every read waits for the catch-up (``storage/database.py``, ``Database.read``), so nobody ever
sees an envelope without its rows. The envelopes of one pass are written together, one insert
per table. A transaction's span rows are the exception: a read of spans asks for them
(``expand_spans``, see ``storage/pending_spans.py``).
"""

from __future__ import annotations

import logging
import sqlite3

import orjson

from ..protocol.envelope import ParsedEnvelope, parse_envelope
from ..storage.health import storage_fault
from ..storage.inserts import RowBatch
from ..storage.packing import unpack
from ..storage.projects import ProjectRegistry
from ..storage.reader import Scope
from ..storage.received import Received
from ..storage.row_dicts import json_column
from ..storage.watermark import derived_through, latest_envelope, move_watermark
from .derive import derive_rows
from .span_expansion import expand_spans

logger = logging.getLogger("sentry_stub")

CHUNK = 16  # envelopes per transaction: a few milliseconds, so requests never wait long


class Deriver:
    """The database's derivation (``storage.database.Derivation``), handed to it by the app."""

    def __init__(self, projects: ProjectRegistry):
        self.projects = projects

    def derive_next(
        self, connection: sqlite3.Connection, until: int | None = None, limit: int = CHUNK
    ) -> int:
        """Derive the next ``limit`` envelopes (up to id ``until``); how many are left (0: none)."""
        watermark = derived_through(connection)
        bound = until if until is not None else latest_envelope(connection)
        rows = connection.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM envelopes WHERE id > ? AND id <= ? "
            "ORDER BY id LIMIT ?",
            (watermark, bound, limit),
        ).fetchall()
        self._derive_chunk(connection, [dict(zip(_COLUMNS, row, strict=True)) for row in rows])
        if rows:
            move_watermark(connection, rows[-1][0])
        return 0 if len(rows) < limit else max(0, bound - rows[-1][0])

    def idle_work(self, connection: sqlite3.Connection, limit: int) -> int:
        """The writer's idle work: derive ``limit`` envelopes; how many are left."""
        return self.derive_next(connection, limit=limit)

    def expand_spans(self, connection: sqlite3.Connection, scope: Scope) -> bool:
        """Span rows of the next waiting transactions in ``scope``; whether more may be left."""
        return expand_spans(connection, scope)

    def _derive_chunk(self, connection: sqlite3.Connection, rows: list[dict]) -> None:
        """Several envelopes' rows written together, one insert per table; should writing them
        fail, each envelope again on its own, so only the one at fault goes without rows."""
        if len(rows) < 2:
            for row in rows:
                self._derive_one(connection, row)
            return
        connection.execute("SAVEPOINT chunk")
        try:
            batch = RowBatch(connection)
            for row in rows:
                self._derive_one(connection, row, batch)
            batch.flush()
        except Exception as error:
            if storage_fault(error) is not None:
                raise  # the disk's fault: see _derive_one
            connection.execute("ROLLBACK TO chunk")
            logger.warning("writing a chunk of derived rows failed (%r): one by one", error)
            for row in rows:
                self._derive_one(connection, row)
        connection.execute("RELEASE chunk")

    def _derive_one(
        self, connection: sqlite3.Connection, row: dict, batch: RowBatch | None = None
    ) -> None:
        """One envelope's rows (written now, or with ``batch``), or (should deriving fail) a
        note saying why they are missing."""
        own = batch is None
        batch = RowBatch(connection) if batch is None else batch
        mark = batch.mark()
        connection.execute("SAVEPOINT derive")
        try:
            derive_rows(connection, self._received(row), row["id"], batch)
            if own:
                batch.flush()
        except Exception as error:  # never let one envelope stop the queue
            if storage_fault(error) is not None:
                # The disk's fault, not the envelope's: derived again once it has room. SQLite
                # may have undone the whole transaction (SQLITE_FULL, IOERR), savepoint and all,
                # so the writer's commit rolls back what is left (writer._roll_back), not this.
                raise
            connection.execute("ROLLBACK TO derive")
            batch.truncate(mark)
            logger.exception("deriving rows of envelope %s failed", row["id"])
            notes = [*_notes(row), f"the stub could not derive this envelope's rows: {error!r}"]
            connection.execute(
                "UPDATE envelopes SET notes = ? WHERE id = ?",
                (orjson.dumps(notes).decode(), row["id"]),
            )
        connection.execute("RELEASE derive")

    def _received(self, row: dict) -> Received:
        envelope = parse_envelope(unpack(row["raw"], row["raw_encoding"]))
        if row["dropped_items"]:
            dropped = set(orjson.loads(row["dropped_items"]))
            items = [item for i, item in enumerate(envelope.items) if i not in dropped]
            envelope = ParsedEnvelope(envelope.headers, items)
        return Received(
            envelope=envelope,
            raw=b"",  # stored already; derive_rows reads only the parsed envelope
            project=self.projects.for_ingest(row["project_id"], row["public_key"]),
            endpoint=row["endpoint"],
            public_key=row["public_key"],
            received_at=row["received_at"],
            event_id=row["event_id"],
            client=row["client"],
            remote_addr=row["remote_addr"],
            notes=_notes(row),
        )


def _notes(row: dict) -> list[str]:
    return json_column(row["notes"], [])


_COLUMNS = (
    "id",
    "received_at",
    "project_id",
    "endpoint",
    "event_id",
    "raw",
    "raw_encoding",
    "public_key",
    "client",
    "remote_addr",
    "notes",
    "dropped_items",
)
