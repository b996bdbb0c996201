"""Transactions whose spans are not rows yet: the ``events.spans_pending`` marker.

A transaction's span rows are most of what deriving it costs, and most tests never read them.
So deriving a transaction writes none and marks it; the first read that touches spans has the
spans of the marked transactions it covers made (``processing/span_expansion.py``), in the
writer like every write, and they are kept. The marker is cleared in the transaction that
inserts the rows, so nothing is expanded twice, and a crash loses nothing: the transaction's
payload is still in its envelope.
"""

from __future__ import annotations

import sqlite3

import orjson

from .reader import PAYLOAD_SQL, Scope
from .row_dicts import json_column

# The columns of a transaction's own row that its segment span repeats (``transaction_spans``).
EVENT_COLUMNS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "transaction_name",
    "transaction_op",
    "trace_status",
    "start_timestamp",
    "timestamp",
    "duration",
    "environment",
    "release",
)
_SELECTED = ("item_id", "project_id", "received_at", *EVENT_COLUMNS)


def spans_pending(connection: sqlite3.Connection, scope: Scope) -> bool:
    """Whether a transaction in ``scope`` still waits for its span rows."""
    where, params = scope.where("e")
    found = connection.execute(
        # The partial index holds only marked transactions: an empty one answers at once.
        "SELECT 1 FROM events e INDEXED BY events_spans_pending "
        f"WHERE e.spans_pending = 1 AND {' AND '.join(where)} LIMIT 1",
        params,
    ).fetchone()
    return found is not None


def pending_transactions(connection: sqlite3.Connection, scope: Scope, limit: int) -> list[dict]:
    """Up to ``limit`` marked transactions in ``scope``, oldest first: their row, the id of
    their envelope and their payload."""
    where, params = scope.where("e")
    selected = ", ".join(f"e.{column}" for column in _SELECTED)
    rows = connection.execute(
        f"""SELECT {selected}, i.envelope_id, COALESCE(e.data, {PAYLOAD_SQL})
        FROM events e INDEXED BY events_spans_pending
        JOIN items i ON i.id = e.item_id JOIN envelopes en ON en.id = i.envelope_id
        WHERE e.spans_pending = 1 AND {" AND ".join(where)} ORDER BY e.item_id LIMIT ?""",
        (*params, limit),
    ).fetchall()
    return [
        {**dict(zip(_SELECTED, row, strict=False)), "envelope_id": row[-2], "payload": row[-1]}
        for row in rows
    ]


def mark_expanded(connection: sqlite3.Connection, item_ids: list[int]) -> None:
    connection.executemany(
        "UPDATE events SET spans_pending = NULL WHERE item_id = ?", [(i,) for i in item_ids]
    )


def add_notes(connection: sqlite3.Connection, envelope_id: int, notes: list[str]) -> None:
    """Append ``notes`` to an envelope's notes."""
    found = connection.execute("SELECT notes FROM envelopes WHERE id = ?", (envelope_id,))
    (current,) = found.fetchone() or (None,)
    merged = [*json_column(current, []), *notes]
    connection.execute(
        "UPDATE envelopes SET notes = ? WHERE id = ?", (orjson.dumps(merged).decode(), envelope_id)
    )
