"""Turn one stored envelope item into the rows of the query tables, by the item's kind.

Everything here is pure: ``extract_rows`` takes an item's type, its payload (already parsed as
JSON, or None) and its header, and returns the column values the writer inserts. The writer adds
the bookkeeping columns (``id``, ``item_id``, ``project_id``, ``received_at``) itself. Which
derivation an item type gets is a fact of the item-type table (``protocol/item_types.py``); the
derivation itself lives in one module per kind.

Nothing here raises on bad input: what cannot be read is left out and explained in
``Rows.notes``, together with whatever Relay would refuse or silently fix.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from ..protocol.item_types import derivation_of
from ..protocol.payload import json_kind
from . import check_ins, events, logs, outcomes, sessions, spans
from .rows import Rows

Extractor = Callable[[Rows, dict, dict], None]

# Derivation name (from the item-type table) -> the function that fills in the rows.
_EXTRACTORS: dict[str, Extractor] = {
    "event": events.extract_event,
    "transaction": partial(events.extract_event, item_type="transaction"),
    "feedback": events.extract_feedback,
    "security": partial(events.extract_event, item_type="security"),
    "span": spans.extract_span,
    "log": logs.extract_logs,
    "client_report": outcomes.extract_client_report,
    "session": sessions.extract_session,
    "sessions": sessions.extract_sessions,
    "check_in": check_ins.extract_check_in,
}
# Derivations that explain any payload, whatever its shape (no rows: Relay drops the item).
_NOTES_ONLY: dict[str, Callable[[Rows, Any, dict], None]] = {"otel_log": logs.extract_otel_log}


def extract_rows(item_type: str, payload: Any, headers: dict) -> Rows:
    """The query-table rows for one item; unknown and binary item types give no rows.

    ``raw_security`` items are not derived here: ``derive.py`` first makes the event Relay makes
    of the report, then derives that as an ``event``.
    """
    rows = Rows()
    derivation = derivation_of(item_type) or ""
    notes_only, extractor = _NOTES_ONLY.get(derivation), _EXTRACTORS.get(derivation)
    if notes_only is None and extractor is None:
        return rows
    if payload is None:
        rows.notes.append(f"{item_type}: payload is not JSON; nothing indexed")
        return rows
    headers = headers if isinstance(headers, dict) else {}
    if notes_only is not None:
        notes_only(rows, payload, headers)
    elif not isinstance(payload, dict):
        rows.notes.append(
            f"{item_type}: expected a JSON object, got {json_kind(payload)}; not indexed"
        )
    elif extractor is not None:
        extractor(rows, payload, headers)
    return rows
