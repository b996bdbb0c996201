"""Why an event did not match: the first clause of a search that excludes it.

``wait_for`` shows this when it times out, so a test author sees "excluded by
environment:production" next to the event that almost matched, instead of a bare count.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from .discover import search_events
from .fields import resolve_field
from .grammar import And, Node, parse_query, render


def explain_misses(
    connection: sqlite3.Connection,
    query: str,
    *,
    project_ids: Sequence[int] | None = None,
    min_item_id: int = 0,
    limit: int = 5,
    public_keys: Sequence[str] = (),
) -> list[dict]:
    """The newest events after the cursor that ``query`` does not match, each with the reason."""
    node = parse_query(query)
    clauses: list[Node] = list(node.terms) if isinstance(node, And) else ([node] if node else [])
    matching = set(
        search_events(connection, query, project_ids=project_ids, min_item_id=min_item_id)
    )
    title = resolve_field("title")  # the title a search on `title:` reads
    rows = connection.execute(
        f"""SELECT e.item_id, e.event_id, e.type, e.project_id, p.slug, {title.sql}
           FROM events e LEFT JOIN projects p ON p.id = e.project_id
           WHERE e.item_id > ? ORDER BY e.item_id DESC LIMIT 200""",
        (*title.params, min_item_id),
    ).fetchall()
    misses = []
    for item_id, event_id, kind, project_id, slug, title in rows:
        if item_id in matching:
            continue
        misses.append(
            {
                "item_id": item_id,
                "event_id": event_id,
                "type": kind,
                "project": slug,
                "title": title,
                "excluded_by": _first_excluding(
                    connection, clauses, item_id, project_id, project_ids
                ),
            }
        )
        if len(misses) >= limit:
            break
    return misses


def _first_excluding(
    connection: sqlite3.Connection,
    clauses: list[Node],
    item_id: int,
    project_id: int,
    project_ids: Sequence[int] | None,
) -> str:
    if project_ids and project_id not in project_ids:
        return "the project filter"
    for clause in clauses:
        text = render(clause)
        found = search_events(connection, text, min_item_id=item_id - 1, limit=1)
        if found != [item_id]:
            return text
    return "the combination of clauses"
