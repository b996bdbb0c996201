"""Issue alert and metric alert evaluation (spec §4, §5), and the config that declares them."""

from __future__ import annotations

import re

import pytest

from sentry_stub.config import ConfigError, parse_config
from sentry_stub.processing.alerts import (
    EventFacts,
    IssueFacts,
    attribute_values,
    evaluate_issue_rule,
    match_values,
)
from sentry_stub.rules.config import RulesConfigError, parse_rules
from sentry_stub.rules.metric_alerts import IncidentState, transition, window_query

NOW = 1_000_000.0
NEW = IssueFacts(1, is_new=True, is_regression=False)
SEEN = IssueFacts(1, is_new=False, is_regression=False)
REGRESSED = IssueFacts(1, is_new=False, is_regression=True)


def rule(**entry):
    return parse_rules({"alerts": [{"name": "r", **entry}]}).alerts[0]


def metric_rule(**entry):
    defaults = {
        "name": "m",
        "aggregate": "p95(transaction.duration)",
        "triggers": [{"label": "critical", "alert_threshold": 2000}],
    }
    return parse_rules({"metric_alerts": [{**defaults, **entry}]}).metric_alerts[0]


def facts(data: dict, type_: str = "error", environment: str | None = "production") -> EventFacts:
    return EventFacts(data, type_, environment, data.get("level", "error"))


def never_counted(kind: str, start: float, end: float) -> int:
    raise AssertionError("no frequency condition should be counted")


def fires(rule_, event: EventFacts, issue=SEEN, *, last_fired=None, count=never_counted) -> bool:
    result = evaluate_issue_rule(rule_, event, issue, now=NOW, last_fired=last_fired, count=count)
    return result.fired


ERROR = {
    "exception": {"values": [{"type": "ConnectionError", "value": "connection failed to db"}]},
    "tags": {"http.status_code": "500"},
}


def test_no_conditions_fires_on_every_event_that_passes_the_filters() -> None:
    critical = rule(
        environment="production",
        filters=[
            {"id": "event_attribute", "attribute": "type", "match": "eq", "value": "error"},
            {"id": "tagged_event", "key": "http.status_code", "match": "eq", "value": "500"},
        ],
    )
    assert fires(critical, facts(ERROR))
    assert not fires(critical, facts(ERROR, environment="staging"))
    assert not fires(critical, facts({**ERROR, "tags": {"http.status_code": "502"}}))
    assert not fires(critical, facts({"message": "x", "tags": ERROR["tags"]}, type_="default"))


def test_filter_match_applies_to_all_filters() -> None:
    messages = [
        {"id": "event_attribute", "attribute": "message", "match": "co", "value": v}
        for v in ("connection failed", "timeout")
    ]
    anyone = rule(filter_match="any", filters=messages)
    assert fires(anyone, facts({"message": "read TIMEOUT"}, type_="default"))
    assert not fires(rule(filter_match="all", filters=messages), facts({"message": "timeout"}))
    assert fires(rule(filter_match="none", filters=messages), facts({"message": "other"}))


def test_attribute_conditions_combine_with_action_match_next_to_filters() -> None:
    database = rule(
        filters=[{"id": "event_attribute", "attribute": "type", "match": "eq", "value": "error"}],
        action_match="any",
        conditions=[
            {"id": "event_attribute", "attribute": "message", "match": "co", "value": v}
            for v in ("connection failed", "timeout")
        ],
    )
    assert fires(database, facts(ERROR))  # the exception text is part of the search message
    assert not fires(database, facts({"message": "timeout"}, type_="default"))
    assert not fires(database, facts({"exception": {"values": [{"type": "KeyError"}]}}))


def test_first_seen_and_regression_conditions() -> None:
    first_seen = rule(conditions=[{"id": "first_seen"}])
    assert fires(first_seen, facts(ERROR), NEW)
    assert not fires(first_seen, facts(ERROR), SEEN)
    regression = rule(
        conditions=[{"id": "sentry.rules.conditions.regression_event.RegressionEventCondition"}]
    )
    assert fires(regression, facts(ERROR), REGRESSED)
    assert not fires(regression, facts(ERROR), NEW)


def test_frequency_is_a_cool_down_per_issue() -> None:
    every = rule(frequency=5)
    assert not fires(every, facts(ERROR), last_fired=NOW - 299)
    assert fires(every, facts(ERROR), last_fired=NOW - 300)


def test_event_frequency_is_strictly_greater_within_the_interval() -> None:
    calls = []

    def count(kind: str, start: float, end: float) -> int:
        calls.append((kind, start, end))
        return 10

    more_than_ten = rule(conditions=[{"id": "event_frequency", "value": 10, "interval": "1h"}])
    assert not fires(more_than_ten, facts(ERROR), count=count)
    assert calls == [("events", NOW - 3600, NOW)]
    more_than_nine = rule(
        conditions=[{"id": "event_unique_user_frequency", "value": 9, "interval": "5m"}]
    )
    assert fires(more_than_nine, facts(ERROR), count=count)
    assert calls[-1] == ("users", NOW - 300, NOW)


def test_percent_change_treats_an_empty_earlier_window_as_current_times_100() -> None:
    windows = {NOW - 60: 3, NOW - 300 - 60: 0}

    def count(kind: str, start: float, end: float) -> int:
        return windows[start]

    percent = {"id": "event_frequency", "value": 250, "interval": "1m", "comparisonType": "percent"}
    assert fires(rule(conditions=[percent]), facts(ERROR), count=count)  # 3 * 100 = 300% > 250
    windows[NOW - 300 - 60] = 2  # (3 - 2) / 2 = 50%
    assert not fires(rule(conditions=[percent]), facts(ERROR), count=count)


def test_level_filter_compares_sentry_level_numbers() -> None:
    at_least_error = rule(filters=[{"id": "level", "level": "40", "match": "gte"}])
    assert fires(at_least_error, facts({"level": "fatal"}))
    assert not fires(at_least_error, facts({"level": "warning"}))
    assert fires(
        rule(filters=[{"id": "level", "level": "info", "match": "eq"}]), facts({"level": "info"})
    )


@pytest.mark.parametrize(
    ("candidates", "match", "value", "expected"),
    [
        (["Production"], "eq", "production", True),  # both sides lower-cased
        ([], "ne", "x", True),  # negative matches hold when the attribute is absent
        ([], "nc", "x", True),
        (["abc"], "nc", "B", False),
        (["abc"], "sw", "ab", True),
        (["abc"], "ew", "bc", True),
        (["b"], "in", "a, b", True),
        (["c"], "nin", "a,b", True),
        ([None], "is", None, False),
        ([], "ns", None, True),
        (["x"], "eq", "", False),  # an empty value never matches
    ],
)
def test_match_values(candidates: list, match: str, value, expected: bool) -> None:
    assert match_values(candidates, match, value) is expected


def test_attribute_values_read_what_sentry_reads() -> None:
    event = facts(
        {
            "exception": {"values": [{"type": "A", "mechanism": {"handled": False}}]},
            "contexts": {"response": {"status_code": 500}},
            "request": {"url": "http://x/api", "method": "POST"},
            "user": {"email": "a@b.c"},
            "extra": {"job": {"id": [1, 2]}},
        }
    )
    assert list(attribute_values("http.status_code", event)) == [500]
    assert list(attribute_values("error.unhandled", event)) == ["true"]
    assert list(attribute_values("exception.type", event)) == ["A"]
    assert list(attribute_values("http.method", event)) == ["POST"]
    assert list(attribute_values("user.email", event)) == ["a@b.c"]
    assert list(attribute_values("extra.job.id", event)) == [1, 2]
    assert list(attribute_values("sdk.name", event)) == [None]


def test_metric_alert_opens_once_and_resolves() -> None:
    slow = metric_rule(resolve_threshold=1500)
    state, change = transition(slow, 2500.0, IncidentState())
    assert change is not None and change.status == "critical"
    assert "p95(transaction.duration) = 2500 over the last 60 min > 2000" in change.reason
    state, change = transition(slow, 3000.0, state)
    assert change is None and state.status == "critical"  # still open: no new notification
    state, change = transition(slow, 1800.0, state)
    assert change is None  # below the threshold but not below the resolve threshold
    state, change = transition(slow, 1400.0, state)
    assert change is not None and change.status == "resolved"


def test_metric_alert_threshold_period_warning_and_no_data() -> None:
    rule_ = metric_rule(
        threshold_period=2,
        triggers=[
            {"label": "critical", "alert_threshold": 5000},
            {"label": "warning", "alert_threshold": 2000},
        ],
    )
    state, change = transition(rule_, 6000.0, IncidentState())
    assert change is None  # one breach of two needed
    state, change = transition(rule_, None, state)
    assert change is None and state.breaches == {"critical": 1, "warning": 1}
    state, change = transition(rule_, 6000.0, state)
    assert change is not None and change.status == "critical"
    state, change = transition(rule_, 3000.0, state)
    assert change is not None and change.status == "warning"  # de-escalates, as Sentry does
    state, change = transition(rule_, 100.0, state)
    assert change is not None and change.status == "resolved"
    below = metric_rule(threshold_type="below")
    assert transition(below, 10.0, IncidentState())[1] is not None
    assert transition(below, 2000.0, IncidentState())[1] is None


def test_metric_query_is_limited_to_the_dataset() -> None:
    assert window_query(metric_rule(dataset="transactions", query="transaction:/api/*")) == (
        "event.type:[transaction] (transaction:/api/*)"
    )
    assert window_query(metric_rule()) == "event.type:[error,default]"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"alerts": [{"name": "r", "actionMatch": "any"}]},
            "unknown config key alerts[0].'actionMatch'",
        ),
        (
            {"alerts": [{"name": "r", "filters": [{"id": "nope"}]}]},
            "alerts[0].filters[0].id 'nope' is not supported",
        ),
        (
            {
                "alerts": [
                    {
                        "name": "r",
                        "filters": [
                            {"id": "tagged_event", "key": "a", "match": "xx", "value": "b"}
                        ],
                    }
                ]
            },
            "alerts[0].filters[0].match must be one of",
        ),
        (
            {
                "alerts": [
                    {
                        "name": "r",
                        "filters": [
                            {
                                "id": "event_attribute",
                                "attribute": "colour",
                                "match": "eq",
                                "value": "b",
                            }
                        ],
                    }
                ]
            },
            "attribute 'colour' is not one of Sentry's event attributes",
        ),
        (
            {
                "alerts": [
                    {
                        "name": "r",
                        "conditions": [{"id": "event_frequency", "value": 1, "interval": "2h"}],
                    }
                ]
            },
            "conditions[0].interval must be one of 1m, 5m",
        ),
        (
            {"alerts": [{"name": "r", "actions": [{"id": "webhook", "url": "https://x"}]}]},
            "actions[0].url must be an http:// URL",
        ),
        (
            {"metric_alerts": [{"name": "m", "aggregate": "p95(", "triggers": []}]},
            "metric_alerts[0].aggregate 'p95('",
        ),
        (
            {
                "metric_alerts": [
                    {
                        "name": "m",
                        "aggregate": "count()",
                        "triggers": [{"label": "warning", "alert_threshold": 1}],
                    }
                ]
            },
            "must hold one 'critical' trigger",
        ),
        (
            {
                "metric_alerts": [
                    {
                        "name": "m",
                        "aggregate": "count()",
                        "time_window": 0,
                        "triggers": [{"label": "critical", "alert_threshold": 1}],
                    }
                ]
            },
            "metric_alerts[0].time_window must be an integer between 1 and 1440",
        ),
    ],
)
def test_config_errors_name_the_key(entry: dict, message: str) -> None:
    with pytest.raises(RulesConfigError, match=re.escape(message)):
        parse_rules(entry)


def test_rules_are_attached_to_the_projects_they_name() -> None:
    settings = parse_config(
        {
            "projects": [
                {"slug": "api", "id": 1, "keys": ["1" * 32]},
                {"slug": "web", "id": 2, "keys": ["2" * 32]},
            ],
            "alerts": [{"name": "api only", "projects": ["api"]}, {"name": "everywhere"}],
        }
    )
    api, web = settings.projects
    assert [r.name for r in api.rules.alerts] == ["api only", "everywhere"]
    assert [r.name for r in web.rules.alerts] == ["everywhere"]
    assert [r.name for r in settings.rules.for_project("new").alerts] == ["everywhere"]
    with pytest.raises(ConfigError, match="alerts 'x': project 'nope' is not in"):
        parse_config(
            {
                "projects": [{"slug": "api", "id": 1, "keys": ["1" * 32]}],
                "alerts": [{"name": "x", "projects": ["nope"]}],
            }
        )


def test_a_webhook_url_without_a_host_fails_without_sending() -> None:
    """``http://`` passes the config's check; without this it was posted to the local host."""
    from sentry_stub.rules.actions import post_json

    result = post_json("http:///hook", {"a": 1}, {})
    assert result["status"] == "failed"
    assert result["attempts"] == 0
    assert result["error"] == "no host in the URL 'http:///hook'"
