"""Issue alert rules evaluated against one event, the way Sentry's rule processor does (spec §4).

Order: the rule's environment, then its cool-down (``frequency`` minutes per issue), then its
filters (combined by ``filter_match``), then its conditions (combined by ``action_match``). No
filters passes; no conditions fires on every event that got that far. String matching lower-cases
both sides; the negative matches (``ne``, ``nc``, ``nsw``, ``new``, ``nin``) hold when the
attribute is absent. Event frequency is "more than ``value`` events of this issue in the last
``interval``"; the percent form compares with the same-length window ``comparisonInterval`` ago
and, as current Sentry does, treats an empty earlier window as ``current * 100`` percent.

Everything here is pure: counts come from the caller through ``Counter``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..protocol.payload import event_exceptions, formatted_message
from ..rules.config import EVENT_CLAUSES, INTERVALS, LEVELS, Clause, IssueAlertRule, level_number
from .grouping import culprit, issue_title

# Counter(kind, start, end) -> how many events ("events") or distinct users ("users") of the
# issue arrived in [start, end].
Counter = Callable[[str, float, float], int]


@dataclass(frozen=True)
class EventFacts:
    """The event and what the server derived for it."""

    data: dict[str, Any]
    type: str  # event.type: error, default, csp, ...
    environment: str | None
    level: str | None


@dataclass(frozen=True)
class IssueFacts:
    id: int
    is_new: bool
    is_regression: bool


@dataclass(frozen=True)
class Evaluation:
    fired: bool
    reasons: tuple[str, ...]  # each step, readable: why it fired, or where it stopped


def evaluate_issue_rule(
    rule: IssueAlertRule,
    event: EventFacts,
    issue: IssueFacts,
    *,
    now: float,
    last_fired: float | None,
    count: Counter,
) -> Evaluation:
    """Whether ``rule`` fires for ``event`` of ``issue``, and why (or why not)."""
    reasons: list[str] = []
    if rule.environment is not None:
        if event.environment != rule.environment:
            return Evaluation(
                False,
                (f"environment is {event.environment!r}, the rule's is {rule.environment!r}",),
            )
        reasons.append(f"environment is {rule.environment!r}")
    if last_fired is not None and now - last_fired < rule.frequency * 60:
        return Evaluation(
            False,
            (f"fired for this issue {now - last_fired:.0f}s ago (frequency {rule.frequency} min)",),
        )
    steps: tuple[tuple[str, tuple[Clause, ...], str, Callable], ...] = (
        ("filters", rule.filters, rule.filter_match, lambda c: filter_passes(c, event)),
        (
            "conditions",
            rule.conditions,
            rule.action_match,
            lambda c: condition_passes(c, event, issue, now, count),
        ),
    )
    for label, clauses, match, check in steps:
        results = [(clause, *check(clause)) for clause in clauses]
        for clause, passed, detail in results:
            reasons.append(f"{describe(clause)}: {'yes' if passed else 'no'} ({detail})")
        if not combine(match, [passed for _, passed, _ in results]):
            reasons.append(f"{label} do not pass with match {match!r}")
            return Evaluation(False, tuple(reasons))
    if not rule.conditions:
        reasons.append("no conditions: fires on every event that passes the filters")
    return Evaluation(True, tuple(reasons))


def combine(match: str, results: list[bool]) -> bool:
    """``all`` / ``any`` / ``none`` over the results; an empty list passes."""
    if not results:
        return True
    if match == "all":
        return all(results)
    if match == "any":
        return any(results)
    return not any(results)


def condition_passes(
    clause: Clause, event: EventFacts, issue: IssueFacts, now: float, count: Counter
) -> tuple[bool, str]:
    if clause.kind in EVENT_CLAUSES:
        return filter_passes(clause, event)
    if clause.kind == "first_seen":
        return issue.is_new, "new issue" if issue.is_new else "issue seen before"
    if clause.kind == "regression":
        return issue.is_regression, "resolved issue came back" if issue.is_regression else (
            "issue was not resolved"
        )
    if clause.kind == "every_event":
        return True, "every event"
    kind = "users" if clause.kind == "event_unique_user_frequency" else "events"
    value = float(clause.data["value"])
    interval = INTERVALS[clause.data["interval"]]
    current = count(kind, now - interval, now)
    if clause.data.get("comparisonType", "count") == "count":
        return current > value, f"{current} {kind} in {clause.data['interval']}"
    shift = INTERVALS[clause.data.get("comparisonInterval", "5m")]
    previous = count(kind, now - shift - interval, now - shift)
    percent = (current - previous) / previous * 100 if previous else current * 100.0
    percent = max(0.0, percent)
    return percent > value, (
        f"{current} {kind} now vs {previous} {clause.data.get('comparisonInterval', '5m')} "
        f"earlier: +{percent:g}%"
    )


def filter_passes(clause: Clause, event: EventFacts) -> tuple[bool, str]:
    data = clause.data
    if clause.kind == "level":
        actual = LEVELS.get((event.level or "").lower())
        wanted = level_number(data["level"])
        if actual is None or wanted is None:
            return False, f"level {event.level!r}"
        passed = {
            "eq": actual == wanted,
            "gte": actual >= wanted,
            "lte": actual <= wanted,
        }[data["match"]]
        return passed, f"level {event.level!r}"
    if clause.kind == "tagged_event":
        key = str(data["key"]).lower()
        candidates = [value for tag, value in event_tags(event) if tag == key]
    else:
        candidates = list(attribute_values(str(data["attribute"]), event))
    passed = match_values(candidates, data["match"], data.get("value"))
    shown = ", ".join(repr(c) for c in candidates) if candidates else "absent"
    return passed, f"value {shown}"


def match_values(candidates: list[Any], match: str, value: Any) -> bool:
    """Sentry's ``match_values``: stringified, lower-cased, ``None`` candidates dropped."""
    present = [str(c).lower() for c in candidates if c is not None]
    if match == "is":
        return bool(present)
    if match == "ns":
        return not present
    wanted = "" if value is None else str(value).lower()
    if not wanted:
        return False
    tests: dict[str, Callable[[str], bool]] = {
        "eq": lambda c: c == wanted,
        "sw": lambda c: c.startswith(wanted),
        "ew": lambda c: c.endswith(wanted),
        "co": lambda c: wanted in c,
        "in": lambda c: c in {v.strip() for v in wanted.replace(" ", "").split(",")},
    }
    negated = {"ne": "eq", "nsw": "sw", "new": "ew", "nc": "co", "nin": "in"}
    if match in negated:
        return not any(tests[negated[match]](c) for c in present)
    return any(tests[match](c) for c in present)


def event_tags(event: EventFacts) -> Iterator[tuple[str, str | None]]:
    """Tags as Sentry stores them: the SDK's (``sentry:`` prefixes dropped) plus derived ones."""
    data = event.data
    tags = data.get("tags")
    pairs = tags.items() if isinstance(tags, dict) else tags if isinstance(tags, list) else []
    for pair in pairs:
        if isinstance(pair, list | tuple) and len(pair) == 2 and isinstance(pair[0], str):
            value = None if pair[1] is None else str(pair[1])
            yield pair[0].lower().removeprefix("sentry:"), value
    derived = {
        "level": event.level,
        "environment": event.environment,
        "release": data.get("release"),
        "dist": data.get("dist"),
        "transaction": data.get("transaction"),
        "logger": data.get("logger"),
        "server_name": data.get("server_name"),
    }
    for key, value in derived.items():
        if isinstance(value, str) and value:
            yield key, value


def attribute_values(attribute: str, event: EventFacts) -> Iterator[Any]:
    """The candidate values of an event attribute (spec §4.5); none when the path is missing."""
    data = event.data
    path = attribute.lower().split(".")
    head = path[0]
    exceptions = event_exceptions(data)
    if attribute == "message":
        message = formatted_message(data)
        yield message
        yield " ".join(filter(None, (message, issue_title(data), culprit(data))))
    elif attribute == "platform":
        yield data.get("platform")
    elif attribute == "environment":
        yield event.environment
    elif attribute == "type":
        yield event.type
    elif head == "exception" and len(path) == 2:
        yield from (exception.get(path[1]) for exception in exceptions)
    elif attribute in ("error.handled", "error.unhandled"):
        for exception in exceptions:
            handled = _dict(exception.get("mechanism")).get("handled")
            if isinstance(handled, bool):
                yield str(handled if path[1] == "handled" else not handled).lower()
    elif attribute == "error.main_thread":
        for thread in _values(data.get("threads")):
            if thread.get("current") and "main" in thread:
                yield str(bool(thread["main"])).lower()
    elif head == "user" and len(path) == 2:
        yield _dict(data.get("user")).get(path[1])
    elif attribute in ("http.url", "http.method"):
        yield _dict(data.get("request")).get(path[1])
    elif attribute == "http.status_code":
        yield _dict(_dict(data.get("contexts")).get("response")).get("status_code")
    elif attribute == "sdk.name":
        yield _dict(data.get("sdk")).get("name")
    elif head == "stacktrace" and len(path) == 2:
        yield from _frame_values(data, path[1])
    elif head == "extra":
        yield from _walk(data.get("extra"), path[1:])
    elif head in ("app", "os", "unreal", "ota_updates", "device") and len(path) == 2:
        context = _dict(_dict(data.get("contexts")).get(head))
        yield context.get("crash_type" if path[1] == "crash_type" else path[1])
    elif attribute == "symbolicated_in_app":
        frames = [f for f in _all_frames(data) if f.get("in_app")]
        if frames:
            yield str(all(f.get("symbolicated", True) for f in frames)).lower()


def describe(clause: Clause) -> str:
    data = clause.data
    if clause.kind == "event_attribute":
        return f"{data['attribute']} {data['match']} {data.get('value', '')!r}".rstrip()
    if clause.kind == "tagged_event":
        return f"tag {data['key']} {data['match']} {data.get('value', '')!r}".rstrip()
    if clause.kind == "level":
        return f"level {data['match']} {data['level']}"
    if clause.kind in ("event_frequency", "event_unique_user_frequency"):
        what = "users" if clause.kind == "event_unique_user_frequency" else "events"
        percent = "% more" if data.get("comparisonType") == "percent" else ""
        return f"more than {data['value']}{percent} {what} in {data['interval']}"
    return clause.kind.replace("_", " ")


def _frame_values(data: dict, key: str) -> Iterator[Any]:
    for frame in _all_frames(data):
        if key == "code":
            yield from frame.get("pre_context") or []
            yield frame.get("context_line")
            yield from frame.get("post_context") or []
        else:
            yield frame.get(key)


def _all_frames(data: dict) -> list[dict]:
    stacks = [_dict(data.get("stacktrace"))]
    if not stacks[0].get("frames"):
        stacks = [_dict(exception.get("stacktrace")) for exception in event_exceptions(data)]
    return [f for stack in stacks for f in stack.get("frames") or [] if isinstance(f, dict)]


def _walk(value: Any, path: list[str]) -> Iterator[Any]:
    for key in path:
        if not isinstance(value, dict):
            return
        value = value.get(key)
    if isinstance(value, list):
        yield from value
    elif value is not None:
        yield value


def _values(container: Any) -> list[dict]:
    values = container.get("values") if isinstance(container, dict) else container
    return [v for v in values or [] if isinstance(v, dict)]


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}
