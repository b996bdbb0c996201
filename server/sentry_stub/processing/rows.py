"""The rows one item produces: what each derivation by item kind fills in."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Rows:
    """The rows one item produces, plus notes on what Relay would have done differently."""

    event: dict | None = None
    tags: list[tuple[str, str | None]] = field(default_factory=list)
    spans: list[dict] = field(default_factory=list)
    outcomes: list[dict] = field(default_factory=list)
    sessions: list[dict] = field(default_factory=list)
    check_ins: list[dict] = field(default_factory=list)
    logs: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
