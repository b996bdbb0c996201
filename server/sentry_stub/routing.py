"""Every URL the server answers, in one table, and the two ways a request reaches its handler.

As Relay's endpoints module does, ``endpoints`` lists each route with its methods, the most body
bytes it reads and who may call it:

- ``INGEST``: what SDKs post to, from any Host and any web page: Relay's CORS (``ingest/cors.py``).
- ``OPEN``: Relay's health checks: any Host, no CORS headers (as Relay's).
- ``GUARDED``: the web UI, ``/stub/api/*``, Discover and the web API: only allowed hosts and no
  cross-site writes (``ingest/guard.py``), no CORS.

A path is answered under its route's policy whatever the method (a preflight, a 405); a path
no route takes (a 404 from the web UI, a slash redirect) under its area's (``UNCLAIMED``):
Relay's CORS among the ingest routes, none elsewhere. ``RoutePolicies`` says which policy a path
has; the app hands it to the CORS layer and the guard, which keep no lists of open paths.

``INGEST`` and ``OPEN`` routes are served by ``LeanRouter``, a plain ASGI dispatcher: a regex
match and the handler, with no Starlette router, middleware or exception layers in between (they
cost more than the rest of a small envelope's request). ``GUARDED`` routes are Starlette routes
under the guard middleware. A route's body limit reaches its handler in the request scope
(``decoding.BODY_LIMIT``), where ingest and ``read_api_body`` read it.
"""

from __future__ import annotations

import enum
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route, compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from .api.checks import ChecksApi
from .api.faults import FaultsApi
from .api.params import ApiError
from .api.routes import QueryApi
from .api.rules import RulesApi
from .api.transfer import TransferApi
from .ingest.decoding import BODY_LIMIT
from .ingest.endpoints import Ingest, error_response
from .protocol.errors import IngestError
from .settings.values import Limits
from .webapi import chunks
from .webapi.routes import MAX_FILE_UPLOAD_SIZE, WebApi

logger = logging.getLogger("sentry_stub")
Handler = Callable[[Request], Awaitable[Response]]


class Policy(enum.Enum):
    """Who may call a route, and with which cross-origin headers."""

    INGEST = "any Host and Origin; Relay's CORS"
    OPEN = "any Host and Origin; no CORS"
    GUARDED = "allowed hosts, no cross-site writes; no CORS"


# The policy of a path no route takes, by its first matching prefix (else ``GUARDED``): Relay's
# CORS under /api/ except for the web API and Relay's own routes; health check areas open.
# A path with "." or ".." segments is never an area's: what serves it (the web UI's static
# files) resolves the segments, so /api/1/../index.html is the web UI and must be guarded.
UNCLAIMED: tuple[tuple[str, Policy], ...] = (
    ("/api/relay/healthcheck/", Policy.OPEN),
    ("/api/0/relays/live/", Policy.OPEN),
    ("/api/relay/", Policy.GUARDED),
    ("/api/0/", Policy.GUARDED),
    ("/api/", Policy.INGEST),
)


@dataclass(frozen=True)
class Endpoint:
    path: str
    methods: tuple[str, ...]
    handler: Handler
    policy: Policy
    body_limit: int = 0  # the most bytes of (decoded) body read; 0: the body is not read
    # Answered only with ``Authorization: Bearer`` (every route of the web API sentry-cli calls,
    # see ``web`` below): a header no page of another origin can send without a preflight, so
    # a POST here need not be JSON (sentry-cli posts its uploads multipart).
    bearer_token: bool = False


@dataclass(frozen=True)
class Handlers:
    """The objects whose methods answer the routes."""

    ingest: Ingest
    query: QueryApi
    checks: ChecksApi
    faults: FaultsApi
    rules: RulesApi
    transfer: TransferApi
    webapi: WebApi
    ready: Handler  # Relay's readiness check, which asks the database


def endpoints(h: Handlers, limits: Limits) -> list[Endpoint]:
    """Every route the server answers; paths no route claims get the web UI's files."""
    i, q, w = h.ingest, h.query, h.webapi
    p, a = "/api/{project_id}", "/stub/api"
    org, project = "/api/0/organizations/{org}", "/api/0/projects/{org}/{project}"
    rel = f"{org}/releases/{{version}}"
    post, get, put, delete = ("POST",), ("GET",), ("PUT",), ("DELETE",)
    event, envelope = limits.max_event_size, limits.max_envelope_size
    attachments, api = limits.max_attachments_size, limits.max_api_payload_size
    get_post, check_in = ("GET", "POST"), limits.max_check_in_size

    def ingest(path: str, methods: tuple[str, ...], handler: Handler, limit: int) -> Endpoint:
        return Endpoint(path, methods, handler, Policy.INGEST, limit)

    def open_(path: str, handler: Handler) -> Endpoint:
        return Endpoint(path, get, handler, Policy.OPEN)

    def guarded(path: str, methods: tuple[str, ...], handler: Handler, limit: int = 0) -> Endpoint:
        return Endpoint(path, methods, handler, Policy.GUARDED, limit)

    def web(path: str, methods: tuple[str, ...], handler: Handler, limit: int = 0) -> Endpoint:
        """A web API route sentry-cli calls: guarded, and only with a bearer token."""
        token_required = w.token_required(handler)
        return Endpoint(path, methods, token_required, Policy.GUARDED, limit, bearer_token=True)

    def releases(scope: str) -> list[Endpoint]:
        """What sentry-cli does to releases, under ``scope``: an organization or a project."""
        release, upload = f"{scope}/releases/{{version}}", MAX_FILE_UPLOAD_SIZE
        return [
            web(f"{scope}/releases/", get, w.list_releases),
            web(f"{scope}/releases/", post, w.create_release, api),
            web(f"{release}/", get, w.get_release),
            web(f"{release}/", put, w.update_release, api),
            web(f"{release}/", delete, w.delete_release),
            web(f"{release}/files/", get, w.list_files),
            web(f"{release}/files/", post, w.upload_file, upload),
            web(f"{release}/files/{{file_id:int}}/", delete, w.delete_file),
        ]

    return [
        # ingest, as Relay answers it (first: the lean router tries routes in this order)
        ingest(f"{p}/envelope/", post, i.envelope, envelope),
        ingest("/tunnel", post, i.tunnel, envelope),
        ingest(f"{p}/store/", get, i.store, 0),  # the event is in the query string
        ingest(f"{p}/store/", post, i.store, event),
        ingest("/api/store/", get, i.store, 0),
        ingest("/api/store/", post, i.store, event),
        ingest(f"{p}/minidump/", post, i.minidump, attachments),
        ingest(f"{p}/events/{{event_id}}/attachments/", post, i.attachments, attachments),
        ingest(f"{p}/unreal/{{sentry_key}}/", post, i.unreal, attachments),
        ingest(f"{p}/security/", post, i.security, event),
        ingest(f"{p}/csp-report/", post, i.security, event),
        ingest(f"{p}/nel/", post, i.nel, limits.max_container_size),
        ingest(f"{p}/cron/{{monitor_slug}}/{{sentry_key}}/", get_post, i.cron, check_in),
        ingest(f"{p}/cron/{{monitor_slug}}/", get_post, i.cron, check_in),
        # Relay's health checks
        open_("/api/relay/healthcheck/ready/", h.ready),
        open_("/api/relay/healthcheck/live/", healthy),
        open_("/api/0/relays/live/", healthy),
        # the stub's own query API (pytest plugin, CLI, web UI)
        guarded(f"{a}/openapi.json", get, q.openapi),
        guarded(f"{a}/cursor", get, q.cursor),
        guarded(f"{a}/wait", get, q.wait),
        guarded(f"{a}/projects", get, q.list_projects),
        guarded(f"{a}/projects", post, q.create_project, api),
        guarded(f"{a}/events", get, q.events),
        guarded(f"{a}/events/{{event_id}}", get, q.event),
        guarded(f"{a}/envelopes", get, q.envelopes),
        guarded(f"{a}/items", get, q.items),
        guarded(f"{a}/items/{{item_id:int}}/content", get, q.item_content),
        guarded(f"{a}/rows/{{kind}}", get, q.rows),
        guarded(f"{a}/traces", get, q.traces),
        guarded(f"{a}/summary", get, q.summary),
        guarded(f"{a}/explain", get, q.explain),
        guarded(f"{a}/discover", get, q.discover),
        guarded(f"{a}/query", get, q.pipe_query),
        guarded(f"{a}/reset", post, q.reset),
        guarded(f"{a}/releases", get, q.releases),
        guarded(f"{a}/checks/pii", get, h.checks.pii),
        guarded(f"{a}/checks/sampling", get, h.checks.sampling),
        guarded(f"{a}/checks/releases", get, h.checks.releases),
        guarded(f"{a}/checks/sourcemaps", get, h.checks.sourcemaps),
        guarded(f"{a}/faults", get, h.faults.list_faults),
        guarded(f"{a}/faults", post, h.faults.add_fault, api),
        guarded(f"{a}/faults", delete, h.faults.clear_faults),
        guarded(f"{a}/faults/{{fault_id:int}}", delete, h.faults.remove_fault),
        guarded(f"{a}/alerts", get, h.rules.alerts),
        guarded(f"{a}/alerts/evaluate", post, h.rules.evaluate),
        guarded(f"{a}/issues", get, h.rules.issues),
        guarded(f"{a}/issues/{{issue_id:int}}/resolve", post, h.rules.resolve),
        guarded(f"{a}/owners", post, h.rules.owners_of_body, api),
        guarded(f"{a}/owners/{{event_id}}", get, h.rules.owners_of_event),
        guarded(f"{a}/forwards", get, h.transfer.forwards),
        guarded(f"{a}/export", get, h.transfer.export),
        guarded(f"{a}/import", post, h.transfer.import_, api),  # sent in batches (exports.py)
        # Sentry's web API: Discover, and what sentry-cli calls (bearer token on all but /api/0/)
        guarded(f"{org}/events/", get, w.organization_events),
        guarded("/api/0/", get, w.auth_info),
        *releases(org),
        *releases(project),
        web(f"{rel}/deploys/", get, w.list_deploys),
        web(f"{rel}/deploys/", post, w.create_deploy, api),
        web(f"{rel}/commits/", get, w.commits),
        web(f"{rel}/previous-with-commits/", get, w.previous_with_commits),
        web(f"{org}/repos/", get, w.repos),
        web(f"{org}/chunk-upload/", get, w.chunk_upload_options),
        web(f"{org}/chunk-upload/", post, w.upload_chunks, chunks.MAX_REQUEST_SIZE),
        web(f"{org}/artifactbundle/assemble/", post, w.assemble_artifact_bundle, api),
        web(f"{rel}/assemble/", post, w.assemble_release_bundle, api),
    ]


def starlette_routes(table: Sequence[Endpoint]) -> list[Route]:
    """The ``GUARDED`` routes, for the Starlette app under the guard middleware."""
    return [
        Route(e.path, _with_body_limit(e.handler, e.body_limit), methods=list(e.methods))
        for e in table
        if e.policy is Policy.GUARDED
    ]


class RoutePolicies:
    """The policy a request path is answered under: its route's, else its area's (``UNCLAIMED``).

    A path answers under one policy whatever the method, so a preflight (``OPTIONS``, which no
    route lists) and a wrong method get their route's CORS, as Relay's CORS layer grants them.
    """

    def __init__(self, table: Sequence[Endpoint]):
        self.routes = [(compile_path(e.path)[0], e) for e in table]

    def __call__(self, path: str) -> Policy:
        for regex, endpoint in self.routes:
            if regex.match(path):
                return endpoint.policy
        if _has_dot_segments(path):
            return Policy.GUARDED
        area = path.rstrip("/") + "/"  # /api/0 is the web API's area as /api/0/ is
        return next((p for prefix, p in UNCLAIMED if area.startswith(prefix)), Policy.GUARDED)

    def is_ingest(self, path: str) -> bool:
        """Whether Relay's CORS answers this path (``ingest/cors.py``)."""
        return self(path) is Policy.INGEST

    def is_open(self, path: str) -> bool:
        """Whether any Host and Origin may call this path (``ingest/guard.py`` lets it pass)."""
        return self(path) is not Policy.GUARDED

    def needs_json(self, method: str, path: str) -> bool:
        """Whether a write of ``method`` to ``path`` must say JSON (``ingest/guard.py``): where a
        route without a bearer token takes it. A route behind the token is protected by that
        header, and a request no route takes changes nothing (its answer is a 404 or a 405)."""
        return any(
            not endpoint.bearer_token and method in endpoint.methods and regex.match(path)
            for regex, endpoint in self.routes
        )


def _has_dot_segments(path: str) -> bool:
    segments = unquote(path).replace("\\", "/").split("/")
    return "." in segments or ".." in segments


def _with_body_limit(handler: Handler, limit: int) -> Handler:
    async def endpoint(request: Request) -> Response:
        request.scope[BODY_LIMIT] = limit
        return await handler(request)

    return functools.wraps(handler)(endpoint)  # Starlette names the route after its endpoint


class LeanRouter:
    """The ``INGEST`` and ``OPEN`` routes as a plain ASGI app; other requests go to ``fallback``.

    It answers as Starlette's router did for them: 405 with ``Allow`` for a method the path does
    not take, a 307 redirect when only the trailing slash differs, and errors as the app's
    exception handlers answer them.
    """

    def __init__(self, table: Sequence[Endpoint], fallback: ASGIApp):
        self.fallback = fallback
        self.routes = [_Compiled(e) for e in table if e.policy is not Policy.GUARDED]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.fallback(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        allowed: set[str] = set()
        for route in self.routes:
            params = route.match(path)
            if params is None:
                continue
            if method not in route.methods:
                allowed |= route.methods
                continue
            scope["path_params"] = params
            scope[BODY_LIMIT] = route.body_limit
            await self._handle(route.handler, scope, receive, send)
            return
        response: Response | None = None
        if allowed:
            allow = ", ".join(sorted(allowed))
            response = PlainTextResponse("Method Not Allowed", 405, headers={"Allow": allow})
        elif other := self._other_slash(path):
            response = RedirectResponse(URL(scope={**scope, "path": other}), 307)
        if response is None:
            await self.fallback(scope, receive, send)
        else:
            await response(scope, receive, send)

    async def _handle(self, handler: Handler, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await handler(request)
        except Exception as error:
            response = await error_answer(request, error)
        await response(scope, receive, send)

    def _other_slash(self, path: str) -> str | None:
        """``path`` with its trailing slash added or removed, if a lean route takes that."""
        other = path.removesuffix("/") if path.endswith("/") else f"{path}/"
        if other != path and any(r.match(other) is not None for r in self.routes):
            return other
        return None


class _Compiled:
    """An endpoint with its path compiled as Starlette compiles it (same parameter syntax)."""

    def __init__(self, endpoint: Endpoint):
        self.regex, _, self.convertors = compile_path(endpoint.path)
        methods = set(endpoint.methods)
        self.methods = methods | {"HEAD"} if "GET" in methods else methods  # as Starlette
        self.handler = endpoint.handler
        self.body_limit = endpoint.body_limit

    def match(self, path: str) -> dict[str, Any] | None:
        found = self.regex.match(path)
        if found is None:
            return None
        return {
            name: self.convertors[name].convert(value) for name, value in found.groupdict().items()
        }


async def healthy(request: Request) -> Response:
    return JSONResponse({"is_healthy": True})


async def error_answer(request: Request, error: Exception) -> Response:
    """The answer to an exception a handler raised, on either path."""
    if isinstance(error, IngestError):
        return error_response(error)
    if isinstance(error, ApiError):
        return JSONResponse({"detail": error.detail, **error.extra}, status_code=error.status)
    logger.exception("unexpected error handling %s %s", request.method, request.url.path)
    return JSONResponse(
        {"detail": f"internal error: {type(error).__name__}: {error}"}, status_code=500
    )
