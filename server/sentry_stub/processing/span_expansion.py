"""A transaction's span rows, made on the first read that touches spans (see
``storage/pending_spans.py``), in the writer's transaction.

The rows are the ones deriving the transaction made before spans were lazy: ``transaction_spans``
over its payload and its own event row; what it notes about malformed spans joins the
envelope's notes when the rows are made.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import orjson

from ..protocol.payload import Reader
from ..storage.inserts import insert_many
from ..storage.pending_spans import add_notes, mark_expanded, pending_transactions
from ..storage.reader import Scope
from .spans import transaction_spans

logger = logging.getLogger("sentry_stub")

CHUNK = 64  # transactions per writer operation: a few milliseconds, so requests never wait long


def expand_spans(connection: sqlite3.Connection, scope: Scope, limit: int = CHUNK) -> bool:
    """Make the span rows of up to ``limit`` waiting transactions in ``scope``; whether
    more may be left."""
    pending = pending_transactions(connection, scope, limit)
    rows: list[dict] = []
    notes: dict[int, list[str]] = {}
    for transaction in pending:
        envelope_notes = notes.setdefault(transaction["envelope_id"], [])
        try:
            spans = transaction_spans(
                _event(transaction["payload"]), transaction, Reader(envelope_notes, "transaction")
            )
        except Exception as error:  # one transaction's spans never block the others'
            logger.exception("expanding the spans of item %s failed", transaction["item_id"])
            envelope_notes.append(f"the stub could not make this transaction's spans: {error!r}")
            continue
        common = {
            "item_id": transaction["item_id"],
            "project_id": transaction["project_id"],
            "received_at": transaction["received_at"],
        }
        rows.extend({**span, **common} for span in spans)
    insert_many(connection, "spans", rows)
    mark_expanded(connection, [transaction["item_id"] for transaction in pending])
    for envelope_id, envelope_notes in notes.items():
        if envelope_notes:
            add_notes(connection, envelope_id, envelope_notes)
    return len(pending) == limit


def expand_all(connection: sqlite3.Connection, scope: Scope) -> None:
    """Every waiting transaction in ``scope`` (inside the writer already: metric alerts)."""
    while expand_spans(connection, scope):
        pass


def _event(payload: Any) -> dict:
    """The transaction's payload as derivation read it (it was a JSON object then)."""
    try:
        event = orjson.loads(payload) if payload else None
    except orjson.JSONDecodeError:
        return {}
    return event if isinstance(event, dict) else {}
