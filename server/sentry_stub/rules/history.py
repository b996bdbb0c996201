"""Reading issues and alert firings back, as plain dicts ready to be sent as JSON."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from ..storage import reader
from ..storage.placeholders import placeholders
from ..storage.row_dicts import dict_rows, json_column


def firings(
    connection: sqlite3.Connection,
    *,
    after: int = 0,
    project_ids: Sequence[int] = (),
    undelivered: bool = False,
) -> list[dict[str, Any]]:
    """Firings after the receive cursor ``after``, oldest first, each with its event and results."""
    where = ["f.item_cursor > ?"]
    params: list[Any] = [after]
    if project_ids:
        where.append(f"f.project_id IN ({placeholders(project_ids)})")
        params += list(project_ids)
    if undelivered:
        where.append("f.pending_deliveries > 0 AND f.dispatched_at IS NULL")
    records = dict_rows(
        connection,
        f"SELECT f.* FROM alert_firings f WHERE {' AND '.join(where)} ORDER BY f.id",
        params,
    )
    slugs = reader.project_slugs(connection)
    events = {
        e["item_id"]: e
        for e in reader.events_by_item_ids(
            connection, [r["item_id"] for r in records if r["item_id"]]
        )
    }
    results = _results(connection, [r["id"] for r in records])
    for record in records:
        record["project"] = slugs.get(record["project_id"])
        for column in ("reasons", "context", "actions"):
            record[column] = json_column(record[column])
        event = events.get(record["item_id"])
        record["event"] = (event or {}).get("data")
        record["event_tags"] = (event or {}).get("tags", [])
        record["deliveries"] = results.get(record["id"], [])
    return records


def issues(
    connection: sqlite3.Connection, *, after: int = 0, project_ids: Sequence[int] = ()
) -> list[dict[str, Any]]:
    """Issues that got an event after the receive cursor ``after``, oldest first."""
    where = [
        "EXISTS (SELECT 1 FROM events e WHERE e.project_id = i.project_id "
        "AND e.fingerprint = i.fingerprint AND e.item_id > ?)"
    ]
    params: list[Any] = [after]
    if project_ids:
        where.append(f"i.project_id IN ({placeholders(project_ids)})")
        params += list(project_ids)
    records = dict_rows(
        connection, f"SELECT i.* FROM issues i WHERE {' AND '.join(where)} ORDER BY i.id", params
    )
    slugs = reader.project_slugs(connection)
    for record in records:
        record["project"] = slugs.get(record["project_id"])
    return records


def _results(connection: sqlite3.Connection, firing_ids: list[int]) -> dict[int, list[dict]]:
    if not firing_ids:
        return {}
    marks = placeholders(firing_ids)
    by_firing: dict[int, list[dict]] = {}
    for record in dict_rows(
        connection,
        "SELECT firing_id, action_index, kind, url, status, attempts, status_code, error, "
        f"finished_at FROM action_results WHERE firing_id IN ({marks}) ORDER BY id",
        firing_ids,
    ):
        by_firing.setdefault(record.pop("firing_id"), []).append(record)
    return by_firing
