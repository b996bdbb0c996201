"""What the checks read from the database: plain values in, so the checks themselves stay pure.

Each function takes a read connection and a ``reader.Scope`` (receive cursor, projects, DSN
keys), like the readers of the query API.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Sequence
from typing import Any

import orjson

from ..storage import reader
from ..storage.placeholders import placeholders
from .releases import EventRelease
from .sampling import Trace

# Event types that count as the `error` data category (everything but these two).
NOT_ERRORS = ("transaction", "feedback")


def event_item_ids(connection: sqlite3.Connection, scope: reader.Scope) -> list[int]:
    where, params = scope.where("e")
    rows = connection.execute(
        f"SELECT e.item_id FROM events e WHERE {' AND '.join(where)} ORDER BY e.item_id", params
    ).fetchall()
    return [row[0] for row in rows]


def events(connection: sqlite3.Connection, item_ids: Sequence[int]) -> list[dict]:
    """Event records (``event_id``, ``project_id``, ``project``, ``data`` as sent, ...)."""
    return reader.events_by_item_ids(connection, item_ids)


def event_releases(connection: sqlite3.Connection, scope: reader.Scope) -> list[EventRelease]:
    where, params = scope.where("e")
    rows = connection.execute(
        f"""SELECT e.event_id, p.slug, e.release, e.environment FROM events e
        LEFT JOIN projects p ON p.id = e.project_id WHERE {" AND ".join(where)}
        ORDER BY e.item_id""",
        params,
    ).fetchall()
    return [EventRelease(*row) for row in rows]


def known_releases(connection: sqlite3.Connection) -> dict[str, bool] | None:
    """Releases created through the web API, each mapped to "was finalized".

    Read from the ``releases`` table (``version``, ``date_released`` set on finalize) when the
    web API has created it; ``None`` when there is no such table.
    """
    columns = {row[1] for row in connection.execute("PRAGMA table_info(releases)")}
    if not {"version", "date_released"} <= columns:
        return None
    rows = connection.execute("SELECT version, date_released FROM releases").fetchall()
    return {version: date_released is not None for version, date_released in rows}


def sampling_observations(
    connection: sqlite3.Connection, scope: reader.Scope, category: str
) -> tuple[int, dict[str, int], list[Trace]]:
    """``(kept, discards by reason, sampling contexts of the kept items)`` for ``category``."""
    if category == "transaction":
        kept_rows = _event_envelope_headers(connection, scope, "e.type = 'transaction'")
    elif category == "error":
        marks = placeholders(NOT_ERRORS)
        kept_rows = _event_envelope_headers(
            connection, scope, f"e.type NOT IN ({marks})", NOT_ERRORS
        )
    else:
        where, params = scope.where("i", "id")
        kept_rows = connection.execute(
            f"""SELECT COALESCE(i.event_id, ''), en.headers FROM items i
            JOIN envelopes en ON en.id = i.envelope_id
            WHERE i.type = 'profile' AND {" AND ".join(where)}""",
            params,
        ).fetchall()
    traces = [Trace(event_id, _trace_header(headers)) for event_id, headers in kept_rows]
    where, params = scope.where("o")
    discards: Counter[str] = Counter()
    for reason, quantity in connection.execute(
        f"""SELECT o.reason, SUM(o.quantity) FROM outcomes o
        WHERE o.kind = 'discarded_events' AND o.category = ? AND {" AND ".join(where)}
        GROUP BY o.reason""",
        (category, *params),
    ):
        discards[reason] += int(quantity or 0)
    return len(kept_rows), dict(discards), traces


def client_report_count(connection: sqlite3.Connection, scope: reader.Scope) -> int:
    """How many client reports arrived: none at all usually means the SDK never flushed."""
    where, params = scope.where("i", "id")
    sql = f"SELECT COUNT(*) FROM items i WHERE i.type = 'client_report' AND {' AND '.join(where)}"
    return int(connection.execute(sql, params).fetchone()[0])


def _event_envelope_headers(
    connection: sqlite3.Connection,
    scope: reader.Scope,
    condition: str,
    condition_params: Sequence[Any] = (),
) -> list[tuple[str, str]]:
    where, params = scope.where("e")
    return connection.execute(
        f"""SELECT e.event_id, en.headers FROM events e
        JOIN items i ON i.id = e.item_id JOIN envelopes en ON en.id = i.envelope_id
        WHERE {condition} AND {" AND ".join(where)}""",
        (*condition_params, *params),
    ).fetchall()


def _trace_header(headers: str | None) -> dict:
    parsed = orjson.loads(headers) if headers else {}
    trace = parsed.get("trace") if isinstance(parsed, dict) else None
    return trace if isinstance(trace, dict) else {}
