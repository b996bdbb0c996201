"""The rows one item produces: what each derivation by item kind fills in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..protocol.tables import CheckInRow, LogRow, OutcomeRow, SessionRow, SpanRow


@dataclass
class Rows:
    """The rows one item produces, plus notes on what Relay would have done differently."""

    event: dict[str, Any] | None = None  # the ``events`` columns (``storage/schema.py``)
    tags: list[tuple[str, str | None]] = field(default_factory=list)
    spans: list[SpanRow] = field(default_factory=list)
    outcomes: list[OutcomeRow] = field(default_factory=list)
    sessions: list[SessionRow] = field(default_factory=list)
    check_ins: list[CheckInRow] = field(default_factory=list)
    logs: list[LogRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
