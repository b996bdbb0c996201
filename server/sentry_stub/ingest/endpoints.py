"""The ingest routes, answering as Relay answers.

Every route follows the same path: authenticate, read and decode the body within its size limit,
turn it into an envelope, check it, and hand it to the writer. The response is sent only after
the writer has committed, so an acknowledged envelope is never lost.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from functools import partial

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..config import Project
from ..storage.database import Database
from ..storage.projects import KEY_LENGTH, ProjectRegistry
from ..storage.records import Received, store_envelope
from .auth import Auth, auth_from_dsn, authenticate
from .cron import envelope_from_cron
from .decoding import parse_content_encoding, read_body
from .envelope import (
    INTERNAL_TYPES,
    Envelope,
    EnvelopeError,
    dashed,
    parse_envelope,
    serialize_envelope,
)
from .errors import IngestError
from .limits import Limits, check_envelope_limits
from .minidump import envelope_from_minidump
from .security import envelope_from_nel, envelope_from_security_report
from .store import envelope_from_store, envelope_from_store_get
from .unreal import envelope_from_unreal

ENVELOPE_CONTENT_TYPE = "application/x-sentry-envelope"
PIXEL_GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)

BodyParser = Callable[[bytes], Envelope]


class Ingest:
    """The state the ingest routes share: limits, known projects and the database."""

    def __init__(self, limits: Limits, projects: ProjectRegistry, database: Database):
        self.limits = limits
        self.projects = projects
        self.database = database

    def routes(self) -> list[Route]:
        p = "/api/{project_id}"
        return [
            Route(f"{p}/envelope/", self.envelope, methods=["POST"]),
            Route("/tunnel", self.tunnel, methods=["POST"]),
            Route(f"{p}/store/", self.store, methods=["GET", "POST"]),
            Route("/api/store/", self.store, methods=["GET", "POST"]),
            Route(f"{p}/minidump/", self.minidump, methods=["POST"]),
            Route(f"{p}/events/{{event_id}}/attachments/", self.attachments, methods=["POST"]),
            Route(f"{p}/unreal/{{sentry_key}}/", self.unreal, methods=["POST"]),
            Route(f"{p}/security/", self.security, methods=["POST"]),
            Route(f"{p}/csp-report/", self.security, methods=["POST"]),
            Route(f"{p}/nel/", self.nel, methods=["POST"]),
            Route(f"{p}/cron/{{monitor_slug}}/{{sentry_key}}/", self.cron, methods=["GET", "POST"]),
            Route(f"{p}/cron/{{monitor_slug}}/", self.cron, methods=["GET", "POST"]),
        ]

    # --- routes -------------------------------------------------------------------------

    async def envelope(self, request: Request) -> Response:
        envelope_id = await self._accept(
            request, "envelope", _parse, limit=self.limits.max_envelope_size, envelope_auth=True
        )
        return _id_response(envelope_id)

    async def tunnel(self, request: Request) -> Response:
        """The browser SDK's ``tunnel`` target: the envelope header's ``dsn`` says where it goes."""
        envelope_id = await self._accept(
            request, "tunnel", _parse, limit=self.limits.max_envelope_size, envelope_auth=True
        )
        return _id_response(envelope_id)

    async def store(self, request: Request) -> Response:
        if request.method == "GET":
            data = request.query_params.get("sentry_data", "")
            envelope_id = await self._accept(
                request, "store", lambda _: envelope_from_store_get(data), limit=0
            )
            return Response(PIXEL_GIF, media_type="image/gif")
        content_type = request.headers.get("content-type")
        client = self._client_name(request)
        parse: BodyParser = partial(envelope_from_store, content_type=content_type, client=client)
        event_id = await self._accept(request, "store", parse, limit=self.limits.max_event_size)
        return _id_response(event_id)

    async def minidump(self, request: Request) -> Response:
        parse = partial(
            _minidump, content_type=request.headers.get("content-type"), limits=self.limits
        )
        event_id = await self._accept(
            request, "minidump", parse, limit=self.limits.max_attachments_size
        )
        return Response(dashed(event_id or uuid.uuid4().hex), media_type="text/plain")

    async def attachments(self, request: Request) -> Response:
        event_id = request.path_params["event_id"]
        parse = partial(
            _attachments,
            content_type=request.headers.get("content-type"),
            event_id=event_id,
            limits=self.limits,
        )
        await self._accept(request, "attachments", parse, limit=self.limits.max_attachments_size)
        return Response(status_code=201)

    async def unreal(self, request: Request) -> Response:
        user_id = request.query_params.get("UserID")
        parse = partial(_unreal, user_id=user_id, limits=self.limits)
        event_id = await self._accept(
            request,
            "unreal",
            parse,
            limit=self.limits.max_attachments_size,
            path_key=request.path_params["sentry_key"],
        )
        return Response(dashed(event_id or uuid.uuid4().hex), media_type="text/plain")

    async def security(self, request: Request) -> Response:
        parse = partial(
            _security,
            content_type=request.headers.get("content-type"),
            release=request.query_params.get("sentry_release"),
            environment=request.query_params.get("sentry_environment"),
            origin=request.headers.get("origin"),
        )
        await self._accept(request, "security", parse, limit=self.limits.max_event_size)
        return Response(status_code=200)

    async def nel(self, request: Request) -> Response:
        parse = partial(_nel, content_type=request.headers.get("content-type"))
        await self._accept(request, "nel", parse, limit=self.limits.max_container_size)
        return Response(status_code=200)

    async def cron(self, request: Request) -> Response:
        parse = partial(
            _cron,
            monitor_slug=request.path_params["monitor_slug"],
            content_type=request.headers.get("content-type"),
            query=dict(request.query_params),
        )
        await self._accept(
            request,
            "cron",
            parse,
            limit=self.limits.max_check_in_size,
            path_key=request.path_params.get("sentry_key"),
        )
        return Response(status_code=202)

    # --- the common path ----------------------------------------------------------------

    async def _accept(
        self,
        request: Request,
        endpoint: str,
        parse: BodyParser,
        *,
        limit: int,
        envelope_auth: bool = False,
        path_key: str | None = None,
    ) -> str | None:
        """Store what ``request`` carries; returns the event id to answer with."""
        received_at = time.time()
        url_project = request.path_params.get("project_id")
        auth = authenticate(request.headers, request.url.query, path_key=path_key)
        encodings = parse_content_encoding(request.headers.get("content-encoding"))
        body = await read_body(request.stream(), encodings, limit) if limit else b""
        try:
            envelope = parse(body)
        except EnvelopeError as error:
            raise IngestError(400, "invalid event envelope", [error.describe()]) from None
        auth = self._auth_for(envelope, auth, url_project, request, envelope_auth)
        project_id = _project_id(url_project if url_project is not None else auth.dsn_project_id)
        notes: list[str] = []
        project = self._project_for(project_id, auth, notes)
        if auth.source == "query" and auth.version < 7:
            notes.append(f"sentry_version {auth.version} is older than the current protocol (7)")
        check_envelope_limits(envelope, self.limits)
        internal = [item.type for item in envelope.items if item.type in INTERNAL_TYPES]
        if internal:
            raise IngestError(400, "invalid event envelope", ["envelope contains internal items"])
        event_id = envelope.event_id
        if event_id is None and envelope.requires_event_id():
            event_id = uuid.uuid4().hex
        raw = body if endpoint in ("envelope", "tunnel") and _is_envelope(body) else None
        if raw is None:
            raw = serialize_envelope(envelope)
            envelope = parse_envelope(raw)
        received = Received(
            envelope=envelope,
            raw=raw,
            project=project,
            endpoint=endpoint,
            public_key=auth.public_key,
            received_at=received_at,
            event_id=event_id,
            client=auth.client or request.headers.get("user-agent"),
            remote_addr=request.client.host if request.client else None,
            notes=notes,
        )
        await self.database.write(partial(store_envelope, received=received))
        return event_id

    def _auth_for(
        self,
        envelope: Envelope,
        auth: Auth | None,
        url_project: str | None,
        request: Request,
        envelope_auth: bool,
    ) -> Auth:
        dsn = envelope.headers.get("dsn")
        if auth is None:
            if not envelope_auth:
                raise IngestError(401, "missing authorization information")
            if dsn is None:
                raise IngestError(401, "missing authorization information")
            auth = auth_from_dsn(dsn)
            if url_project is not None and auth.dsn_project_id != url_project:
                raise _mismatch("project id")
        elif dsn is not None:
            from_dsn = auth_from_dsn(dsn)
            if url_project is not None and from_dsn.dsn_project_id != url_project:
                raise _mismatch("project id")
            if from_dsn.public_key != auth.public_key:
                raise _mismatch("public key")
        origin = envelope.headers.get("origin")
        if origin is not None and request.headers.get("origin") not in (None, origin):
            raise _mismatch("origin")
        return auth

    def _project_for(self, project_id: int, auth: Auth, notes: list[str]) -> Project:
        key = auth.public_key
        if len(key) != KEY_LENGTH or not key.isascii():
            if self.projects.strict:
                raise IngestError(400, "bad sentry DSN public key", ["invalid project key"])
            notes.append(
                f"public key {key!r} has {len(key)} characters; Relay requires 32 and would "
                "answer 400 'bad sentry DSN public key'"
            )
        if self.projects.strict:
            project = self.projects.get(project_id)
            if project is None or key not in project.keys:
                raise IngestError(403, "event submission rejected with_reason: ProjectId")
            return project
        return self.projects.for_ingest(project_id, key)

    @staticmethod
    def _client_name(request: Request) -> str | None:
        auth = authenticate(request.headers, request.url.query)
        return auth.client if auth else None


def _parse(body: bytes) -> Envelope:
    return parse_envelope(body)


def _is_envelope(body: bytes) -> bool:
    return bool(body.strip())


def _minidump(body: bytes, *, content_type: str | None, limits: Limits) -> Envelope:
    return envelope_from_minidump(content_type, body, limits)


def _attachments(
    body: bytes, *, content_type: str | None, event_id: str, limits: Limits
) -> Envelope:
    envelope = envelope_from_minidump(content_type, body, limits, require_minidump=False)
    envelope.headers["event_id"] = event_id
    return envelope


def _unreal(body: bytes, *, user_id: str | None, limits: Limits) -> Envelope:
    return envelope_from_unreal(body, user_id=user_id, limits=limits)


def _security(body: bytes, **options: str | None) -> Envelope:
    content_type = options.pop("content_type")
    return envelope_from_security_report(content_type, body, **options)


def _nel(body: bytes, *, content_type: str | None) -> Envelope:
    return envelope_from_nel(content_type, body)


def _cron(body: bytes, *, monitor_slug: str, content_type: str | None, query: dict) -> Envelope:
    return envelope_from_cron(monitor_slug, content_type=content_type, body=body, query=query)


def _project_id(value: str | None) -> int:
    if value is None or not value.isdigit():
        raise IngestError(400, "bad project path parameter")
    return int(value)


def _mismatch(what: str) -> IngestError:
    return IngestError(
        400, "invalid event envelope", [f"{what} header mismatch between envelope and request"]
    )


def _id_response(event_id: str | None) -> JSONResponse:
    return JSONResponse({"id": event_id} if event_id else {})


def error_response(error: IngestError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)
