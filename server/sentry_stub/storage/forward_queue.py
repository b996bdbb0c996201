"""The forward queue: one ``forwards`` row per envelope that is to go upstream, and its state.

The row is written in the transaction that acknowledges the envelope, so nothing acknowledged is
lost to forwarding, and it survives a restart. A row is ``pending`` (with its attempts, the last
failure and when the next attempt is due), ``sent`` (with the upstream's status) or ``dropped``
(with the reason). Each project's pending rows go out in receive order: only the oldest of them,
its *head*, is ever attempted. The queue is bounded: past ``MAX_PENDING`` pending rows a new
envelope is stored as always but its row says ``dropped`` (queue full), so ingest never waits for
an upstream.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from .packing import unpack
from .placeholders import placeholders

MAX_PENDING = 10_000
STATES = ("pending", "sent", "dropped")
_RECORD_COLUMNS = (
    "envelope_id",
    "project_id",
    "target",
    "state",
    "status",
    "reason",
    "attempts",
    "next_attempt_at",
    "updated_at",
)


@dataclass(frozen=True)
class Head:
    """The oldest pending forward of one project, with what sending it needs."""

    envelope_id: int
    project_id: int
    target: str
    attempts: int
    next_attempt_at: float
    raw: bytes
    dropped_items: tuple[int, ...]
    updated_at: float  # the row as read: an outcome is recorded only on this very row


def enqueue(
    connection: sqlite3.Connection,
    envelope_id: int,
    project_id: int,
    target: str,
    *,
    limit: int = MAX_PENDING,
) -> None:
    """The envelope's row: pending, or dropped when ``limit`` rows are pending already."""
    pending = connection.execute(
        "SELECT count(*) FROM (SELECT 1 FROM forwards WHERE state = 'pending' LIMIT ?)", (limit,)
    ).fetchone()[0]
    now = time.time()
    state, reason = "pending", None
    if pending >= limit:
        state, reason = "dropped", f"forward queue full ({limit} envelopes pending)"
    connection.execute(
        "INSERT INTO forwards (envelope_id, project_id, target, state, reason, attempts, "
        "next_attempt_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
        (envelope_id, project_id, target, state, reason, now, now),
    )


def heads(connection: sqlite3.Connection) -> list[Head]:
    """Each project's oldest pending forward."""
    rows = connection.execute(
        """
        SELECT f.envelope_id, f.project_id, f.target, f.attempts, f.next_attempt_at,
               en.raw, en.raw_encoding, en.dropped_items, f.updated_at
        FROM (SELECT MIN(envelope_id) AS envelope_id FROM forwards
              WHERE state = 'pending' GROUP BY project_id) AS h
        JOIN forwards f ON f.envelope_id = h.envelope_id
        JOIN envelopes en ON en.id = f.envelope_id
        ORDER BY f.next_attempt_at
        """
    ).fetchall()
    return [
        Head(
            envelope_id=row[0],
            project_id=row[1],
            target=row[2],
            attempts=row[3],
            next_attempt_at=row[4],
            raw=unpack(row[5], row[6]),
            dropped_items=tuple(orjson.loads(row[7])) if row[7] else (),
            updated_at=row[8],
        )
        for row in rows
    ]


def record(
    connection: sqlite3.Connection,
    head: Head,
    *,
    state: str,
    attempts: int,
    status: int | None = None,
    reason: str | None = None,
    next_attempt_at: float | None = None,
) -> None:
    """The outcome of an attempt on ``head`` (or of holding it back).

    Only the row as ``head`` read it changes: not one that a ``reset`` deleted meanwhile and a new
    envelope with the same id replaced, nor one no longer pending.
    """
    if state not in STATES:
        raise ValueError(f"forward state must be one of {', '.join(STATES)}, not {state!r}")
    now = time.time()
    connection.execute(
        "UPDATE forwards SET state = ?, status = ?, reason = ?, attempts = ?, "
        "next_attempt_at = ?, updated_at = ? "
        "WHERE envelope_id = ? AND state = 'pending' AND updated_at = ?",
        (
            state,
            status,
            reason,
            attempts,
            next_attempt_at or now,
            now,
            head.envelope_id,
            head.updated_at,
        ),
    )


def states(connection: sqlite3.Connection, envelope_ids: Sequence[int]) -> dict[int, dict]:
    """The forward state of each of ``envelope_ids`` that is forwarded."""
    if not envelope_ids:
        return {}
    marks = placeholders(envelope_ids)
    rows = connection.execute(
        f"SELECT {', '.join(_RECORD_COLUMNS)} FROM forwards WHERE envelope_id IN ({marks})",
        tuple(envelope_ids),
    ).fetchall()
    return {row[0]: _record(row) for row in rows}


def listing(
    connection: sqlite3.Connection,
    *,
    after_envelope: int = 0,
    project_ids: Sequence[int] = (),
    state: str | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    """Forward rows in receive order, with the event id of each envelope and the counts by state."""
    where: list[str] = ["f.envelope_id > ?"]
    params: list[Any] = [after_envelope]
    if project_ids:
        where.append(f"f.project_id IN ({placeholders(project_ids)})")
        params.extend(project_ids)
    scope = list(where)
    if state is not None:
        where.append("f.state = ?")
        params.append(state)
    columns = ", ".join(f"f.{name}" for name in _RECORD_COLUMNS)
    rows = connection.execute(
        f"""
        SELECT {columns}, en.event_id, en.received_at, p.slug
        FROM forwards f JOIN envelopes en ON en.id = f.envelope_id
        LEFT JOIN projects p ON p.id = f.project_id
        WHERE {" AND ".join(where)} ORDER BY f.envelope_id LIMIT ?
        """,
        (*params, limit),
    ).fetchall()
    count_params = params[: len(params) - (state is not None)]
    counts = dict.fromkeys(STATES, 0)
    counted = connection.execute(
        f"SELECT f.state, count(*) FROM forwards f WHERE {' AND '.join(scope)} GROUP BY f.state",
        count_params,
    ).fetchall()
    counts.update(dict(counted))
    data = [
        {
            **_record(row),
            "event_id": row[len(_RECORD_COLUMNS)],
            "received_at": row[len(_RECORD_COLUMNS) + 1],
            "project": row[len(_RECORD_COLUMNS) + 2],
        }
        for row in rows
    ]
    return {"data": data, "counts": counts}


def _record(row: Sequence[Any]) -> dict:
    record = dict(zip(_RECORD_COLUMNS, row, strict=False))
    record["upstream"] = public_dsn(record.pop("target"))
    if record["state"] != "pending":
        record["next_attempt_at"] = None
    return record


def public_dsn(dsn: str) -> str:
    """The DSN without a secret key (legacy DSNs carry one after the public key)."""
    scheme, _, rest = dsn.partition("://")
    credentials, _, location = rest.rpartition("@")
    return f"{scheme}://{credentials.partition(':')[0]}@{location}"
