"""Fault rules: rate limits and failures on demand, so tests can watch an SDK cope with them.

A rule says what goes wrong (``kind``), for which requests (``project``, ``categories``) and for
how long (``count``, ``duration``):

- ``rate_limit``: the matching items are not stored and the answer carries
  ``X-Sentry-Rate-Limits`` exactly as Relay writes it (``retry_after``, ``scope``, optional
  ``reason_code``). When nothing of the envelope was accepted the answer is ``429`` with
  ``Retry-After``; when something was, it is the usual success plus the header (the safe reading
  of spec §13). An item counts as *accepted* when it survives and has a data category: client
  reports and unknown items are never limited (they are stored even beside a ``429``) and do
  not turn a ``429`` into a success. As in Relay, when the envelope's event is limited the items
  that belong to it (attachments, user reports, profiles) go with it. The minidump, unreal and
  cron endpoints never answer ``429``: they drop the limited items and answer as usual.
- ``status``: answer ``status`` (any 4xx or 5xx) with a JSON ``detail``; nothing is stored.
- ``delay``: wait ``seconds`` before answering. The envelope is stored *before* the wait, so
  what a test finds in the store does not depend on whether the client gave up waiting.
- ``drop``: close the connection without answering; nothing is stored.

Rules apply to authenticated, well-formed requests (a malformed one still gets its 4xx), in the
order they were added: every matching ``delay`` rule adds its wait (the longest counts), the
first matching ``status`` or ``drop`` rule fails the request, otherwise every ``rate_limit`` rule
that limits an item applies. A rule with ``count`` affects that many requests; one with
``duration`` lasts that many seconds from activation (server start for rules from the config);
with both, whichever ends first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import MISSING, dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar

from ..protocol.envelope import Item, ParsedEnvelope
from ..protocol.errors import IngestError
from ..protocol.item_types import CREATES_EVENT, DROPPED_WITH_EVENT, item_type
from ..settings.validation import ConfigError, check_keys

if TYPE_CHECKING:
    from ..settings.values import Project

RATE_LIMITS_HEADER = "X-Sentry-Rate-Limits"
RATE_LIMITED_DETAIL = (
    "Sentry dropped data due to a quota or internal rate limit being reached. This will not "
    "affect your application. See https://docs.sentry.io/product/accounts/quotas/ for more "
    "information."
)
SCOPES = ("organization", "project", "key", "unknown")
# The data category names Relay knows (relay-base-schema data_category.rs, spec §5.4).
CATEGORIES = frozenset(
    {
        "default",
        "error",
        "transaction",
        "security",
        "attachment",
        "session",
        "profile",
        "profile_indexed",
        "replay",
        "transaction_processed",
        "transaction_indexed",
        "monitor",
        "span",
        "log_item",
        "log_byte",
        "monitor_seat",
        "feedback",
        "metric_bucket",
        "span_indexed",
        "profile_duration",
        "profile_duration_ui",
        "profile_chunk",
        "profile_chunk_ui",
        "metric_second",
        "replay_video",
        "uptime",
        "attachment_item",
        "seer_autofix",
        "seer_scanner",
        "prevent_user",
        "prevent_review",
        "size_analysis",
        "installable_build",
        "trace_metric",
        "seer_user",
        "profile_backend",
        "profile_ui",
        "trace_metric_byte",
    }
)
# Endpoints whose clients (crash reporters, cron jobs) retry forever: Relay never answers 429.
NEVER_429 = frozenset({"minidump", "unreal", "cron"})

# Attachments that make an event: their envelope counts as an error.
CRASH_ATTACHMENTS = frozenset(
    {
        "event.minidump",
        "event.applecrashreport",
        "event.payload",
        "event.breadcrumbs",
        "playstation.prosperodump",
    }
)
UI_PLATFORMS = frozenset({"cocoa", "android", "javascript"})


class FaultRuleError(ConfigError):
    """A fault rule that cannot be used; the message names the key and what was wrong."""


@dataclass(frozen=True, kw_only=True)
class FaultRule:
    """What every rule has: which requests it hits and for how long. One subclass per kind."""

    kind: ClassVar[str]
    project: str | None = None  # a slug or a numeric id (as text); None = every project
    key: str | None = None  # a DSN public key; None = every key
    categories: tuple[str, ...] = ()  # empty = every category
    count: int | None = None
    duration: float | None = None

    def applies_to(self, project: Project, public_key: str | None) -> bool:
        return (self.project is None or self.project in (project.slug, str(project.id))) and (
            self.key is None or self.key == public_key
        )

    def to_json(self) -> dict[str, Any]:
        """The rule as it is written in the config or posted to the API."""
        data = {"kind": self.kind, **{f.name: getattr(self, f.name) for f in fields(self)}}
        data["categories"] = list(self.categories)
        return data


@dataclass(frozen=True, kw_only=True)
class RateLimitRule(FaultRule):
    kind: ClassVar[str] = "rate_limit"
    retry_after: int = 60
    scope: str = "key"
    reason_code: str | None = None

    def rate_limit(self) -> RateLimit:
        return RateLimit(self.retry_after, self.categories, self.scope, self.reason_code)


@dataclass(frozen=True, kw_only=True)
class StatusRule(FaultRule):
    kind: ClassVar[str] = "status"
    status: int
    detail: str | None = None


@dataclass(frozen=True, kw_only=True)
class DelayRule(FaultRule):
    kind: ClassVar[str] = "delay"
    seconds: float


@dataclass(frozen=True, kw_only=True)
class DropRule(FaultRule):
    kind: ClassVar[str] = "drop"


RULE_TYPES: dict[str, type[FaultRule]] = {
    rule.kind: rule for rule in (RateLimitRule, StatusRule, DelayRule, DropRule)
}


@dataclass(frozen=True)
class RateLimit:
    """One limit of the ``X-Sentry-Rate-Limits`` header."""

    retry_after: int
    categories: tuple[str, ...] = ()
    scope: str = "key"
    reason_code: str | None = None

    def header_value(self) -> str:
        """``retry_after:categories:scope[:reason_code]``, as Relay formats one limit."""
        value = f"{self.retry_after}:{';'.join(self.categories)}:{self.scope}"
        return f"{value}:{self.reason_code}" if self.reason_code else value

    def limits(self, categories: Iterable[str]) -> bool:
        """Whether an item counted against ``categories`` falls under this limit."""
        categories = set(categories)
        return bool(categories) and (not self.categories or bool(categories & set(self.categories)))


KINDS = tuple(RULE_TYPES)


# --- reading rules ---------------------------------------------------------------------------


def parse_fault_rule(data: Any, where: str = "") -> FaultRule:
    """A rule from its JSON/TOML form; errors name the key (prefixed by ``where``)."""
    if not isinstance(data, dict):
        raise FaultRuleError(where, f"{where or 'a fault rule '}must be a table/object")
    kind = data.get("kind")
    if kind not in KINDS:
        raise FaultRuleError(
            f"{where}kind", f"{where}kind must be one of {', '.join(KINDS)}; got {kind!r}"
        )
    rule_type = RULE_TYPES[kind]
    allowed = {"kind", *(f.name for f in fields(rule_type))}
    check_keys(
        data,
        allowed,
        where,
        error=FaultRuleError,
        label="fault rule key",
        qualifier=f" for kind {kind!r}",
    )
    for key in (f.name for f in fields(rule_type) if f.default is MISSING):
        if key not in data:
            raise FaultRuleError(f"{where}{key}", f"{where}{key} is required for kind {kind!r}")
    values = {key: _CHECKS[key](data[key], f"{where}{key}") for key in data if key != "kind"}
    return rule_type(**values)


def faults_from_config(entries: Any, projects: Sequence[Project] = ()) -> tuple[FaultRule, ...]:
    """The ``[[faults]]`` array of a config file; with ``projects`` listed, rules must name one."""
    if not isinstance(entries, list):
        raise FaultRuleError("faults", "faults must be an array of tables ([[faults]])")
    rules = []
    for index, entry in enumerate(entries):
        rule = parse_fault_rule(entry, f"faults[{index}].")
        known = [name for p in projects for name in (p.slug, str(p.id))]
        if projects and rule.project is not None and rule.project not in known:
            raise FaultRuleError(
                f"faults[{index}].project",
                f"faults[{index}].project {rule.project!r} is not a project",
            )
        rules.append(rule)
    return tuple(rules)


def _project(value: Any, where: str) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and value:
        return value
    raise FaultRuleError(where, f"{where} must be a project slug or a positive project id")


def _categories(value: Any, where: str) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise FaultRuleError(where, f"{where} must be a list of data category names")
    for name in values:
        if name not in CATEGORIES:
            hint = " (client reports are never rate limited)" if name == "internal" else ""
            raise FaultRuleError(where, f"{where}: unknown data category {name!r}{hint}")
    return tuple(values)


def _positive_int(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise FaultRuleError(where, f"{where} must be a positive integer")
    return value


def _seconds(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise FaultRuleError(where, f"{where} must be a number of seconds (0 or more)")
    return float(value)


def _positive_seconds(value: Any, where: str) -> float:
    seconds = _seconds(value, where)
    if seconds == 0:
        raise FaultRuleError(where, f"{where} must be more than 0 seconds")
    return seconds


def _scope(value: Any, where: str) -> str:
    if value not in SCOPES:
        raise FaultRuleError(where, f"{where} must be one of {', '.join(SCOPES)}; got {value!r}")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value or any(c in value for c in ":,;\r\n"):
        raise FaultRuleError(where, f"{where} must be a non-empty string without : , ; or newlines")
    return value


def _detail(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise FaultRuleError(where, f"{where} must be a string")
    return value


def _status(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 400 <= value <= 599:
        raise FaultRuleError(where, f"{where} must be an HTTP error status (400-599)")
    return value


_CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "project": _project,
    "key": _text,
    "categories": _categories,
    "retry_after": _positive_int,
    "scope": _scope,
    "reason_code": _text,
    "status": _status,
    "detail": _detail,
    "seconds": _seconds,
    "count": _positive_int,
    "duration": _positive_seconds,
}


# --- what rules do to an envelope (pure) ------------------------------------------------------


def item_categories(item: Item) -> tuple[str, ...]:
    """The data categories ``item`` counts against (spec §5.4); empty = never rate limited."""
    entry = item_type(item.type)
    categories = entry.categories
    platform = item.headers.get("platform")
    if item.type == "attachment" and item.headers.get("attachment_type") in CRASH_ATTACHMENTS:
        categories = (*categories, "error")
    elif entry.platform_categories is not None and isinstance(platform, str):
        ui, other = entry.platform_categories
        categories = (*categories, ui if platform in UI_PLATFORMS else other)
    return categories


def format_rate_limits(limits: Iterable[RateLimit]) -> str:
    """The ``X-Sentry-Rate-Limits`` value: Relay's limits joined by ``", "``."""
    return ", ".join(limit.header_value() for limit in limits)


def merge_rate_limits(limits: Iterable[RateLimit]) -> list[RateLimit]:
    """One limit per (categories, scope), the longest winning, as Relay's ``RateLimits::add``."""
    merged: dict[tuple, RateLimit] = {}
    for limit in limits:
        key = (limit.categories, limit.scope)
        if key not in merged or limit.retry_after > merged[key].retry_after:
            merged[key] = limit
    return list(merged.values())


def limited_items(envelope: ParsedEnvelope, limits: Sequence[RateLimit]) -> frozenset[int]:
    """Indices of the items ``limits`` remove: limited ones, and those tied to a limited event."""
    limited = {
        index
        for index, item in enumerate(envelope.items)
        if any(limit.limits(item_categories(item)) for limit in limits)
    }
    if any(envelope.items[index].type in CREATES_EVENT for index in limited):
        limited |= {i for i, item in enumerate(envelope.items) if item.type in DROPPED_WITH_EVENT}
    return frozenset(limited)


@dataclass
class Verdict:
    """What the active rules do to one request."""

    endpoint: str
    delay: float = 0.0
    failure: ActiveFault | None = None  # a status or drop rule
    limits: list[RateLimit] = field(default_factory=list)
    limited: frozenset[int] = frozenset()

    def kept(self, envelope: ParsedEnvelope) -> ParsedEnvelope | None:
        """The envelope without its limited items; None when nothing is left to store."""
        if not self.limited:
            return envelope
        items = [item for i, item in enumerate(envelope.items) if i not in self.limited]
        return ParsedEnvelope(dict(envelope.headers), items) if items else None

    def accepted_anything(self, envelope: ParsedEnvelope) -> bool:
        return any(
            item_categories(item) for i, item in enumerate(envelope.items) if i not in self.limited
        )

    def rate_limit_headers(self) -> dict[str, str]:
        if not self.limits or self.endpoint in NEVER_429:
            return {}
        return {RATE_LIMITS_HEADER: format_rate_limits(self.limits)}

    def rejection(self, envelope: ParsedEnvelope) -> IngestError | None:
        """The error to answer with instead of success, if any."""
        if self.failure is not None:
            return self.failure.error()
        if self.limits and self.endpoint not in NEVER_429 and not self.accepted_anything(envelope):
            retry_after = max(limit.retry_after for limit in self.limits)
            headers = {**self.rate_limit_headers(), "Retry-After": str(retry_after)}
            return IngestError(429, RATE_LIMITED_DETAIL, headers=headers)
        return None


# --- the rules of a running server ------------------------------------------------------------


class ConnectionDropped(IngestError):
    """A ``drop`` rule fired. The server closes the connection instead of sending this answer;
    the answer (502) only goes out where that is impossible (see ``fault_responses.py``)."""


@dataclass
class ActiveFault:
    id: int
    rule: FaultRule
    activated_at: float  # on the registry's clock
    hits: int = 0  # requests this rule has affected

    def is_live(self, now: float) -> bool:
        rule = self.rule
        return (rule.count is None or self.hits < rule.count) and (
            rule.duration is None or now - self.activated_at < rule.duration
        )

    def error(self) -> IngestError:
        """The answer of a status rule; a drop rule's stand-in (see ``ConnectionDropped``)."""
        rule = self.rule
        if isinstance(rule, StatusRule):
            detail = rule.detail or f"simulated by sentry-stub fault rule {self.id}"
            return IngestError(rule.status, detail)
        return ConnectionDropped(502, f"connection dropped by sentry-stub fault rule {self.id}")

    def to_json(self, now: float) -> dict[str, Any]:
        expires_in = None
        if self.rule.duration is not None:
            expires_in = max(0.0, self.rule.duration - (now - self.activated_at))
        return {
            "id": self.id,
            **self.rule.to_json(),
            "hits": self.hits,
            "active": self.is_live(now),
            "expires_in": expires_in,
        }


class FaultRules:
    """The rules of a server: those from its config, and those added at run time."""

    def __init__(
        self, rules: Iterable[FaultRule] = (), *, clock: Callable[[], float] = time.monotonic
    ):
        self.clock = clock
        self._lock = threading.Lock()
        self._faults: list[ActiveFault] = []
        self._next_id = 1
        for rule in rules:
            self.add(rule)

    def add(self, rule: FaultRule) -> ActiveFault:
        with self._lock:
            fault = ActiveFault(self._next_id, rule, self.clock())
            self._next_id += 1
            self._faults.append(fault)
            return fault

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) < before

    def clear(self) -> None:
        with self._lock:
            self._faults = []

    def listing(self) -> list[dict[str, Any]]:
        """Every rule with its hits and whether it is still active."""
        with self._lock:
            now = self.clock()
            return [fault.to_json(now) for fault in self._faults]

    def judge(
        self,
        project: Project,
        endpoint: str,
        envelope: ParsedEnvelope,
        public_key: str | None = None,
    ) -> Verdict:
        """Decide what the live rules do to this request, and count it against them."""
        if not self._faults:
            return Verdict(endpoint)
        categories = [item_categories(item) for item in envelope.items]
        present = {c for item in categories for c in item}
        with self._lock:
            now = self.clock()
            live = [f for f in self._faults if f.is_live(now)]
            live = [f for f in live if f.rule.applies_to(project, public_key)]
            concerned = [f for f in live if _concerns(f.rule, present)]
            delays = [f for f in concerned if isinstance(f.rule, DelayRule)]
            failures = [f for f in concerned if isinstance(f.rule, StatusRule | DropRule)][:1]
            limiting = [
                (f, f.rule.rate_limit())
                for f in live
                if isinstance(f.rule, RateLimitRule) and not failures
            ]
            limiting = [(f, limit) for f, limit in limiting if any(map(limit.limits, categories))]
            for fault in (*delays, *failures, *(f for f, _ in limiting)):
                fault.hits += 1
        limits = merge_rate_limits(limit for _, limit in limiting)
        return Verdict(
            endpoint,
            delay=max(
                (f.rule.seconds for f in delays if isinstance(f.rule, DelayRule)), default=0.0
            ),
            failure=failures[0] if failures else None,
            limits=limits,
            limited=limited_items(envelope, limits),
        )


def _concerns(rule: FaultRule, present: set[str]) -> bool:
    """A status, drop or delay rule concerns requests carrying one of its categories (or all)."""
    return not isinstance(rule, RateLimitRule) and (
        not rule.categories or bool(present & set(rule.categories))
    )
