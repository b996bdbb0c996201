"""Metric alerts: an aggregate over a trailing time window, compared with thresholds (spec §5).

Sentry recomputes the aggregate about once a minute; the stub recomputes it whenever an event of
the rule's dataset arrives in its project, and on demand (``POST /stub/api/alerts/evaluate``), so
a test never waits for a timer. Each computation is one *evaluation*: ``threshold_period`` counts
consecutive breaching evaluations. "above" breaches when the value is greater than the trigger's
threshold, "below" when it is smaller. An open incident resolves when the value crosses
``resolve_threshold`` (or, without one, when no trigger breaches any more). A window without
data (a percentile of no transactions) changes nothing, as in Sentry.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from ..query.discover import run_discover
from .config import MetricAlertRule, Trigger

SEVERITY = {"resolved": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class IncidentState:
    status: str = "resolved"  # resolved, warning or critical
    breaches: dict[str, int] = field(default_factory=dict, hash=False)  # label -> in a row


@dataclass(frozen=True)
class Change:
    """An incident moved: to ``status``, because of ``trigger`` (whose actions run)."""

    status: str
    trigger: Trigger
    reason: str


def metric_value(
    connection: sqlite3.Connection, rule: MetricAlertRule, project_id: int, now: float
) -> float | None:
    """The rule's aggregate over its window ending at ``now``; None when there is no data."""
    result = run_discover(
        connection,
        fields=[rule.aggregate],
        query=window_query(rule),
        project_ids=[project_id],
        environments=[rule.environment] if rule.environment else None,
        start=now - rule.time_window * 60,
        limit=1,
    )
    rows = result["data"]
    value = rows[0][rule.aggregate] if rows else None
    return None if value is None else float(value)


def window_query(rule: MetricAlertRule) -> str:
    """The Discover query of the rule: its dataset's event types AND its own query."""
    types = f"event.type:[{','.join(rule.event_types)}]"
    return f"{types} ({rule.query})" if rule.query.strip() else types


def transition(
    rule: MetricAlertRule, value: float | None, state: IncidentState
) -> tuple[IncidentState, Change | None]:
    """The incident's next state after one evaluation, and the change to announce, if any."""
    if value is None:
        return state, None
    breaches = {
        t.label: state.breaches.get(t.label, 0) + 1 if _breaches(rule, t, value) else 0
        for t in rule.triggers
    }
    active = [t for t in rule.triggers if breaches[t.label] >= rule.threshold_period]
    target = max(active, key=lambda t: SEVERITY[t.label], default=None)
    described = f"{rule.aggregate} = {value:g} over the last {rule.time_window} min"
    if target is not None:
        if target.label == state.status:
            return IncidentState(state.status, breaches), None
        comparison = ">" if rule.threshold_type == "above" else "<"
        reason = f"{described} {comparison} {target.alert_threshold:g} ({target.label})"
        return IncidentState(target.label, breaches), Change(target.label, target, reason)
    if state.status == "resolved" or not _resolves(rule, value):
        return IncidentState(state.status, breaches), None
    previous = next(t for t in rule.triggers if t.label == state.status)
    if rule.resolve_threshold is not None:
        comparison = "<" if rule.threshold_type == "above" else ">"
        reason = f"{described} {comparison} resolve threshold {rule.resolve_threshold:g}"
    else:
        reason = f"{described}: no trigger breaches any more"
    return IncidentState("resolved", breaches), Change("resolved", previous, reason)


def _breaches(rule: MetricAlertRule, trigger: Trigger, value: float) -> bool:
    if rule.threshold_type == "above":
        return value > trigger.alert_threshold
    return value < trigger.alert_threshold


def _resolves(rule: MetricAlertRule, value: float) -> bool:
    if rule.resolve_threshold is None:
        return not any(_breaches(rule, trigger, value) for trigger in rule.triggers)
    if rule.threshold_type == "above":
        return value < rule.resolve_threshold
    return value > rule.resolve_threshold
