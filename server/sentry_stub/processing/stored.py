"""The event "as Sentry would store it", made on first read rather than on the ingest path.

Relay's normalization and scrubbing cost more than everything else an envelope needs, and most
tests never look at ``Event.stored``. So ingest writes ``stored`` and ``stored_error`` as NULL
(pending), the first read of an event makes its stored view with the project's scrubbing
settings and the sender's address (both as ingest would have used them), and the writer caches
it in the row for every later read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import orjson

from ..settings.values import Scrubbing
from ..storage.placeholders import placeholders
from ..storage.projects import ProjectRegistry
from .normalize import RELAY_MISSING_REASON, stored_event

Update = tuple[str | None, str | None, int]  # (stored JSON, stored_error, item_id)


def at_ingest() -> dict[str, str | None]:
    """The columns ingest writes: pending, or, without Relay, why there will never be a view."""
    return {"stored": None, "stored_error": RELAY_MISSING_REASON}


def complete(
    connection: sqlite3.Connection, records: Sequence[dict], projects: ProjectRegistry
) -> list[Update]:
    """Fill in ``stored`` of the event records still pending; returns the rows to cache."""
    pending = [r for r in records if r["stored"] is None and r["stored_error"] is None]
    if not pending:
        return []
    marks = placeholders(pending)
    client_ips = dict(
        connection.execute(
            f"""SELECT i.id, en.remote_addr FROM items i JOIN envelopes en ON en.id = i.envelope_id
            WHERE i.id IN ({marks})""",
            [r["item_id"] for r in pending],
        ).fetchall()
    )
    updates = []
    for record in pending:
        project = projects.get(record["project_id"])
        scrubbing = project.scrubbing if project is not None else Scrubbing()
        view, error = stored_event(
            record["data"], scrubbing, client_ip=client_ips.get(record["item_id"])
        )
        record["stored"], record["stored_error"] = view, error
        text = orjson.dumps(view).decode() if view is not None else None
        updates.append((text, error, record["item_id"]))
    return updates


def cache(connection: sqlite3.Connection, updates: Sequence[Update]) -> None:
    """Keep the views made by a read (runs in the writer; a concurrent read may have won)."""
    connection.executemany(
        "UPDATE events SET stored = ?, stored_error = ? "
        "WHERE item_id = ? AND stored IS NULL AND stored_error IS NULL",
        updates,
    )
