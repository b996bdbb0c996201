"""The ASGI application: ingest routes, the query API, health checks, and their shared state."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .api.checks import ChecksApi
from .api.faults import FaultsApi
from .api.params import ApiError
from .api.routes import QueryApi
from .api.rules import RulesApi
from .api.transfer import TransferApi
from .config import Settings
from .forwarding.forwarder import Forwarder
from .ingest.cors import CORSMiddleware
from .ingest.endpoints import Ingest
from .ingest.fault_responses import FaultResponses
from .ingest.faults import FaultRules
from .ingest.guard import RequestGuard
from .processing.derivation import Deriver
from .protocol.errors import IngestError
from .routing import (
    Handlers,
    LeanRouter,
    RoutePolicies,
    endpoints,
    error_answer,
    starlette_routes,
)
from .rules.actions import Dispatcher
from .storage.database import Database
from .storage.projects import ProjectRegistry
from .ui import web_ui
from .webapi.auth import TokenPolicy
from .webapi.routes import WebApi


class StubApp:
    """The server as an ASGI callable.

    It enters Starlette through its middleware stack rather than ``Starlette.__call__``, which
    sentry-sdk's Starlette integration patches: an app under test that calls ``sentry_sdk.init``
    in the same process must not make the stub trace or report its own requests.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self.projects = ProjectRegistry(settings)
        self.database = Database(settings.db, Deriver(self.projects))
        self.faults = FaultRules(settings.faults)
        ingest = Ingest(settings.limits, self.projects, self.database, self.faults)
        faults = FaultsApi(self.faults, self.projects)
        api = QueryApi(settings, self.projects, self.database)
        checks = ChecksApi(settings, self.projects, self.database)
        rules = RulesApi(settings, self.projects, self.database)
        transfer = TransferApi(self.projects, self.database)
        hosts = settings.host_allow_list
        tokens = TokenPolicy(settings.strict, frozenset(settings.auth_tokens), hosts)
        webapi = WebApi(self.projects, self.database, tokens, api)  # sentry-cli's, Discover
        # Alert actions are carried out after each commit, off the ingest path.
        self.dispatcher = Dispatcher(self.database, self.projects, settings.base_url)
        if settings.rules.any_alerts:  # only alert rules make firings to deliver
            self.database.commit_listeners.append(self.dispatcher.wake)
        # Envelopes forwarded upstream are queued in their commit and sent after it.
        self.forwarder = Forwarder(self.database, settings.forward_to)
        if settings.forward_to or any(p.forward_to for p in settings.projects):
            ingest.store_received = self.forwarder.store
            self.database.commit_listeners.append(self.forwarder.wake)
        handlers = Handlers(ingest, api, checks, faults, rules, transfer, webapi, ready=self._ready)
        self.endpoints = endpoints(handlers, settings.limits)
        # CORS and the guard ask the route table which policy a path is answered under.
        self.policies = RoutePolicies(self.endpoints)
        error_answers = {IngestError: error_answer, ApiError: error_answer, Exception: error_answer}
        self.starlette = Starlette(
            routes=starlette_routes(self.endpoints),
            # Outside ingest, only allowed hosts and no cross-site writes (ingest/guard.py).
            middleware=[
                Middleware(
                    RequestGuard,
                    hosts=hosts,
                    is_open=self.policies.is_open,
                    needs_json=self.policies.needs_json,
                )
            ],
            exception_handlers=error_answers,
            lifespan=self._lifespan,
        )
        # Every API body is read within the limits of ingest's (decoding.read_api_body).
        self.starlette.state.limits = settings.limits
        self.starlette.state.body_budget = ingest.budget
        # The web UI answers the paths no route claims: a wrong method on an API route
        # still gets its 405, and a missing trailing slash its redirect.
        self.starlette.router.default = web_ui()
        self._app: ASGIApp | None = None

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.open()
        try:
            yield
        finally:
            self.close()

    def open(self) -> None:
        self.database.open()
        self.projects.load(self.database.reader())
        self.dispatcher.start()
        self.forwarder.start()

    def close(self) -> None:
        self.dispatcher.stop()
        self.forwarder.stop()  # before the writer stops: it records the send in flight
        self.database.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self.starlette
        if self._app is None:
            # Fault rules outermost, so that one can drop the connection itself; Relay's CORS
            # on the ingest routes; then the lean routes, and Starlette for the rest.
            stack = self.starlette.build_middleware_stack()
            lean = LeanRouter(self.endpoints, stack)
            self._app = FaultResponses(CORSMiddleware(lean, self.policies.is_ingest))
        await self._app(scope, receive, send)

    async def _ready(self, request: Request) -> Response:
        """Relay's readiness check: not ready (503, naming the cause) while commits fail."""
        fault = await self.database.ready()
        if fault is None:
            return JSONResponse({"is_healthy": True})
        return JSONResponse(
            {"is_healthy": False, **fault.body()}, status_code=503, headers=fault.headers
        )
