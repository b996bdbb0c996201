"""The ingest routes' handlers, answering as Relay answers (their paths: ``routing.py``).

Every route follows the same path: authenticate, read and decode the body within its size limit,
turn it into an envelope, check it, and hand it to the writer. The response is sent only after
the writer has committed, so an acknowledged envelope is never lost.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

import anyio.to_thread
import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..protocol.envelope import (
    EnvelopeError,
    ParsedEnvelope,
    dashed,
    parse_envelope,
    serialize_envelope,
)
from ..protocol.errors import IngestError
from ..protocol.item_types import INTERNAL_TYPES
from ..protocol.limits import check_envelope_limits
from ..settings.values import DEFAULT_PROJECT_ID, Limits, Project
from ..storage.database import Database
from ..storage.projects import KEY_LENGTH, ProjectRegistry
from ..storage.received import Received, store_envelope
from ..storage.schema import INT64_MAX, stored_integer
from .auth import (
    PROTOCOL_VERSION,
    Auth,
    auth_from_envelope,
    authenticate,
    check_envelope_meta,
    check_protocol_version,
    request_origin,
)
from .budget import BodyBudget, Reservation
from .cron import envelope_from_cron
from .decoding import BODY_LIMIT, announced_length, parse_content_encoding, read_request_body
from .fault_responses import answer_with_faults
from .faults import FaultRules
from .minidump import envelope_from_attachment_upload, envelope_from_minidump
from .security import envelope_from_nel, envelope_from_security_report
from .store import envelope_from_store, envelope_from_store_get
from .unreal import envelope_from_unreal

PIXEL_GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)

BodyParser = Callable[[bytes], ParsedEnvelope]
PARSE_ON_LOOP = 1024 * 1024  # bytes of body parsed on the event loop; larger ones in a thread


class Ingest:
    """The state the ingest routes share: limits, known projects, fault rules, the database."""

    def __init__(
        self,
        limits: Limits,
        projects: ProjectRegistry,
        database: Database,
        faults: FaultRules | None = None,
    ):
        self.limits = limits
        self.budget = BodyBudget(limits.max_in_flight_size)
        self.projects = projects
        self.database = database
        self.faults = faults or FaultRules()
        # What acknowledging writes, called (connection, received=...); forwarding adds the
        # envelope's forward-queue row to it.
        self.store_received: Callable[..., int] = store_envelope

    # --- routes -------------------------------------------------------------------------

    async def envelope(self, request: Request) -> Response:
        envelope_id = await self._accept(request, "envelope", _parse, envelope_auth=True)
        return _id_response(envelope_id)

    async def tunnel(self, request: Request) -> Response:
        """The browser SDK's ``tunnel`` target: the envelope header's ``dsn`` says where it goes."""
        envelope_id = await self._accept(request, "tunnel", _parse, envelope_auth=True)
        return _id_response(envelope_id)

    async def store(self, request: Request) -> Response:
        if request.method == "GET":
            data = request.query_params.get("sentry_data", "")
            await self._accept(
                request,
                "store",
                lambda _: envelope_from_store_get(data, client=self._client_name(request)),
            )
            return Response(PIXEL_GIF, media_type="image/gif")
        content_type = request.headers.get("content-type")
        client = self._client_name(request)
        parse: BodyParser = partial(
            envelope_from_store, content_type=content_type, client=client, limits=self.limits
        )
        event_id = await self._accept(request, "store", parse)
        return _id_response(event_id)

    async def minidump(self, request: Request) -> Response:
        parse = partial(
            _minidump, content_type=request.headers.get("content-type"), limits=self.limits
        )
        event_id = await self._accept(request, "minidump", parse)
        return Response(dashed(event_id or uuid.uuid4().hex), media_type="text/plain")

    async def attachments(self, request: Request) -> Response:
        event_id = request.path_params["event_id"]
        parse = partial(
            _attachments,
            content_type=request.headers.get("content-type"),
            event_id=event_id,
            limits=self.limits,
        )
        await self._accept(request, "attachments", parse)
        return Response(status_code=201)

    async def unreal(self, request: Request) -> Response:
        user_id = request.query_params.get("UserID")
        parse = partial(_unreal, user_id=user_id, limits=self.limits)
        event_id = await self._accept(
            request,
            "unreal",
            parse,
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
        await self._accept(request, "security", parse)
        return Response(status_code=200)

    async def nel(self, request: Request) -> Response:
        parse = partial(_nel, content_type=request.headers.get("content-type"))
        await self._accept(request, "nel", parse)
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
        envelope_auth: bool = False,
        path_key: str | None = None,
    ) -> str | None:
        """Store what ``request`` carries; returns the event id to answer with.

        The checks run in Relay's order (encoding, path, auth, key, version, body, framing,
        limits, project), so a request with several faults gets the answer Relay gives. The
        body is read up to the route's limit (``routing.endpoints``); with none it is not read.
        """
        with self.budget.reserve() as reservation:
            return await self._accept_within(
                request, endpoint, parse, reservation, envelope_auth, path_key
            )

    async def _accept_within(
        self,
        request: Request,
        endpoint: str,
        parse: BodyParser,
        reservation: Reservation,
        envelope_auth: bool,
        path_key: str | None,
    ) -> str | None:
        """``_accept`` with the body's bytes taken from ``reservation``."""
        received_at = time.time()
        headers = _first_values(request.scope["headers"])
        encodings = parse_content_encoding(headers.get("content-encoding"))
        url_project = _url_project(request.path_params.get("project_id"))
        notes: list[str] = []
        query = request.scope["query_string"].decode("latin-1")
        auth = authenticate(headers, query, path_key=path_key)
        if auth is not None:
            self._check_key(auth, notes)
            check_protocol_version(auth)
        body = b""
        limit = request.scope[BODY_LIMIT]
        if limit:
            body = await read_request_body(
                request.stream(),
                encodings,
                limit,
                content_length=announced_length(headers.get("content-length")),
                reservation=reservation,
                timeout=self.limits.body_timeout or None,
            )
        if auth is None:
            if not envelope_auth:
                raise IngestError(401, "missing authorization information")
            auth = auth_from_envelope(body)
            self._check_key(auth, notes)
        if envelope_auth and not body:
            raise IngestError(400, "empty request body")
        try:
            envelope = await _off_loop_if_large(parse, body)
        except EnvelopeError as error:
            raise IngestError(400, "invalid event envelope", [error.describe()]) from None
        check_envelope_meta(
            envelope.headers, auth, url_project=url_project, origin=request_origin(headers)
        )
        # Where Relay raises "envelope contains internal items" is unsettled (spec section 13);
        # refusing them is the documented safe answer: clients must never send them.
        if any(item.type in INTERNAL_TYPES for item in envelope.items):
            raise IngestError(400, "invalid event envelope", ["envelope contains internal items"])
        check_envelope_limits(envelope, self.limits)
        project = self._project_for(url_project, auth, notes)
        if auth.source == "query" and auth.version < PROTOCOL_VERSION:
            notes.append(f"sentry_version {auth.version} is older than the current protocol (7)")
        event_id = envelope.event_id
        if event_id is None and envelope.requires_event_id():
            event_id = uuid.uuid4().hex
        if endpoint in ("envelope", "tunnel"):
            raw = body
        else:
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
            client=auth.client or headers.get("user-agent"),
            remote_addr=request.client.host if request.client else None,
            notes=notes,
        )
        await self._store_with_faults(request, received)
        return event_id

    async def _store_with_faults(self, request: Request, received: Received) -> None:
        """Store ``received`` as the fault rules allow: all of it, some items, or nothing.

        Failing, delayed and rate-limited answers are explained in ``ingest/faults.py``.
        """
        envelope = received.envelope
        verdict = self.faults.judge(
            received.project, received.endpoint, envelope, received.public_key
        )
        kept = None if verdict.failure else verdict.kept(envelope)
        if kept is not None:
            if kept is not envelope:
                received = replace(received, dropped=verdict.limited)
            await self.database.write(partial(self.store_received, received=received))
        await answer_with_faults(request.scope, verdict, envelope)

    def _check_key(self, auth: Auth, notes: list[str]) -> None:
        """Relay requires 32-character keys; open mode takes others and notes the difference."""
        key = auth.public_key
        if len(key) == KEY_LENGTH and key.isascii():
            return
        if self.projects.strict:
            if auth.source == "envelope":
                raise IngestError(
                    401, "bad envelope authentication header", ["invalid project key"]
                )
            raise IngestError(400, "bad sentry DSN public key", ["invalid project key"])
        notes.append(
            f"public key {key!r} has {len(key)} characters; Relay requires 32 and would "
            "answer 400 'bad sentry DSN public key'"
        )

    def _project_for(self, url_project: int | None, auth: Auth, notes: list[str]) -> Project:
        """The project to store in: the URL's, the tunnel DSN's, or (``/api/store/``) the key's.

        With auth from the envelope's ``dsn`` Relay ignores the project id in the URL and uses
        the DSN's; the stub does the same and notes it when the two differ.
        """
        project_id = url_project
        if auth.dsn_project_id is not None:
            dsn_project = int(auth.dsn_project_id)
            if url_project is not None and url_project != dsn_project:
                notes.append(
                    f"the URL names project {url_project} but the envelope's dsn names project "
                    f"{dsn_project}; Relay sends it to the dsn's project"
                )
            project_id = dsn_project
        key = auth.public_key
        if project_id is None:
            by_key = self.projects.by_key(key)
            project_id = by_key.id if by_key else None
        if self.projects.strict:
            project = self.projects.get(project_id) if project_id is not None else None
            if project is None or key not in project.keys:
                raise IngestError(403, "event submission rejected with_reason: ProjectId")
            return project
        return self.projects.for_ingest(project_id or DEFAULT_PROJECT_ID, key)

    @staticmethod
    def _client_name(request: Request) -> str | None:
        auth = authenticate(request.headers, request.url.query)
        return auth.client if auth else None


async def _off_loop_if_large(parse: BodyParser, body: bytes) -> ParsedEnvelope:
    """Parse on the event loop, or in a worker thread when the body would stall other clients.

    Below ``PARSE_ON_LOOP`` bytes parsing costs less than the hop to a thread (measured: a
    1 MiB envelope parses in ~0.4 ms, a thread hop ~0.35 ms on a busy machine).
    """
    if len(body) < PARSE_ON_LOOP:
        return parse(body)
    return await anyio.to_thread.run_sync(parse, body)


def _parse(body: bytes) -> ParsedEnvelope:
    return parse_envelope(body)


def _minidump(body: bytes, *, content_type: str | None, limits: Limits) -> ParsedEnvelope:
    return envelope_from_minidump(content_type, body, limits)


def _attachments(
    body: bytes, *, content_type: str | None, event_id: str, limits: Limits
) -> ParsedEnvelope:
    return envelope_from_attachment_upload(content_type, body, event_id=event_id, limits=limits)


def _unreal(body: bytes, *, user_id: str | None, limits: Limits) -> ParsedEnvelope:
    return envelope_from_unreal(body, user_id=user_id, limits=limits)


def _security(body: bytes, **options: str | None) -> ParsedEnvelope:
    content_type = options.pop("content_type")
    return envelope_from_security_report(content_type, body, **options)


def _nel(body: bytes, *, content_type: str | None) -> ParsedEnvelope:
    return envelope_from_nel(content_type, body)


def _cron(
    body: bytes, *, monitor_slug: str, content_type: str | None, query: dict
) -> ParsedEnvelope:
    return envelope_from_cron(monitor_slug, content_type=content_type, body=body, query=query)


def _first_values(raw_headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """The request's headers as a plain dict (the first of repeated ones, as Starlette's)."""
    headers: dict[str, str] = {}
    for name, value in raw_headers:
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return headers


def _url_project(value: str | None) -> int | None:
    """The project id in the URL path (None on routes without one)."""
    if value is None:
        return None
    project_id = stored_integer(value)
    if project_id is None and value.isascii() and value.isdigit():
        # Relay's ProjectId is a u64; the stub stores ids in SQLite, whose integers end at 2^63-1.
        raise IngestError(
            400, "bad project path parameter", [f"project id {value[:40]} is past {INT64_MAX}"]
        )
    if project_id is None:
        raise IngestError(400, "bad project path parameter")
    return project_id


class _JSONResponse(JSONResponse):
    """Starlette's JSON answer, encoded by orjson (the same compact bytes, sooner)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _id_response(event_id: str | None) -> JSONResponse:
    return _JSONResponse({"id": event_id} if event_id else {})


def error_response(error: IngestError) -> JSONResponse:
    return _JSONResponse(error.body(), status_code=error.status, headers=error.headers)
