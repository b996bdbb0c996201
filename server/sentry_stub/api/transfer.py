"""The API of forwarding, export and import: what went upstream, and envelopes in and out.

``GET /stub/api/forwards`` lists forward states; ``GET /stub/api/export`` pages through stored
envelopes as export records (``storage/transfer.py`` describes the format); ``POST
/stub/api/import`` stores such records, all of one request or none.
"""

from __future__ import annotations

from functools import partial

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..export_format import InvalidRecord, parse_record
from ..query.discover import search_events
from ..query.errors import InvalidQueryError
from ..settings.values import Project
from ..storage import forward_queue, transfer
from ..storage.database import Database
from ..storage.projects import InvalidSlug, ProjectRegistry
from .params import ApiError, Params, json_body, project_ids_of, scope_of

MAX_EXPORT_PAGE = 1000


class TransferApi:
    def __init__(self, projects: ProjectRegistry, database: Database):
        self.projects = projects
        self.database = database

    async def forwards(self, request: Request) -> Response:
        params = Params(request)
        state = params.text("state") or None
        if state is not None and state not in forward_queue.STATES:
            states = ", ".join(forward_queue.STATES)
            raise ApiError(400, f"parameter 'state' must be one of {states}; got {state!r}")
        read = partial(
            forward_queue.listing,
            after_envelope=params.integer("after_envelope", 0),
            project_ids=project_ids_of(params, self.projects),
            state=state,
            limit=params.integer("limit", 100, maximum=10000),
        )
        return JSONResponse(await self.database.read(read))

    async def export(self, request: Request) -> Response:
        """Export records after envelope id ``since``; ``next``: the ``since`` of the next page."""
        params = Params(request)
        query = params.text("query")
        scope = scope_of(params, self.projects)
        since = params.integer("since", 0)
        # A page of none would name itself as the next one: the pager would never end.
        limit = params.integer("limit", 100, minimum=1, maximum=MAX_EXPORT_PAGE)

        def read(connection):
            only = None
            if query:
                items = search_events(
                    connection,
                    query,
                    project_ids=scope.project_ids or None,
                    min_item_id=scope.after,
                    public_keys=scope.public_keys,
                )
                only = transfer.envelopes_of_items(connection, items)
            return transfer.export_page(connection, scope, since=since, only=only, limit=limit)

        try:
            records = await self.database.read(read)
        except InvalidQueryError as error:
            raise ApiError(400, str(error)) from None
        following = records[-1]["id"] if len(records) == limit else None
        return JSONResponse({"data": records, "next": following})

    async def import_(self, request: Request) -> Response:
        body = await json_body(request)
        values = body.get("records")
        if not isinstance(values, list):
            raise ApiError(400, "body must be a JSON object with a list 'records'")
        try:
            records = [parse_record(value, i) for i, value in enumerate(values)]
            received = [
                transfer.received_from(record, self._project(record.project, i), i)
                for i, record in enumerate(records)
            ]
        except InvalidRecord as error:
            raise ApiError(400, str(error), record=error.index) from None
        ids = await self.database.write(partial(transfer.import_envelopes, received=received))
        return JSONResponse({"imported": len(ids)})

    def _project(self, slug: str, index: int) -> Project:
        """The project of that slug: configured, known, or (open mode) created."""
        project = self.projects.by_slug(slug)
        if project is not None:
            return project
        if self.projects.strict:
            raise InvalidRecord(
                index, f"project {slug!r} is not in this server's config (strict mode)"
            )
        try:
            return self.projects.create(slug)
        except InvalidSlug:
            raise InvalidRecord(index, f"project slug {slug!r} is invalid") from None
