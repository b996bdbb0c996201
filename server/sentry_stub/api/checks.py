"""The checks under ``/stub/api/checks/``: PII leaks, sample rates, release and environment naming,
source maps.

Each answers a JSON report with ``passed`` and the details a person needs to fix what failed;
the pytest helpers (``assert_no_pii`` and friends) and ``sentry-stub check`` only format it.
Like the query API, every check takes ``after`` (a receive cursor) and ``project`` (repeatable).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..checks import inputs, sourcemap_inputs
from ..checks.pii import SCOPES, PiiCheckUnavailable, find_leaks, pii_report
from ..checks.releases import DEFAULT_ENVIRONMENTS, DEFAULT_PATTERN, check_releases
from ..checks.sampling import CATEGORIES, check_sampling
from ..checks.sourcemaps import (
    SourceMapsUnavailable,
    has_app_frames,
    resolve_event,
    sourcemaps_report,
)
from ..config import Settings
from ..query.discover import event_search_warnings, search_events
from ..query.errors import InvalidQueryError
from ..settings.values import Scrubbing
from ..storage.database import Database
from ..storage.projects import ProjectRegistry
from ..storage.schema import INT64_MAX, stored_integer
from .params import ApiError, Params, scope_of


class ChecksApi:
    def __init__(self, settings: Settings, projects: ProjectRegistry, database: Database):
        self.settings = settings
        self.projects = projects
        self.database = database

    def routes(self) -> list[Route]:
        a = "/stub/api/checks"
        return [
            Route(f"{a}/pii", self.pii),
            Route(f"{a}/sampling", self.sampling),
            Route(f"{a}/releases", self.releases),
            Route(f"{a}/sourcemaps", self.sourcemaps),
        ]

    async def pii(self, request: Request) -> Response:
        """Leaks in the events as sent; ``item`` (comma-separated ids) limits it to those events."""
        params = Params(request)
        where = scope_of(params, self.projects)
        scope = params.choice("scope", SCOPES, "app")
        item_ids = _item_ids(params)

        def check(connection) -> dict:  # in a worker thread: scrubbing is CPU work
            ids = item_ids or inputs.event_item_ids(connection, where)
            records = inputs.events(connection, ids)
            findings = [
                finding
                for record in records
                for finding in find_leaks(
                    record["event_id"],
                    record["data"] or {},
                    self._scrubbing(record["project_id"]),
                    project=record["project"],
                )
            ]
            return pii_report(
                findings,
                checked=len(records),
                allow=params.list("allow"),
                include=params.list("include"),
                scope=scope,
            )

        try:
            return JSONResponse(await self.database.read(check))
        except PiiCheckUnavailable as error:
            raise ApiError(501, str(error)) from None

    async def sampling(self, request: Request) -> Response:
        params = Params(request)
        category = params.choice("category", CATEGORIES, "transaction")
        if not params.text("expected"):
            raise ApiError(400, "parameter 'expected' (the configured rate, 0 to 1) is required")
        expected = params.number("expected", 0.0)
        confidence = params.number("confidence", 0.99)
        scope = scope_of(params, self.projects)

        def read(connection) -> tuple:
            observed = inputs.sampling_observations(connection, scope, category)
            return *observed, inputs.client_report_count(connection, scope)

        kept, discards, traces, client_reports = await self.database.read(read)
        try:
            report = check_sampling(
                expected,
                category=category,
                kept=kept,
                discards=discards,
                traces=traces,
                confidence=confidence,
                client_reports=client_reports,
            )
        except ValueError as error:
            raise ApiError(400, str(error)) from None
        return JSONResponse(report)

    async def releases(self, request: Request) -> Response:
        params = Params(request)
        environments = [
            name for value in params.list("environments") for name in value.split(",") if name
        ]
        scope = scope_of(params, self.projects)

        def read(connection):
            events = inputs.event_releases(connection, scope)
            return events, inputs.known_releases(connection), _without_artifacts(connection, scope)

        events, known, without_artifacts = await self.database.read(read)
        try:
            report = check_releases(
                events,
                environments=environments or DEFAULT_ENVIRONMENTS,
                pattern=params.text("pattern") or DEFAULT_PATTERN,
                known_releases=known,
                without_artifacts=without_artifacts,
            )
        except ValueError as error:
            raise ApiError(400, str(error)) from None
        return JSONResponse(report)

    async def sourcemaps(self, request: Request) -> Response:
        """Whether each JavaScript event's frames resolve to original source, as Sentry would
        resolve them; ``query`` (a search) or ``item`` (ids) picks the events."""
        params = Params(request)
        query = params.text("query")
        scope = scope_of(params, self.projects)
        item_ids = _item_ids(params)

        def check(connection) -> dict:  # in a worker thread: reading maps is CPU work
            ids = item_ids or search_events(
                connection,
                query,
                project_ids=list(scope.project_ids) or None,
                min_item_id=scope.after,
                public_keys=scope.public_keys,
            )
            artifacts = sourcemap_inputs.ArtifactReader(connection)
            events = sourcemap_inputs.js_events(connection, ids)
            maps: dict = {}  # each map read once for the whole report
            results = [(e, resolve_event(e, artifacts.for_event(e), maps)) for e in events]
            report = sourcemaps_report(results)
            return {**report, "query": query, "warnings": event_search_warnings(query)}

        try:
            return JSONResponse(await self.database.read(check))
        except InvalidQueryError as error:
            raise ApiError(400, f"query {query!r}: {error}") from None
        except SourceMapsUnavailable as error:
            raise ApiError(501, str(error)) from None

    def _scrubbing(self, project_id: int) -> Scrubbing:
        project = self.projects.get(project_id)
        return project.scrubbing if project else self.settings.default_scrubbing


def _without_artifacts(connection, scope) -> set[str]:
    """JavaScript events with in-app frames for which nothing at all was uploaded."""
    ids = sourcemap_inputs.js_event_item_ids(connection, scope)
    events = sourcemap_inputs.js_events(connection, ids)
    return {
        event.event_id
        for event in events
        if has_app_frames(event) and not sourcemap_inputs.has_artifacts(connection, event)
    }


def _item_ids(params: Params) -> list[int]:
    ids = []
    for value in params.list("item"):
        for part in value.split(","):
            item_id = stored_integer(part.strip())
            if item_id is None:
                raise ApiError(
                    400, f"parameter 'item' must list item ids, got {part!r} (0 to {INT64_MAX})"
                )
            ids.append(item_id)
    return ids
