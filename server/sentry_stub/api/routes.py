"""The native JSON query API under ``/stub/api/``: everything that reads goes through here.

The pytest plugin, the CLI and the web UI are clients of these routes and of nothing else.
Every list accepts ``after`` (a receive cursor from ``/stub/api/cursor``) and ``project``
(a slug or numeric id, repeatable).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..config import Settings
from ..processing import stored
from ..protocol.tables import ROW_KINDS
from ..query.discover import event_search_warnings, reads_spans, run_discover, search_events
from ..query.errors import InvalidQueryError
from ..query.explain import explain_misses
from ..query.indexed import add_indexed
from ..query.pipe import parse_pipe
from ..storage import reader
from ..storage.database import Database
from ..storage.projects import ProjectRegistry
from ..storage.release_reads import release_records
from ..storage.schema import INT64_MAX, stored_integer
from .openapi import openapi_schema
from .params import ApiError, Params, json_body, path_id, project_ids_of, scope_of

MAX_LIMIT = 10000


class QueryApi:
    def __init__(self, settings: Settings, projects: ProjectRegistry, database: Database):
        self.settings = settings
        self.projects = projects
        self.database = database

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_schema())

    async def cursor(self, request: Request) -> Response:
        return JSONResponse({"cursor": await self.database.read(reader.cursor)})

    async def wait(self, request: Request) -> Response:
        """Long poll: answer as soon as the cursor moves away from ``after``, or at ``timeout``.

        A cursor below ``after`` means the server was reset (item ids start again), so that
        answers at once too: a follower must not wait a whole timeout to notice. It looks every
        second whether the client is still there: a closed browser tab must not keep a request
        (and a server shutdown) waiting.
        """
        params = Params(request)
        after = params.integer("after", 0)
        timeout = min(params.number("timeout", 5.0), 60.0)
        deadline = time.monotonic() + timeout
        while True:
            version = self.database.version
            current = await self.database.read(reader.cursor)
            remaining = deadline - time.monotonic()
            if current != after or remaining <= 0 or await request.is_disconnected():
                break
            await self.database.wait_for_change(version, min(remaining, 1.0))
        return JSONResponse({"cursor": current})

    async def list_projects(self, request: Request) -> Response:
        projects = [self._project_json(p) for p in self.projects.all()]
        return JSONResponse({"data": projects, "strict": self.projects.strict})

    async def create_project(self, request: Request) -> Response:
        body = await json_body(request)
        slug = body.get("slug")
        if not isinstance(slug, str) or not slug:
            raise ApiError(400, "body must be a JSON object with a non-empty string 'slug'")
        existing = self.projects.by_slug(slug)
        if existing is None and self.projects.strict:
            raise ApiError(
                404, f"no project {slug!r} in the config (strict mode creates no projects)"
            )
        project = existing or self.projects.create(slug)
        return JSONResponse(self._project_json(project), status_code=200 if existing else 201)

    async def events(self, request: Request) -> Response:
        params = Params(request)
        query = params.text("query")
        project_ids = project_ids_of(params, self.projects)
        order = params.choice("order", ("asc", "desc"), "asc")

        def read(connection):
            ids = search_events(
                connection,
                query,
                project_ids=project_ids or None,
                min_item_id=params.integer("after", 0),
                limit=params.integer("limit", 100, maximum=MAX_LIMIT),
                offset=params.integer("offset", 0),
                order=order,
                public_keys=params.list("key"),
            )
            records = self._complete(connection, reader.events_by_item_ids(connection, ids))
            return {"data": records, "warnings": event_search_warnings(query)}

        spans = scope_of(params, self.projects) if reads_spans(query) else None
        return JSONResponse(await self._read_query(read, query, spans=spans))

    async def event(self, request: Request) -> Response:
        event_id = request.path_params["event_id"].replace("-", "").lower()

        def read(connection):
            record = reader.event_by_id(connection, event_id)
            return self._complete(connection, [record])[0] if record else None

        record = await self.database.read(read)
        if record is None:
            raise ApiError(404, f"no event with id {event_id}")
        return JSONResponse(record)

    async def envelopes(self, request: Request) -> Response:
        return await self._scoped_list(Params(request), reader.envelopes, 1000)

    async def items(self, request: Request) -> Response:
        params = Params(request)
        return await self._scoped_list(
            params,
            reader.items,
            1000,
            types=params.list("type"),
            with_content=params.flag("content"),
        )

    async def item_content(self, request: Request) -> Response:
        item_id = path_id(request, "item_id")
        found = await self.database.read(partial(reader.item_content, item_id=item_id))
        if found is None:
            raise ApiError(404, f"no item {item_id}")
        content, _ = found
        # Served as opaque bytes: never let a browser render client-chosen content.
        return Response(
            content,
            media_type="application/octet-stream",
            headers={"x-content-type-options": "nosniff"},
        )

    async def rows(self, request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind not in ROW_KINDS:
            raise ApiError(404, f"unknown kind {kind!r}; expected one of {', '.join(ROW_KINDS)}")
        params = Params(request)
        return await self._scoped_list(
            params,
            reader.rows,
            MAX_LIMIT,
            maximum=100000,
            of_spans=ROW_KINDS[kind].name == "spans",
            table=ROW_KINDS[kind],
            trace_id=params.text("trace").replace("-", "").lower(),
            newest_first=params.choice("order", ("asc", "desc"), "asc") == "desc",
        )

    async def traces(self, request: Request) -> Response:
        """The traces list of the web UI: one summary per trace that has spans."""
        return await self._scoped_list(Params(request), reader.traces, 100, of_spans=True)

    async def _scoped_list(
        self,
        params: Params,
        read_list: Callable[..., list[dict]],
        default_limit: int,
        *,
        maximum: int = MAX_LIMIT,
        of_spans: bool = False,
        **arguments: Any,
    ) -> Response:
        """``{"data": [...]}`` of a reader that takes the request's scope and ``limit``."""
        scope = scope_of(params, self.projects)
        read = partial(
            read_list,
            scope=scope,
            limit=params.integer("limit", default_limit, maximum=maximum),
            **arguments,
        )
        spans = scope if of_spans else None
        return JSONResponse({"data": await self.database.read(read, spans=spans)})

    async def summary(self, request: Request) -> Response:
        scope = scope_of(Params(request), self.projects)
        # Its notes are complete only with those made with span rows (see pending_spans.py).
        summary = partial(reader.summary, scope=scope)
        return JSONResponse(await self.database.read(summary, spans=scope))

    async def discover(self, request: Request) -> Response:
        """Discover semantics, with the query warnings at the top level like every search."""
        result, link = await self.discover_answer(request)
        return JSONResponse(result, headers={"link": link})

    async def discover_answer(self, request: Request) -> tuple[dict, str]:
        """The Discover answer to a request's ``field``/``query``/``sort``, and its link header.

        The web API's ``organization_events`` answers the same, in Sentry's shape.
        """
        params = Params(request)
        fields = params.list("field")
        if not fields:
            raise ApiError(400, "at least one 'field' parameter is required")
        result = await self._discover(params, fields, params.list("sort") or None)
        offset = _cursor_offset(params.text("cursor"))
        per_page = params.integer("per_page", 50, maximum=MAX_LIMIT)
        return result, _link_header(request, offset, per_page, result.pop("has_next"))

    async def pipe_query(self, request: Request) -> Response:
        """The runbook pipe form: ``SEARCH | AGG by FIELD | sort by AGG DESC``."""
        params = Params(request)
        text = params.text("q")
        try:
            pipe = parse_pipe(text)
        except InvalidQueryError as error:
            raise _query_error(error, text) from None
        result = await self._discover(
            params, list(pipe.fields), list(pipe.orderby), query=pipe.query, text=text
        )
        del result["has_next"]
        result["request"] = {"fields": pipe.fields, "query": pipe.query, "sort": pipe.orderby}
        return JSONResponse(result)

    async def explain(self, request: Request) -> Response:
        """The newest events a search does not match, each with the clause that excluded it."""
        params = Params(request)
        query = params.text("query")
        misses = partial(
            explain_misses,
            query=query,
            project_ids=project_ids_of(params, self.projects) or None,
            min_item_id=params.integer("after", 0),
            limit=params.integer("limit", 5, maximum=100),
            public_keys=params.list("key"),
        )

        def read(connection):
            return {"data": misses(connection), "warnings": event_search_warnings(query)}

        spans = scope_of(params, self.projects) if reads_spans(query) else None
        return JSONResponse(await self._read_query(read, query, spans=spans))

    async def releases(self, request: Request) -> Response:
        """Releases with their deploys, commits and files, for tests (newest first)."""
        params = Params(request)
        read = partial(
            release_records,
            org=params.text("org") or None,
            project=params.text("project") or None,
            version=params.text("version") or None,
        )
        return JSONResponse({"data": await self.database.read(read)})

    async def reset(self, request: Request) -> Response:
        await self.database.write(reader.reset)
        return JSONResponse({"reset": True})

    async def _discover(
        self,
        params: Params,
        fields: list[str],
        orderby: list[str] | None,
        query: str | None = None,
        text: str | None = None,
    ) -> dict:
        """Discover rows; ``text`` is what the user typed, shown with a syntax error."""
        per_page = params.integer("per_page", 50, maximum=MAX_LIMIT)
        offset = _cursor_offset(params.text("cursor"))
        query = params.text("query") if query is None else query
        read = partial(
            run_discover,
            fields=fields,
            query=query,
            orderby=orderby,
            project_ids=project_ids_of(params, self.projects) or None,
            environments=params.list("environment") or None,
            start=params.text("start") or None,
            end=params.text("end") or None,
            stats_period=params.text("statsPeriod") or None,
            limit=per_page + 1,  # one more row tells whether a next page exists
            offset=offset,
            min_item_id=params.integer("after", 0),
            public_keys=params.list("key"),
        )
        spans = (
            scope_of(params, self.projects) if reads_spans(query, fields, orderby or ()) else None
        )
        result = await self._read_query(read, query if text is None else text, spans=spans)
        result["has_next"] = len(result["data"]) > per_page
        del result["data"][per_page:]
        return result

    def _complete(self, connection, records: list[dict]) -> list[dict]:
        """Event records with their ``indexed`` fields (what searches match) and their stored
        view, made where still pending and cached for next time."""
        add_indexed(connection, records)
        updates = stored.complete(connection, records, self.projects)
        if updates:
            self.database.writer.submit(partial(stored.cache, updates=updates))
        return records

    async def _read_query(self, read, query: str, spans: reader.Scope | None = None):
        try:
            return await self.database.read(read, spans=spans)
        except InvalidQueryError as error:
            raise _query_error(error, query) from None

    def _project_json(self, project) -> dict:
        return {
            "id": project.id,
            "slug": project.slug,
            "keys": list(project.keys),
            "dsn": project.dsn(self.settings.base_url),
        }


def _query_error(error: InvalidQueryError, query: str) -> ApiError:
    """A 400 naming the fault; a syntax error adds its column and the query it counts in."""
    column = getattr(error, "column", None)
    return ApiError(400, str(error), **({"column": column, "query": query} if column else {}))


def _link_header(request: Request, offset: int, per_page: int, has_next: bool) -> str:
    """Sentry's pagination header: previous and next cursors of the form ``0:<offset>:<prev>``.

    The path is quoted again from the scope: Starlette hands it decoded (and its URL drops a
    decoded newline), and a character a header may not carry (``/organizations/%1F/``) would
    make the server drop the connection."""
    path = request.scope.get("root_path", "") + request.scope["path"]
    url = request.url.replace(path=quote(path))
    pages = (
        (f"0:{max(offset - per_page, 0)}:1", "previous", offset > 0),
        (f"0:{offset + per_page}:0", "next", has_next),
    )
    return ", ".join(
        f'<{url.include_query_params(cursor=cursor)}>; rel="{rel}"; '
        f'results="{str(results).lower()}"; cursor="{cursor}"'
        for cursor, rel, results in pages
    )


def _cursor_offset(cursor: str) -> int:
    """Sentry's cursors look like ``0:100:0`` (value:offset:is_prev); we page by offset."""
    if not cursor:
        return 0
    parts = cursor.split(":")
    offset = stored_integer(parts[1]) if len(parts) == 3 else None
    if offset is not None:
        return offset
    raise ApiError(
        400,
        f"parameter 'cursor' {cursor!r} is invalid; expected 0:<offset>:0, offset at most "
        f"{INT64_MAX}",
    )
