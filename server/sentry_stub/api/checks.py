"""The checks under ``/stub/api/checks/``: PII leaks, sample rates, release and environment naming.

Each answers a JSON report with ``passed`` and the details a person needs to fix what failed;
the pytest helpers (``assert_no_pii`` and friends) and ``sentry-stub check`` only format it.
Like the query API, every check takes ``after`` (a receive cursor) and ``project`` (repeatable).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..checks import inputs
from ..checks.pii import SCOPES, PiiCheckUnavailable, find_leaks, pii_report
from ..checks.releases import DEFAULT_ENVIRONMENTS, DEFAULT_PATTERN, check_releases
from ..checks.sampling import CATEGORIES, check_sampling
from ..config import Settings
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
            return events, inputs.known_releases(connection)

        events, known = await self.database.read(read)
        try:
            report = check_releases(
                events,
                environments=environments or DEFAULT_ENVIRONMENTS,
                pattern=params.text("pattern") or DEFAULT_PATTERN,
                known_releases=known,
            )
        except ValueError as error:
            raise ApiError(400, str(error)) from None
        return JSONResponse(report)

    def _scrubbing(self, project_id: int) -> Scrubbing:
        project = self.projects.get(project_id)
        return project.scrubbing if project else self.settings.default_scrubbing


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
