"""What happens to a stored event inside the writer's transaction: grouping and alert rules.

``process_event`` runs right after the event row is inserted: it files the event under its issue
(creating it, or reopening a resolved one as a regression), evaluates the project's issue alerts,
and recomputes the metric alerts whose dataset the event belongs to. Only the firing records are
written here; their actions are carried out after the commit (see ``actions.Dispatcher``), so a
slow webhook never holds up ingestion and a rolled-back envelope never notifies anyone.
"""

from __future__ import annotations

import sqlite3
from functools import partial
from typing import Any

import orjson

from ..query.discover import reads_spans
from ..rules.config import Clause, IssueAlertRule, MetricAlertRule
from ..rules.metric_alerts import IncidentState, metric_value, transition, window_query
from ..settings.values import Project
from ..storage.reader import Scope
from .alerts import EventFacts, IssueFacts, evaluate_issue_rule
from .grouping import culprit, fingerprint, issue_title
from .span_expansion import expand_all

# Event types that Sentry groups into (error) issues.
GROUPED_TYPES = frozenset({"error", "default", "csp", "hpkp", "expectct", "expectstaple", "nel"})
DELIVERED_KINDS = frozenset({"webhook", "sentry_app"})  # actions that always post somewhere


def event_fingerprint(event_type: str, event: dict[str, Any]) -> str | None:
    """The grouping hash of an event that belongs to an issue (None for transactions etc.)."""
    return fingerprint(event) if event_type in GROUPED_TYPES else None


def process_event(
    connection: sqlite3.Connection, project: Project, row: dict[str, Any], event: dict[str, Any]
) -> None:
    """Group the just-inserted event ``row`` and evaluate ``project``'s alert rules for it."""
    now = row["received_at"]
    if row.get("fingerprint"):
        issue = _file_under_issue(connection, project, row, event)
        facts = EventFacts(event, row["type"], row.get("environment"), row.get("level"))
        for rule in project.rules.alerts:
            _evaluate_issue_alert(connection, project, rule, facts, issue, row, now)
    for metric_rule in project.rules.metric_alerts:
        if row["type"] in metric_rule.event_types and metric_rule.environment in (
            None,
            row.get("environment"),
        ):
            evaluate_metric_alert(connection, project, metric_rule, now, row["item_id"])


def evaluate_metric_alert(
    connection: sqlite3.Connection,
    project: Project,
    rule: MetricAlertRule,
    now: float,
    item_cursor: int,
) -> str | None:
    """Recompute one metric alert; record a firing when its incident changes status."""
    key = f"{project.id}:{rule.name}"
    found = connection.execute(
        "SELECT status, breaches FROM metric_alert_state WHERE key = ?", (key,)
    ).fetchone()
    state = IncidentState(found[0], orjson.loads(found[1])) if found else IncidentState()
    if reads_spans(window_query(rule), [rule.aggregate]):
        expand_all(connection, Scope(project_ids=(project.id,)))
    value = metric_value(connection, rule, project.id, now)
    new_state, change = transition(rule, value, state)
    breaches = orjson.dumps(new_state.breaches)
    connection.execute(
        """INSERT OR REPLACE INTO metric_alert_state
        (key, project_id, rule_name, status, breaches, value, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)""",
        (key, project.id, rule.name, new_state.status, breaches, value, now),
    )
    if change is None:
        return None
    context = {
        "project": project.slug,
        "metric_alert": {
            "name": rule.name,
            "dataset": rule.dataset,
            "aggregate": rule.aggregate,
            "query": rule.query,
            "environment": rule.environment,
            "time_window": rule.time_window,
            "threshold_type": rule.threshold_type,
            "resolve_threshold": rule.resolve_threshold,
            "triggers": [
                {"label": t.label, "alert_threshold": t.alert_threshold} for t in rule.triggers
            ],
            "trigger": change.trigger.label,
            "value": value,
        },
    }
    _record_firing(
        connection,
        kind="metric",
        rule_name=rule.name,
        project=project,
        status=change.status,
        now=now,
        item_cursor=item_cursor,
        reasons=(change.reason,),
        context=context,
        actions=change.trigger.actions,
        value=value,
    )
    return change.status


def resolve_issue(connection: sqlite3.Connection, issue_id: int, now: float) -> bool:
    """Mark an issue resolved, so that its next event is a regression; False if no such issue."""
    cursor = connection.execute(
        "UPDATE issues SET status = 'resolved', resolved_at = ? WHERE id = ?", (now, issue_id)
    )
    return cursor.rowcount > 0


def _file_under_issue(
    connection: sqlite3.Connection, project: Project, row: dict, event: dict
) -> IssueFacts:
    found = connection.execute(
        "SELECT id, status FROM issues WHERE project_id = ? AND fingerprint = ?",
        (project.id, row["fingerprint"]),
    ).fetchone()
    now = row["received_at"]
    if found is None:
        number = connection.execute(
            "SELECT COUNT(*) + 1 FROM issues WHERE project_id = ?", (project.id,)
        ).fetchone()[0]
        cursor = connection.execute(
            """INSERT INTO issues (project_id, fingerprint, short_id, status, title, culprit,
            level, type, first_seen, last_seen, times_seen, first_event_id, last_event_id)
            VALUES (?, ?, ?, 'unresolved', ?, ?, ?, ?, ?, ?, 1, ?, ?)""",
            (
                project.id,
                row["fingerprint"],
                f"{project.slug.upper()}-{number}",
                issue_title(event),
                culprit(event),
                row.get("level"),
                row["type"],
                now,
                now,
                row.get("event_id"),
                row.get("event_id"),
            ),
        )
        return IssueFacts(cursor.lastrowid or 0, is_new=True, is_regression=False)
    issue_id, status = found
    connection.execute(
        """UPDATE issues SET status = 'unresolved', last_seen = ?, times_seen = times_seen + 1,
        last_event_id = ?, level = ? WHERE id = ?""",
        (now, row.get("event_id"), row.get("level"), issue_id),
    )
    return IssueFacts(issue_id, is_new=False, is_regression=status == "resolved")


def _evaluate_issue_alert(
    connection: sqlite3.Connection,
    project: Project,
    rule: IssueAlertRule,
    facts: EventFacts,
    issue: IssueFacts,
    row: dict,
    now: float,
) -> None:
    last_fired = connection.execute(
        "SELECT MAX(fired_at) FROM alert_firings WHERE rule_kind = 'issue' AND rule_name = ? "
        "AND issue_id = ?",
        (rule.name, issue.id),
    ).fetchone()[0]
    evaluation = evaluate_issue_rule(
        rule,
        facts,
        issue,
        now=now,
        last_fired=last_fired,
        count=partial(_count, connection, project.id, row["fingerprint"]),
    )
    if not evaluation.fired:
        return
    columns = "id, short_id, title, culprit, level, status, first_seen, times_seen"
    values = connection.execute(
        f"SELECT {columns} FROM issues WHERE id = ?", (issue.id,)
    ).fetchone()
    context = {
        "project": project.slug,
        "issue": dict(zip(columns.split(", "), values, strict=True)),
        "environment": rule.environment,
        "is_new": issue.is_new,
        "is_regression": issue.is_regression,
    }
    _record_firing(
        connection,
        kind="issue",
        rule_name=rule.name,
        project=project,
        status="triggered",
        now=now,
        item_cursor=row["item_id"],
        reasons=evaluation.reasons,
        context=context,
        actions=rule.actions,
        issue_id=issue.id,
        item_id=row["item_id"],
        event_id=row.get("event_id"),
    )


def _count(
    connection: sqlite3.Connection,
    project_id: int,
    fingerprint_: str,
    kind: str,
    start: float,
    end: float,
) -> int:
    """Events (or distinct users) of one issue received in [start, end]."""
    what = (
        "COUNT(DISTINCT COALESCE(user_id, user_email, user_username, user_ip))"
        if kind == "users"
        else "COUNT(*)"
    )
    return connection.execute(
        f"SELECT {what} FROM events WHERE project_id = ? AND fingerprint = ? "
        "AND received_at BETWEEN ? AND ?",
        (project_id, fingerprint_, start, end),
    ).fetchone()[0]


def _record_firing(
    connection: sqlite3.Connection,
    *,
    kind: str,
    rule_name: str,
    project: Project,
    status: str,
    now: float,
    item_cursor: int,
    reasons: tuple[str, ...],
    context: dict,
    actions: tuple[Clause, ...],
    value: float | None = None,
    issue_id: int | None = None,
    item_id: int | None = None,
    event_id: str | None = None,
) -> None:
    pending = sum(1 for a in actions if a.kind in DELIVERED_KINDS or a.data.get("url"))
    connection.execute(
        """INSERT INTO alert_firings (fired_at, project_id, rule_kind, rule_name, status,
        issue_id, item_id, event_id, item_cursor, value, reasons, context, actions,
        pending_deliveries) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            now,
            project.id,
            kind,
            rule_name,
            status,
            issue_id,
            item_id,
            event_id,
            item_cursor,
            value,
            orjson.dumps(list(reasons)).decode(),
            orjson.dumps(context).decode(),
            orjson.dumps([{"kind": a.kind, **a.to_json()} for a in actions]).decode(),
            pending,
        ),
    )
