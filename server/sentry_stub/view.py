"""A per-test view of a sentry-stub server: what arrived since the view was opened.

The pytest plugin hands one to each test as the ``sentry_stub`` fixture; any other runner can
make its own with ``StubView(StubClient(url))``. Every ``assert_*`` method raises
``AssertionError`` with a readable message, so it composes with any test framework.
"""

from __future__ import annotations

import difflib
import json
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from warnings import warn

from .arguments import checked
from .checks.text import pii_text, releases_text, sampling_text, sourcemaps_text
from .client import StubApiError, StubClient
from .hints import arrival_hints
from .protocol.item_types import listed_by
from .protocol.tables import ROW_KINDS
from .query.errors import SentryStubQueryWarning
from .records import Attachment, Envelope, Event, Record, Row
from .snapshot import normalize_for_snapshot


@dataclass
class Trace:
    """Everything of one trace across projects: a browser's pageload and the API's work."""

    trace_id: str
    events: list[Event] = field(default_factory=list)
    spans: list[Row] = field(default_factory=list)

    @property
    def transactions(self) -> list[Event]:
        return [e for e in self.events if e.type == "transaction"]

    @property
    def errors(self) -> list[Event]:
        return [e for e in self.events if e.type != "transaction"]

    @property
    def projects(self) -> set[str]:
        return {e.project for e in self.events if e.project} | {
            s.project for s in self.spans if s.project
        }


class Fault:
    """A fault rule active on the server; as a context manager, removed when the block ends."""

    def __init__(self, client: StubClient, rule: dict):
        self.client = client
        self.id: int = rule["id"]
        self.rule = rule

    def state(self) -> dict:
        """The rule as the server sees it now: ``hits``, ``active``, ``expires_in``."""
        for fault in self.client.faults():
            if fault["id"] == self.id:
                return fault
        raise LookupError(f"fault rule {self.id} has been removed")

    @property
    def hits(self) -> int:
        """How many requests the rule has affected so far."""
        return self.state()["hits"]

    def remove(self) -> None:
        try:
            self.client.remove_fault(self.id)
        except StubApiError as error:
            if error.status != 404:  # already removed: nothing to do
                raise

    def __enter__(self) -> Fault:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()


@checked
class StubView:
    """What arrived since the view opened. Query warnings are issued as
    ``SentryStubQueryWarning`` and kept in ``query_warnings`` for failure messages."""

    def __init__(
        self,
        client: StubClient,
        *,
        cursor: int | None = None,
        snapshot_dir: Path | None = None,
        update_snapshots: bool = False,
        dsn_key: str | None = None,
    ):
        self.client = client
        self.dsn_key = dsn_key
        self.cursor = client.cursor() if cursor is None else cursor
        self.snapshot_dir = snapshot_dir
        self.update_snapshots = update_snapshots
        self._seen: set[int] = set()
        self._faults: list[Fault] = []
        self.query_warnings: list[str] = []

    # --- where to send -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.client.url

    @property
    def dsn(self) -> str:
        """The DSN of the default project (in strict mode: the first configured project)."""
        return self._with_key(self.client.projects()[0]["dsn"])

    def dsn_for(self, slug: str) -> str:
        """The DSN of project ``slug``; in open mode the project is created on first use."""
        return self._with_key(self.client.project(slug)["dsn"])

    def _with_key(self, dsn: str) -> str:
        if self.dsn_key is None:
            return dsn
        scheme, _, rest = dsn.partition("://")
        return f"{scheme}://{self.dsn_key}@{rest.partition('@')[2]}"

    # --- what arrived ------------------------------------------------------------------------

    def events(self, query: str = "", *, project: str | int | None = None) -> list[Event]:
        """Events (errors, transactions, every event-like item) matching a Sentry search."""
        events, warnings = self._search(query, project)
        self._warn(warnings)
        return events

    def wait_for(
        self,
        query: str = "",
        *,
        count: int = 1,
        timeout: float = 5.0,
        project: str | int | None = None,
    ) -> list[Event]:
        """Wait until ``count`` events match ``query``; on timeout, explain what did arrive."""
        if count < 1:
            raise ValueError(f"count must be 1 or more, got {count}")
        if not 0 <= timeout < math.inf:
            raise ValueError(f"timeout must be a number of seconds, 0 or more, got {timeout}")
        deadline = time.monotonic() + timeout
        latest = self.cursor
        while True:
            events, warnings = self._search(query, project)
            if len(events) >= count:
                self._warn(warnings)
                return events
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._warn(warnings)
                report = self._timeout_report(query, count, timeout, events, project)
                raise AssertionError(report)
            latest = self.client.wait(after=latest, timeout=min(remaining, 10))

    def envelopes(self, *, project: str | int | None = None) -> list[Envelope]:
        return [Envelope(r) for r in self.client.envelopes(after=self.cursor, project=project)]

    def attachments(self, *, project: str | int | None = None) -> list[Attachment]:
        return self._items(listed_by("attachments"), project, Attachment, content=True)

    def client_reports(self, *, project: str | int | None = None) -> list[Record]:
        return self._items(listed_by("client_reports"), project)

    def sessions(self, *, project: str | int | None = None) -> list[Record]:
        """Session updates (``session``) and aggregates (``sessions``)."""
        return self._items(listed_by("sessions"), project)

    def check_ins(self, *, project: str | int | None = None) -> list[Record]:
        return self._items(listed_by("check_ins"), project)

    def profiles(self, *, project: str | int | None = None) -> list[Record]:
        return self._items(listed_by("profiles"), project)

    def feedback(self, *, project: str | int | None = None) -> list[Record]:
        """User feedback: ``feedback`` items and legacy ``user_report`` items."""
        return self._items(listed_by("feedback"), project)

    def replays(self, *, project: str | int | None = None) -> list[Record]:
        return self._items(listed_by("replays"), project)

    def rows(self, kind: str, *, project: str | int | None = None) -> list[Row]:
        """The derived rows of ``kind`` (a table of protocol/tables.py, e.g. ``"spans"``)."""
        if kind not in ROW_KINDS:
            raise ValueError(f"unknown row kind {kind!r}; expected one of {', '.join(ROW_KINDS)}")
        return [Row(r) for r in self.client.rows(kind, after=self.cursor, project=project)]

    def logs(self, *, project: str | int | None = None) -> list[Row]:
        """One record per log entry (from every ``log`` container)."""
        return self.rows("logs", project=project)

    def spans(self, *, project: str | int | None = None) -> list[Row]:
        """Spans: children of transactions, standalone spans, and span v2 items."""
        return self.rows("spans", project=project)

    def discards(self, *, project: str | int | None = None) -> list[Row]:
        """Client-report outcomes, one row per (reason, category, quantity)."""
        return self.rows("outcomes", project=project)

    def trace(self, trace_id: str) -> Trace:
        """The events and spans of one trace, from every project."""
        trace_id = trace_id.replace("-", "").lower()
        spans = [s for s in self.spans() if s.get("trace_id") == trace_id]
        return Trace(trace_id, self.events(f"trace:{trace_id}"), spans)

    def query(
        self,
        fields: Sequence[str],
        query: str = "",
        *,
        orderby: str | Sequence[str] | None = None,
        project: str | int | None = None,
    ) -> list[dict]:
        """Discover rows: ``fields`` may hold aggregates like ``count()``."""
        sort = [orderby] if isinstance(orderby, str) else list(orderby or [])
        result = self.client.discover(fields, query, sort=sort, after=self.cursor, project=project)
        self._warn(result["warnings"])
        return result["data"]

    def pipe(self, text: str, *, project: str | int | None = None) -> list[dict]:
        """Discover rows for a runbook's pipe form: ``SEARCH | AGGREGATES by FIELDS | sort by``."""
        result = self.client.pipe_query(text, after=self.cursor, project=project)
        self._warn(result["warnings"])
        return result["data"]

    def alerts(self, rule: str | None = None, *, project: str | int | None = None) -> list[dict]:
        """Alert rules that fired during this test (only ``rule``, if given).

        Each record has ``rule``, ``kind`` (issue or metric), ``status``, ``reasons`` (why it
        fired) and ``actions``: per action its ``kind``, ``target``, the ``message`` it sends and
        its ``delivery`` (``recorded``, ``pending``, ``delivered`` or ``failed``).
        """
        fired = self.client.alerts(after=self.cursor, project=project)
        return [alert for alert in fired if rule is None or alert["rule"] == rule]

    def evaluate_alerts(self, *, project: str | int | None = None) -> list[dict]:
        """Recompute metric alerts now (they are also recomputed as transactions arrive)."""
        return self.client.evaluate_alerts(project=project)

    def issues(self, *, project: str | int | None = None) -> list[dict]:
        """Issues (events grouped by fingerprint) that got an event during this test."""
        return self.client.issues(after=self.cursor, project=project)

    def resolve_issue(self, issue_id: int) -> None:
        """Resolve an issue, so that its next event is a regression."""
        self.client.resolve_issue(issue_id)

    def owners(self, event: Event | dict, *, project: str | None = None) -> dict:
        """Who owns ``event`` under its project's ownership rules.

        The answer has ``owners`` (``{"type": "team"|"user", "identifier"}``, the winner first),
        ``assignee``, the matching ``rules`` in precedence order, and ``fallthrough``. A plain
        dict is judged by the rules of ``project`` (default: the view's default project).
        """
        if isinstance(event, Event) and project is None:
            return self.client.owners_of_event(event.event_id)
        data = event.data if isinstance(event, Event) else dict(event)
        slug = project or self.client.projects()[0]["slug"]
        return self.client.owners(data, project=slug)

    def clear(self) -> None:
        """Forget everything received so far (for this view; other views are unaffected)."""
        self.cursor = self.client.cursor()
        self._seen.clear()
        self.query_warnings.clear()

    # --- making the server misbehave ---------------------------------------------------------

    def fault(
        self,
        kind: str,
        *,
        project: str | int | None = None,
        categories: str | Sequence[str] = (),
        count: int | None = None,
        duration: float | None = None,
        **options: Any,
    ) -> Fault:
        """Add a fault rule: ``rate_limit``, ``status``, ``delay`` or ``drop``.

        ``options`` are the kind's own settings: ``retry_after``, ``scope``, ``reason_code``;
        ``status``, ``detail``; ``seconds``. Without ``count`` or ``duration`` the rule lasts
        until removed: use the result as a context manager, or call ``remove_faults()``. A view
        bound to a DSN key limits its rules to requests sent with that key.
        """
        rule: dict[str, Any] = {"kind": kind, **options}
        optional = {"project": project, "count": count, "duration": duration, "key": self.dsn_key}
        rule.update({name: value for name, value in optional.items() if value is not None})
        if categories:
            rule["categories"] = [categories] if isinstance(categories, str) else list(categories)
        fault = Fault(self.client, self.client.add_fault(rule))
        self._faults.append(fault)
        return fault

    def remove_faults(self) -> None:
        """Remove every fault rule this view added."""
        while self._faults:
            self._faults.pop().remove()

    # --- assertions ----------------------------------------------------------------------------

    def assert_snapshot(self, event: Event | dict, name: str) -> None:
        """Compare ``event`` with the golden JSON ``name`` after normalizing what always varies.

        Ids, timestamps, durations, SDK and runtime versions are replaced by placeholders.
        Run pytest with ``--sentry-stub-update-snapshots`` to write or refresh the golden file.
        """
        if self.snapshot_dir is None:
            raise AssertionError("snapshots need a snapshot directory (the pytest plugin sets one)")
        data = event.data if isinstance(event, Event) else event
        actual = normalize_for_snapshot(data)
        path = self.snapshot_dir / f"{name}.json"
        text = json.dumps(actual, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        if self.update_snapshots:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        if not path.exists():
            raise AssertionError(
                f"no snapshot {path}; run pytest with --sentry-stub-update-snapshots to create it"
            )
        expected = json.loads(path.read_text(encoding="utf-8"))
        if expected != actual:
            raise AssertionError(
                f"event differs from snapshot {path}:\n" + _json_diff(expected, actual)
            )

    def assert_no_pii(
        self,
        events: Iterable[Event] | None = None,
        *,
        allow: Sequence[str] = (),
        include: Sequence[str] = (),
        scope: Literal["app", "all"] = "app",
        project: str | int | None = None,
    ) -> dict:
        """Fail where an event (default: all of this test's) carries data Sentry would scrub.

        The event as the SDK sent it goes through Relay's own default scrubbers plus the
        project's sensitive fields; what ``send_default_pii`` adds (user IP, cookies, sensitive
        headers) counts too. ``allow`` lists accepted paths: exact (``user.ip_address``), a
        prefix (``request.headers``), or a glob (``request.cookies.*``); ``include`` limits the
        check to such paths (``["request", "user", "tags", "extra", "contexts"]``). ``scope="app"``
        skips the local variables of library frames (a framework's own objects), ``"all"``
        checks them too. Returns the report.
        """
        items = [event.item_id for event in events] if events is not None else ()
        if events is not None and not items:
            raise AssertionError("assert_no_pii was given an empty list of events")
        report = self.client.check_pii(
            after=self.cursor,
            project=project,
            allow=allow,
            include=include,
            scope=scope,
            items=items,
        )
        if not report["passed"]:
            raise AssertionError(pii_text(report))
        return report

    def assert_sample_rate(
        self,
        expected: float,
        *,
        category: str = "transaction",
        confidence: float = 0.99,
        project: str | int | None = None,
    ) -> dict:
        """Fail unless ``expected`` lies in the exact binomial interval of the observed rate.

        Kept items count as sampled in, client-report ``sample_rate`` discards as sampled out;
        for transactions the ``sample_rate`` declared in the trace header must equal
        ``expected``. ``category`` is ``transaction``, ``profile`` (of sampled transactions)
        or ``error``. Returns the report.
        """
        report = self.client.check_sampling(
            expected, category=category, confidence=confidence, after=self.cursor, project=project
        )
        if not report["passed"]:
            hints = self._arrival_hints() if report["trials"] == 0 else []
            raise AssertionError("\n".join([sampling_text(report), *hints]))
        return report

    def assert_releases(
        self,
        *,
        environments: Sequence[str] = (),
        pattern: str | None = None,
        project: str | int | None = None,
    ) -> dict:
        """Fail unless every event names a well-formed release and an allowed environment.

        ``pattern`` is a regex the release must match in full (``{project}`` stands for the
        project slug); by default ``<package>@<version>`` or a git SHA. ``environments``
        defaults to development, staging, production. Releases created through the web API
        must exist and be finalized. Returns the report.
        """
        report = self.client.check_releases(
            environments=environments, pattern=pattern, after=self.cursor, project=project
        )
        if not report["passed"]:
            raise AssertionError(releases_text(report))
        return report

    def assert_sourcemaps_resolve(
        self, query: str = "", *, project: str | int | None = None
    ) -> dict:
        """Fail unless every in-app frame of this test's JavaScript events (those ``query``
        matches) resolves to original source the way Sentry resolves it: by debug id, else by
        release, dist and URL against the uploaded source maps. The message lists each frame
        that would stay minified and why. Returns the report.
        """
        report = self.client.check_sourcemaps(query, after=self.cursor, project=project)
        self._warn(report["warnings"])
        if not report["passed"]:
            raise AssertionError(sourcemaps_text(report))
        return report

    def releases(
        self, version: str | None = None, *, org: str | None = None, project: str | None = None
    ) -> list[dict]:
        """Releases created through the web API (``sentry-cli releases new``), newest first.

        Each has ``version``, ``org``, ``projects``, ``finalized`` (and ``date_released``),
        ``commits`` as ``set-commits`` sent them, ``deploys``, and the uploaded ``files``
        (source maps: ``name``, ``type``, ``debug_id``, ``sourcemap``, ``sha1``, ``size``).
        Releases are server state, not arrivals: this lists every release, not only this test's.
        """
        return self.client.releases(org=org, project=project, version=version)

    def unasserted_events(self) -> list[Event]:
        """Events that arrived in this view but were never returned to the test."""
        return [
            Event(r, client=self.client)
            for r in self.client.events("", after=self.cursor)
            if r["item_id"] not in self._seen
        ]

    def notes(self) -> list[str]:
        """Protocol notes on what arrived: where Relay would have refused or fixed it."""
        return self.client.summary(after=self.cursor)["notes"]

    # --- helpers -------------------------------------------------------------------------------

    def _items(
        self,
        types: Iterable[str],
        project: str | int | None,
        kind: type[Record] = Record,
        *,
        content: bool = False,
    ) -> list[Any]:
        records = self.client.items(
            tuple(types), after=self.cursor, project=project, content=content
        )
        return [kind(r) for r in records]

    def _search(self, query: str, project: str | int | None) -> tuple[list[Event], list[str]]:
        records = self.client.events(query, after=self.cursor, project=project)
        events = [Event(r, client=self.client) for r in records]
        self._seen.update(e.item_id for e in events)
        return events, records.warnings

    def _warn(self, warnings: Iterable[str]) -> None:
        """Issue each query warning at the test's line (past the public method and its check)."""
        for text in warnings:
            self.query_warnings.append(text)
            warn(SentryStubQueryWarning(text), stacklevel=4)

    def _arrival_hints(self) -> list[str]:
        """What to check when nothing arrived: the DSN, any request at all, a flush."""
        arrived = self.client.summary(after=self.cursor)
        everywhere = self.client.scoped(()).summary(after=self.cursor)
        return arrival_hints(self.dsn, arrived, everywhere)

    def _timeout_report(
        self,
        query: str,
        count: int,
        timeout: float,
        matching: list[Event],
        project: str | int | None,
    ) -> str:
        summary = self.client.summary(after=self.cursor)
        where = f" in project {project!r}" if project is not None else ""
        lines = [
            f"sentry-stub: waited {timeout:g}s for {count} event(s) matching {query!r}{where}; "
            f"{len(matching)} matched.",
            "",
            "What arrived during this test:",
            f"  items by type:    {_counts(summary['items'])}",
            f"  events by type:   {_counts(summary['events'])}",
            f"  by project:       {_counts(summary['projects'])}",
        ]
        if summary["discards"]:
            lines.append("  the SDK reported dropping (client reports):")
            lines += [
                f"    {d['quantity']} x {d['category']} ({d['reason']})"
                for d in summary["discards"]
            ]
        misses = self.client.explain(query, after=self.cursor, project=project)
        if misses.warnings:
            lines[1:1] = ["Query warnings:", *(f"  {w}" for w in misses.warnings)]
        lines += arrival_hints(self.dsn, summary, self.client.scoped(()).summary(after=self.cursor))
        if misses:
            lines.append("Nearest misses (most recent first):")
            for miss in misses:
                lines.append(
                    f"  {miss['type']} {miss['event_id']} {miss['title']!r} "
                    f"(project {miss['project']}): excluded by {miss['excluded_by']}"
                    + _suggestion(miss["excluded_by"], misses.warnings)
                )
        if summary["items"].get("span") and not summary["events"].get("transaction"):
            lines += self._streamed_spans_hint(project)
        if summary["notes"]:
            lines.append("Protocol notes:")
            lines += [f"  {note}" for note in summary["notes"][:10]]
        return "\n".join(lines)

    def _streamed_spans_hint(self, project: str | int | None) -> list[str]:
        """Spans but no transaction: the SDK streams spans (span v2) instead of transactions."""
        spans = self.spans(project=project)
        segments = [span.get("segment_name") for span in spans if span.get("is_transaction")]
        named = ", ".join(repr(name) for name in segments[:3]) + (", ..." if segments[3:] else "")
        return [
            f"Streamed spans arrived ({len(spans)} span(s), {len(segments)} segment(s)"
            + (f": {named}" if named else "")
            + ") but no transaction: this SDK streams spans instead of sending transactions,",
            "  so no `event.type:transaction` event will come. Query the spans instead:",
            "    sentry_stub.spans()  # every span, with is_transaction and segment_name",
            '    sentry_stub.query(["transaction", "span.op", "span.duration"], '
            '"is_transaction:true")',
        ]


def _suggestion(clause: str, warnings: Sequence[str]) -> str:
    """The "did you mean ...?" of the query warning about ``clause``, if there is one."""
    for warning in warnings:
        start = warning.find("did you mean")
        if f"`{clause}`" in warning and start >= 0:
            return f" ({warning[start : warning.index('?', start) + 1]})"
    return ""


def _counts(counts: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in counts.items()) or "nothing"


def _json_diff(expected: Any, actual: Any) -> str:
    a = json.dumps(expected, indent=2, sort_keys=True).splitlines()
    b = json.dumps(actual, indent=2, sort_keys=True).splitlines()
    return "\n".join(difflib.unified_diff(a, b, "snapshot", "event", lineterm=""))
