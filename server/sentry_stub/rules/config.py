"""The rules sections of the TOML config: issue alerts, metric alerts and ownership.

An issue alert is Sentry's rule data (spec §4.1) written as TOML; a metric alert is Sentry's
``AlertRule`` (spec §5) with its field names; ownership is a rules text per project (spec §6)::

    [[alerts]]
    name = "Critical Backend Errors"
    projects = ["agentsflowai-backend"]          # optional; default: every project
    environment = "production"                   # optional
    action_match = "all"                         # how conditions combine: all | any | none
    filter_match = "all"                         # how filters combine
    frequency = 30                               # minutes between firings per issue
    conditions = []                              # none: fire on every event that passes
    filters = [{ id = "tagged_event", key = "http.status_code", match = "eq", value = "500" }]
    actions = [{ id = "slack", channel = "#backend-alerts" }]

    [[metric_alerts]]
    name = "Slow API Responses"
    dataset = "transactions"
    aggregate = "p95(transaction.duration)"
    query = "transaction:/api/*"
    time_window = 10
    triggers = [{ label = "critical", alert_threshold = 2000, actions = [{ id = "email" }] }]

    [ownership.agentsflowai-backend]
    rules = "path:**/backend/** #backend-team"
    fallthrough = true

A condition, filter or action ``id`` is Sentry's class path or its short name (``first_seen``,
``event_frequency``, ``tagged_event``, ``slack``, ``webhook``, ...). Unknown keys are errors
that name the key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, overload

from ..query.aggregates import resolve_aggregate
from ..query.errors import InvalidQueryError
from ..query.fields import EVENTS
from ..query.grammar import parse_query
from ..settings.validation import ConfigError, boolean, check_keys, table
from ..settings.values import Ownership, ProjectRules
from .ownership import OwnershipSyntaxError, parse_ownership


class RulesConfigError(ConfigError):
    """A rules section that cannot be used; the message names the key."""


_CONDITIONS = "sentry.rules.conditions."
_FILTERS = "sentry.rules.filters."
_FREQUENCY_KEYS = (
    ("value", "interval", "comparisonType", "comparisonInterval"),
    ("value", "interval"),
)
# The clauses that test the event itself: (data keys taken, keys required). Sentry has each as
# a filter and, in its older form, as a condition.
_EVENT_CLAUSE_KEYS = {
    "event_attribute": (("attribute", "match", "value"), ("attribute", "match")),
    "tagged_event": (("key", "match", "value"), ("key", "match")),
    "level": (("level", "match"), ("level", "match")),
}
# short name -> (Sentry's id, the data keys it takes, the keys it requires)
CONDITIONS = {
    "first_seen": (f"{_CONDITIONS}first_seen_event.FirstSeenEventCondition", (), ()),
    "regression": (f"{_CONDITIONS}regression_event.RegressionEventCondition", (), ()),
    "every_event": (f"{_CONDITIONS}every_event.EveryEventCondition", (), ()),
    "event_frequency": (
        f"{_CONDITIONS}event_frequency.EventFrequencyCondition",
        *_FREQUENCY_KEYS,
    ),
    "event_unique_user_frequency": (
        f"{_CONDITIONS}event_frequency.EventUniqueUserFrequencyCondition",
        *_FREQUENCY_KEYS,
    ),
    # Sentry's older attribute *conditions*: they test the event like the filters of the same
    # name but combine with the other conditions (``action_match``), so "A or B" can sit next
    # to filters that must all hold.
    "event_attribute": (
        f"{_CONDITIONS}event_attribute.EventAttributeCondition",
        *_EVENT_CLAUSE_KEYS["event_attribute"],
    ),
    "tagged_event": (
        f"{_CONDITIONS}tagged_event.TaggedEventCondition",
        *_EVENT_CLAUSE_KEYS["tagged_event"],
    ),
    "level": (f"{_CONDITIONS}level_event.LevelCondition", *_EVENT_CLAUSE_KEYS["level"]),
}
FILTERS = {
    "event_attribute": (
        f"{_FILTERS}event_attribute.EventAttributeFilter",
        *_EVENT_CLAUSE_KEYS["event_attribute"],
    ),
    "tagged_event": (
        f"{_FILTERS}tagged_event.TaggedEventFilter",
        *_EVENT_CLAUSE_KEYS["tagged_event"],
    ),
    "level": (f"{_FILTERS}level.LevelFilter", *_EVENT_CLAUSE_KEYS["level"]),
}
EVENT_CLAUSES = frozenset(FILTERS)  # the kinds that test the event itself
ACTIONS = {
    "email": (
        "sentry.mail.actions.NotifyEmailAction",
        ("targetType", "targetIdentifier", "fallthroughType", "url"),
        (),
    ),
    "slack": (
        "sentry.integrations.slack.notify_action.SlackNotifyServiceAction",
        ("workspace", "channel", "channel_id", "tags", "notes", "url"),
        ("channel",),
    ),
    "pagerduty": (
        "sentry.integrations.pagerduty.notify_action.PagerDutyNotifyServiceAction",
        ("account", "service", "severity", "url"),
        (),
    ),
    "webhook": (
        "sentry.rules.actions.notify_event_service.NotifyEventServiceAction",
        ("service", "url"),
        ("url",),
    ),
    "sentry_app": (
        "sentry.rules.actions.sentry_apps.notify_event.SentryAppNotifyEventAction",
        ("sentryAppInstallationUuid", "settings", "secret", "url"),
        ("url",),
    ),
}
# EventAttributeFilter's attributes (Sentry's ATTR_CHOICES); ``extra.<path>`` is accepted too.
ATTRIBUTES = (
    "message",
    "platform",
    "environment",
    "type",
    "error.handled",
    "error.unhandled",
    "error.main_thread",
    "exception.type",
    "exception.value",
    "user.id",
    "user.email",
    "user.username",
    "user.ip_address",
    "http.method",
    "http.url",
    "http.status_code",
    "sdk.name",
    "stacktrace.code",
    "stacktrace.module",
    "stacktrace.filename",
    "stacktrace.abs_path",
    "stacktrace.package",
    "unreal.crash_type",
    "app.in_foreground",
    "os.distribution_name",
    "os.distribution_version",
    "symbolicated_in_app",
    "ota_updates.channel",
    "ota_updates.runtime_version",
    "ota_updates.update_id",
    "device.screen_density",
    "device.screen_dpi",
    "device.screen_height_pixels",
    "device.screen_width_pixels",
)
MATCHES = ("eq", "ne", "sw", "nsw", "ew", "new", "co", "nc", "is", "ns", "in", "nin")
LEVEL_MATCHES = ("eq", "gte", "lte")
LEVELS = {"sample": 0, "debug": 10, "info": 20, "warning": 30, "error": 40, "fatal": 50}
INTERVALS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400, "1w": 604800}
INTERVALS["30d"] = 30 * 86400
RULE_MATCHES = ("all", "any", "none")
DATASETS = {"events": ("error", "default"), "transactions": ("transaction",)}
THRESHOLD_TYPES = {"above": 0, "below": 1}
TRIGGER_LABELS = ("critical", "warning")


@dataclass(frozen=True)
class Clause:
    """A condition, filter or action: its short kind, Sentry's id, and its data."""

    kind: str
    id: str
    data: dict[str, Any] = field(hash=False, compare=False)

    def to_json(self) -> dict:
        return {"id": self.id, **self.data}


@dataclass(frozen=True)
class IssueAlertRule:
    name: str
    projects: tuple[str, ...] = ()
    environment: str | None = None
    action_match: str = "all"
    filter_match: str = "all"
    frequency: int = 30  # minutes
    conditions: tuple[Clause, ...] = ()
    filters: tuple[Clause, ...] = ()
    actions: tuple[Clause, ...] = ()


@dataclass(frozen=True)
class Trigger:
    label: str  # critical or warning
    alert_threshold: float
    actions: tuple[Clause, ...] = ()


@dataclass(frozen=True)
class MetricAlertRule:
    name: str
    aggregate: str
    triggers: tuple[Trigger, ...]
    projects: tuple[str, ...] = ()
    dataset: str = "events"
    query: str = ""
    environment: str | None = None
    time_window: int = 60  # minutes
    threshold_type: str = "above"
    resolve_threshold: float | None = None
    threshold_period: int = 1

    @property
    def event_types(self) -> tuple[str, ...]:
        return DATASETS[self.dataset]


@dataclass(frozen=True)
class RulesConfig:
    """Every rule of the config file; ``for_project`` picks those of one project."""

    alerts: tuple[IssueAlertRule, ...] = ()
    metric_alerts: tuple[MetricAlertRule, ...] = ()
    ownership: tuple[tuple[str, Ownership], ...] = ()

    @property
    def any_alerts(self) -> bool:
        return bool(self.alerts or self.metric_alerts)

    def for_project(self, slug: str) -> ProjectRules:
        return ProjectRules(
            alerts=tuple(r for r in self.alerts if not r.projects or slug in r.projects),
            metric_alerts=tuple(
                r for r in self.metric_alerts if not r.projects or slug in r.projects
            ),
            ownership=dict(self.ownership).get(slug, Ownership()),
        )

    def check_projects(self, slugs: Iterable[str]) -> None:
        """In strict mode every project a rule names must be configured."""
        known = set(slugs)
        named = [
            (f"alerts {r.name!r}", p) for r in self.alerts for p in r.projects if p not in known
        ]
        named += [
            (f"metric_alerts {r.name!r}", p)
            for r in self.metric_alerts
            for p in r.projects
            if p not in known
        ]
        named += [("ownership", slug) for slug, _ in self.ownership if slug not in known]
        if named:
            where, slug = named[0]
            raise RulesConfigError(where, f"{where}: project {slug!r} is not in [[projects]]")


RULES_KEYS = ("alerts", "metric_alerts", "ownership")


def parse_rules(data: dict[str, Any]) -> RulesConfig:
    """The rules sections of a parsed TOML document (other top-level keys are not looked at)."""
    alerts = tuple(
        _issue_rule(entry, f"alerts[{index}].")
        for index, entry in enumerate(_list(data.get("alerts", []), "alerts"))
    )
    metric_alerts = tuple(
        _metric_rule(entry, f"metric_alerts[{index}].")
        for index, entry in enumerate(_list(data.get("metric_alerts", []), "metric_alerts"))
    )
    ownership = _table(data.get("ownership", {}), "ownership.")
    return RulesConfig(
        alerts=alerts,
        metric_alerts=metric_alerts,
        ownership=tuple(
            (slug, _ownership(entry, f"ownership.{slug}.")) for slug, entry in ownership.items()
        ),
    )


def _issue_rule(entry: Any, where: str) -> IssueAlertRule:
    entry = _table(entry, where)
    _check_keys(
        entry,
        (
            "name",
            "projects",
            "environment",
            "action_match",
            "filter_match",
            "frequency",
            "conditions",
            "filters",
            "actions",
        ),
        where,
    )
    return IssueAlertRule(
        name=_string(entry, "name", where, required=True),
        projects=_slugs(entry, where),
        environment=_string(entry, "environment", where),
        action_match=_choice(entry, "action_match", RULE_MATCHES, "all", where),
        filter_match=_choice(entry, "filter_match", RULE_MATCHES, "all", where),
        frequency=_integer(entry, "frequency", 30, where, minimum=0),
        conditions=_clauses(entry, "conditions", CONDITIONS, where),
        filters=_clauses(entry, "filters", FILTERS, where),
        actions=_clauses(entry, "actions", ACTIONS, where),
    )


def _metric_rule(entry: Any, where: str) -> MetricAlertRule:
    entry = _table(entry, where)
    _check_keys(
        entry,
        (
            "name",
            "projects",
            "dataset",
            "aggregate",
            "query",
            "environment",
            "time_window",
            "threshold_type",
            "resolve_threshold",
            "threshold_period",
            "triggers",
        ),
        where,
    )
    aggregate = _string(entry, "aggregate", where, required=True)
    try:
        resolve_aggregate(aggregate, EVENTS)
    except InvalidQueryError as error:
        raise RulesConfigError(
            f"{where}aggregate", f"{where}aggregate {aggregate!r}: {error}"
        ) from None
    query = _string(entry, "query", where) or ""
    try:
        parse_query(query)
    except InvalidQueryError as error:
        raise RulesConfigError(f"{where}query", f"{where}query {query!r}: {error}") from None
    triggers = tuple(
        _trigger(trigger, f"{where}triggers[{index}].")
        for index, trigger in enumerate(_list(entry.get("triggers"), f"{where}triggers"))
    )
    labels = [trigger.label for trigger in triggers]
    if "critical" not in labels or len(set(labels)) != len(labels):
        raise RulesConfigError(
            f"{where}triggers",
            f"{where}triggers must hold one 'critical' trigger and at most one 'warning' trigger",
        )
    return MetricAlertRule(
        name=_string(entry, "name", where, required=True),
        aggregate=aggregate,
        triggers=triggers,
        projects=_slugs(entry, where),
        dataset=_choice(entry, "dataset", tuple(DATASETS), "events", where),
        query=query,
        environment=_string(entry, "environment", where),
        time_window=_integer(entry, "time_window", 60, where, minimum=1, maximum=1440),
        threshold_type=_choice(entry, "threshold_type", tuple(THRESHOLD_TYPES), "above", where),
        resolve_threshold=_number(entry, "resolve_threshold", where),
        threshold_period=_integer(entry, "threshold_period", 1, where, minimum=1, maximum=20),
    )


def _trigger(entry: Any, where: str) -> Trigger:
    entry = _table(entry, where)
    _check_keys(entry, ("label", "alert_threshold", "actions"), where)
    threshold = _number(entry, "alert_threshold", where)
    if threshold is None:
        raise RulesConfigError(f"{where}alert_threshold", f"{where}alert_threshold is required")
    return Trigger(
        label=_choice(entry, "label", TRIGGER_LABELS, None, where),
        alert_threshold=threshold,
        actions=_clauses(entry, "actions", ACTIONS, where),
    )


def _ownership(entry: Any, where: str) -> Ownership:
    entry = _table(entry, where)
    _check_keys(entry, ("rules", "fallthrough", "auto_assignment"), where)
    text = _string(entry, "rules", where) or ""
    try:
        rules = parse_ownership(text)
    except OwnershipSyntaxError as error:
        raise RulesConfigError(f"{where}rules", f"{where}rules: {error}") from None
    return Ownership(
        rules=rules,
        text=text,
        fallthrough=_boolean(entry, "fallthrough", True, where),
        auto_assignment=_boolean(entry, "auto_assignment", True, where),
    )


def _clauses(entry: dict, key: str, catalogue: dict, where: str) -> tuple[Clause, ...]:
    by_id = {sentry_id: short for short, (sentry_id, _, _) in catalogue.items()}
    clauses = []
    for index, item in enumerate(_list(entry.get(key, []), f"{where}{key}")):
        here = f"{where}{key}[{index}]."
        item = _table(item, here)
        given = item.get("id")
        kind = None
        if isinstance(given, str):
            kind = given if given in catalogue else by_id.get(given)
        if kind is None:
            names = ", ".join(catalogue)
            raise RulesConfigError(
                f"{here}id",
                f"{here}id {given!r} is not supported; expected one of {names} "
                "(or Sentry's class path for one of them)",
            )
        sentry_id, allowed, required = catalogue[kind]
        data = {k: v for k, v in item.items() if k != "id"}
        _check_keys(data, allowed, here)
        for name in required:
            if name not in data:
                raise RulesConfigError(f"{here}{name}", f"{here}{name} is required for {kind}")
        _check_clause(kind, data, here)
        clauses.append(Clause(kind, sentry_id, data))
    return tuple(clauses)


def _check_clause(kind: str, data: dict, where: str) -> None:
    """Values Sentry's forms would refuse, refused here with the key's name."""
    if kind in ("event_attribute", "tagged_event") and data["match"] not in MATCHES:
        raise RulesConfigError(f"{where}match", f"{where}match must be one of {', '.join(MATCHES)}")
    if kind == "event_attribute":
        attribute = str(data["attribute"]).lower()
        if attribute not in ATTRIBUTES and not attribute.startswith("extra."):
            raise RulesConfigError(
                f"{where}attribute",
                f"{where}attribute {data['attribute']!r} is not one of Sentry's event attributes: "
                f"{', '.join(ATTRIBUTES)}, extra.<path>",
            )
    needs_value = kind in ("event_attribute", "tagged_event") and data["match"] not in ("is", "ns")
    if needs_value and not isinstance(data.get("value"), str | int | float):
        raise RulesConfigError(
            f"{where}value", f"{where}value is required for match {data['match']!r}"
        )
    if kind == "level":
        if data["match"] not in LEVEL_MATCHES:
            raise RulesConfigError(
                f"{where}match", f"{where}match must be one of {', '.join(LEVEL_MATCHES)}"
            )
        if level_number(data["level"]) is None:
            raise RulesConfigError(
                f"{where}level",
                f"{where}level {data['level']!r} must be a level name or number "
                f"({', '.join(f'{k}={v}' for k, v in LEVELS.items())})",
            )
    if kind in ("event_frequency", "event_unique_user_frequency"):
        if data["interval"] not in INTERVALS:
            raise RulesConfigError(
                f"{where}interval", f"{where}interval must be one of {', '.join(INTERVALS)}"
            )
        if not isinstance(data["value"], int | float) or isinstance(data["value"], bool):
            raise RulesConfigError(f"{where}value", f"{where}value must be a number")
        if data.get("comparisonType", "count") not in ("count", "percent"):
            raise RulesConfigError(
                f"{where}comparisonType", f"{where}comparisonType must be 'count' or 'percent'"
            )
        if data.get("comparisonInterval", "5m") not in INTERVALS:
            raise RulesConfigError(
                f"{where}comparisonInterval",
                f"{where}comparisonInterval must be one of {', '.join(INTERVALS)}",
            )
    url = data.get("url")
    if url is not None and (not isinstance(url, str) or not url.startswith("http://")):
        raise RulesConfigError(f"{where}url", f"{where}url must be an http:// URL, got {url!r}")


def level_number(level: Any) -> int | None:
    """A level filter's value: a name (``error``) or Sentry's number (``40``, ``"40"``)."""
    if isinstance(level, str) and level.lower() in LEVELS:
        return LEVELS[level.lower()]
    try:
        number = int(level)
    except (TypeError, ValueError):
        return None
    return number if number in LEVELS.values() else None


def _check_keys(data: dict, allowed: Iterable[str], where: str) -> None:
    check_keys(data, allowed, where, error=RulesConfigError)


def _table(value: Any, where: str) -> dict:
    return table(value, where, error=RulesConfigError)


def _list(value: Any, where: str) -> list:
    if not isinstance(value, list):
        raise RulesConfigError(where, f"{where} must be a list")
    return value


@overload
def _string(entry: dict, key: str, where: str, *, required: Literal[True]) -> str: ...
@overload
def _string(entry: dict, key: str, where: str, *, required: bool = False) -> str | None: ...
def _string(entry: dict, key: str, where: str, *, required: bool = False) -> str | None:
    value = entry.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise RulesConfigError(f"{where}{key}", f"{where}{key} must be a non-empty string")
    return value


def _slugs(entry: dict, where: str) -> tuple[str, ...]:
    value = entry.get("projects", [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RulesConfigError(
            f"{where}projects", f"{where}projects must be a list of project slugs"
        )
    return tuple(value)


def _choice(
    entry: dict, key: str, choices: tuple[str, ...], default: str | None, where: str
) -> str:
    value = entry.get(key, default)
    if value not in choices:
        raise RulesConfigError(
            f"{where}{key}", f"{where}{key} must be one of {', '.join(choices)}, got {value!r}"
        )
    return value


def _integer(
    entry: dict, key: str, default: int, where: str, *, minimum: int, maximum: int | None = None
) -> int:
    value = entry.get(key, default)
    too_big = maximum is not None and isinstance(value, int) and value > maximum
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum or too_big:
        limit = f"between {minimum} and {maximum}" if maximum else f"at least {minimum}"
        raise RulesConfigError(
            f"{where}{key}", f"{where}{key} must be an integer {limit}, got {value!r}"
        )
    return value


def _number(entry: dict, key: str, where: str) -> float | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise RulesConfigError(f"{where}{key}", f"{where}{key} must be a number, got {value!r}")
    return float(value)


def _boolean(entry: dict, key: str, default: bool, where: str) -> bool:
    return boolean(entry.get(key, default), f"{where}{key}", error=RulesConfigError)
