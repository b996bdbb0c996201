"""Outcome rows from client reports: what the SDK discarded, and why."""

from __future__ import annotations

from ..protocol.envelope import is_int
from ..protocol.payload import Reader, json_kind
from .rows import Rows

CLIENT_REPORT_KINDS = (
    "discarded_events",
    "rate_limited_events",
    "filtered_events",
    "filtered_sampling_events",
)


def extract_client_report(rows: Rows, payload: dict, headers: dict) -> None:
    reader = Reader(rows.notes, "client_report")
    for kind in CLIENT_REPORT_KINDS:
        entries = payload.get(kind)
        if entries is None:
            continue
        if not isinstance(entries, list):
            reader.note(f"{kind}: expected a list, got {json_kind(entries)}; ignored")
            continue
        for index, entry in enumerate(entries):
            quantity = entry.get("quantity") if isinstance(entry, dict) else None
            if not is_int(quantity) or quantity < 0:
                reader.note(f"{kind}[{index}]: expected {{reason, category, quantity}}; skipped")
                continue
            rows.outcomes.append(
                {
                    "kind": kind,
                    "reason": reader.string(entry.get("reason"), f"{kind}[{index}].reason"),
                    "category": reader.string(entry.get("category"), f"{kind}[{index}].category"),
                    "quantity": quantity,
                }
            )
