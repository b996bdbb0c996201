"""Sentry's web API (``/api/0/...``): the routes sentry-cli calls, and Discover.

Every ``/api/0/`` route but the auth probe and Discover wants a bearer token (any value in open
mode, see ``auth.TokenPolicy``; an org auth token must name the organization in the path).
Answers are JSON with ``Content-Type: application/json``, errors included, because sentry-cli
parses nothing else. Releases, deploys and files live per organization; any organization slug
is accepted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from functools import partial, wraps

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..api.params import ApiError, json_body, path_id
from ..api.routes import QueryApi
from ..ingest.decoding import read_api_body
from ..ingest.multipart import Part, boundary_of, parse_multipart
from ..protocol.errors import IngestError
from ..storage.database import Database
from ..storage.projects import ProjectRegistry
from ..storage.release_reads import deploy_json, list_deploys, list_releases, release_files
from ..storage.row_dicts import json_column
from . import chunks, deploys, files, releases
from .artifact_bundles import ArtifactBundleError, parse_artifact_bundle
from .auth import TokenError, TokenPolicy
from .values import BodyError

Handler = Callable[[Request], Awaitable[Response]]
SCOPES = ["org:read", "project:read", "project:releases", "project:write", "event:read"]
MAX_FILE_UPLOAD_SIZE = chunks.MAX_REQUEST_SIZE


class WebApi:
    def __init__(
        self,
        projects: ProjectRegistry,
        database: Database,
        tokens: TokenPolicy,
        query: QueryApi,
    ):
        self.projects = projects
        self.database = database
        self.tokens = tokens
        self.query = query  # Discover: the stub's own, answered in Sentry's shape here

    # --- who is calling ----------------------------------------------------------------------

    async def auth_info(self, request: Request) -> Response:
        """``sentry-cli info``: who the token belongs to (anyone, for a local server)."""
        if "authorization" not in request.headers:
            return JSONResponse({"version": "0", "auth": None, "user": None})
        try:
            self.tokens.organization(request.headers["authorization"])
        except TokenError as error:
            raise ApiError(401, str(error)) from None
        user = {"id": "1", "name": "sentry-stub", "email": "sentry-stub@localhost"}
        return JSONResponse({"version": "0", "user": user, "auth": {"scopes": SCOPES}})

    def token_required(self, handler: Handler) -> Handler:
        """``handler`` behind the bearer token; body errors answered 400 naming the field."""

        @wraps(handler)
        async def endpoint(request: Request) -> Response:
            try:
                bound_org = self.tokens.organization(request.headers.get("authorization"))
            except TokenError as error:
                raise ApiError(401, str(error)) from None
            org = request.path_params.get("org")
            if bound_org is not None and org is not None and bound_org != org:
                raise ApiError(
                    403,
                    f"this org auth token is for organization {bound_org!r}, not {org!r} "
                    "(mint one with `sentry-stub token --org ORG`)",
                )
            try:
                return await handler(request)
            except BodyError as error:
                raise ApiError(400, str(error)) from None

        return endpoint

    # --- Discover -----------------------------------------------------------------------------

    async def organization_events(self, request: Request) -> Response:
        """Sentry's organization events endpoint: Discover, in Sentry's shape.

        Sentry answers ``{"data", "meta"}``; the query warnings go in ``meta.warnings``, where
        clients that know only Sentry's keys pass over them.
        """
        result, link = await self.query.discover_answer(request)
        result["meta"]["warnings"] = result.pop("warnings")
        return JSONResponse(result, headers={"link": link})

    # --- releases ----------------------------------------------------------------------------

    async def list_releases(self, request: Request) -> Response:
        org, project = request.path_params["org"], self._path_project(request)
        read = partial(list_releases, org=org, project=project)
        found = await self.database.read(read)
        return JSONResponse([releases.release_json(r) for r in found])

    async def create_release(self, request: Request) -> Response:
        """Get or create; 201 when something is new, 208 when the release was already so."""
        org = request.path_params["org"]
        body = await json_body(request)
        version = releases.check_version(body.get("version"))
        changes = releases.parse_changes(body)
        path_project = self._path_project(request)
        projects = self._project_slugs(changes.projects) + ([path_project] if path_project else [])

        def upsert(connection):
            exists = releases.find_release(connection, org, version) is not None
            if not exists and not projects:
                raise BodyError("'projects' must name at least one project for a new release")
            return releases.upsert_release(connection, org, version, projects, changes)

        release, new = await self.database.write(upsert)
        return JSONResponse(releases.release_json(release), status_code=201 if new else 208)

    async def get_release(self, request: Request) -> Response:
        release = await self.database.read(partial(self._release, request))
        return JSONResponse(releases.release_json(release))

    async def update_release(self, request: Request) -> Response:
        """Finalize (``dateReleased``), set commits or refs, archive or restore."""
        changes = releases.parse_changes(await json_body(request))

        def update(connection):
            return releases.update_release(connection, self._release(request, connection), changes)

        return JSONResponse(releases.release_json(await self.database.write(update)))

    async def delete_release(self, request: Request) -> Response:
        def delete(connection):
            releases.delete_release(connection, self._release(request, connection))

        await self.database.write(delete)
        return Response(status_code=204)

    async def commits(self, request: Request) -> Response:
        release = await self.database.read(partial(self._release, request))
        commits = json_column(release["commits"], [])
        return JSONResponse([releases.commit_json(commit) for commit in commits])

    async def previous_with_commits(self, request: Request) -> Response:
        """``{}`` when there is none: sentry-cli then sends up to 20 commits of local history."""

        def read(connection):
            release = self._release(request, connection)
            return releases.previous_with_commits(connection, release)

        previous = await self.database.read(read)
        return JSONResponse(releases.release_json(previous) if previous else {})

    async def repos(self, request: Request) -> Response:
        """No repository integrations: ``set-commits`` (``--auto`` included) then reads the
        commits from the local git history and sends them, so the stub records real commits."""
        return JSONResponse([])

    # --- deploys -----------------------------------------------------------------------------

    async def list_deploys(self, request: Request) -> Response:
        def read(connection):
            release = self._release(request, connection)
            return list_deploys(connection, org=release["org"], version=release["version"])

        return JSONResponse([deploy_json(d) for d in await self.database.read(read)])

    async def create_deploy(self, request: Request) -> Response:
        deploy = deploys.parse_deploy(await json_body(request))
        projects = self._project_slugs(deploy.projects)

        def create(connection):
            release = self._release(request, connection)
            return deploys.create_deploy(
                connection, release, deploy, projects or json_column(release["projects"], [])
            )

        return JSONResponse(deploy_json(await self.database.write(create)), 201)

    # --- chunk upload and artifact bundles ----------------------------------------------------

    async def chunk_upload_options(self, request: Request) -> Response:
        return JSONResponse(chunks.upload_options(str(request.url.replace(query=""))))

    async def upload_chunks(self, request: Request) -> Response:
        parts = await _multipart(request)
        received = chunks.chunks_from_parts(parts)
        await self.database.write(partial(chunks.store_chunks, chunks=received))
        return Response(status_code=200)

    async def assemble_artifact_bundle(self, request: Request) -> Response:
        """``sourcemaps upload``: first a probe for missing chunks, then the real assemble."""
        assemble = chunks.parse_assemble(await json_body(request))
        projects = self._project_slugs(assemble.projects)
        if not projects:
            raise BodyError("'projects' must name at least one project")
        org = request.path_params["org"]
        answer = await self._assemble(org, assemble, assemble.version, projects)
        return JSONResponse(answer)

    async def assemble_release_bundle(self, request: Request) -> Response:
        """2.x against a server without artifact bundles: a bundle bound to the path's release."""
        assemble = chunks.parse_assemble(await json_body(request))
        release = await self.database.read(partial(self._release, request))
        projects = json_column(release["projects"], [])
        answer = await self._assemble(release["org"], assemble, release["version"], projects)
        return JSONResponse(answer)

    async def _assemble(
        self,
        org: str,
        assemble: chunks.AssembleRequest,
        release: str | None,
        projects: Sequence[str],
    ) -> dict:
        """Assemble synchronously: the answer is ``ok`` once every chunk is there."""
        checksum, dist = assemble.checksum, assemble.dist

        def state(connection):
            done = files.find_bundle(connection, org, checksum, release, dist) is not None
            return done, chunks.missing_chunks(connection, assemble.chunks)

        done, missing = await self.database.read(state)
        if done:
            return chunks.assemble_response("ok")
        if missing:
            return chunks.assemble_response("not_found", missing)
        data = await self.database.read(partial(chunks.read_file, checksums=assemble.chunks))
        if hashlib.sha1(data).hexdigest() != checksum:
            detail = f"the chunks put together do not have the checksum {checksum}"
            return chunks.assemble_response("error", detail=detail)
        try:
            bundle = await run_in_threadpool(
                parse_artifact_bundle, data, max_size=chunks.MAX_FILE_SIZE
            )
        except ArtifactBundleError as error:
            return chunks.assemble_response("error", detail=f"invalid artifact bundle: {error}")
        await self.database.write(
            partial(
                files.save_bundle,
                org=org,
                checksum=checksum,
                bundle=bundle,
                size=len(data),
                release=release or bundle.attributes.get("release"),
                dist=dist or bundle.attributes.get("dist"),
                projects=projects,
            )
        )
        return chunks.assemble_response("ok")

    # --- files uploaded one by one (sentry-cli 2.x against old servers) -----------------------

    async def list_files(self, request: Request) -> Response:
        def read(connection):
            release = self._release(request, connection)
            return release_files(connection, org=release["org"], release=release["version"])

        return JSONResponse([files.artifact_json(f) for f in await self.database.read(read)])

    async def upload_file(self, request: Request) -> Response:
        """Multipart ``file`` with ``name`` (the URL), ``dist`` and ``header`` (``Key:Value``)."""
        parts = await _multipart(request)
        upload = next((part for part in parts if part.name == "file" and part.is_file), None)
        if upload is None:
            raise BodyError("the upload has no 'file' part")
        fields = {p.name: p.data.decode("utf-8", "replace") for p in parts if not p.is_file}
        name = fields.get("name") or upload.filename
        if not name:
            raise BodyError("the upload names no file ('name' field or the file's filename)")
        headers = dict(_header(part.data) for part in parts if part.name == "header")

        def save(connection):
            release = self._release(request, connection)
            return files.save_release_file(
                connection,
                org=release["org"],
                release=release["version"],
                dist=fields.get("dist") or None,
                name=name,
                headers=headers,
                content=upload.data,
            )

        saved = await self.database.write(save)
        if saved is None:
            raise ApiError(409, f"a file named {name!r} already exists for this release and dist")
        return JSONResponse(files.artifact_json(saved), status_code=201)

    async def delete_file(self, request: Request) -> Response:
        file_id = path_id(request, "file_id")

        def delete(connection):
            release = self._release(request, connection)
            return files.delete_release_file(
                connection, release["org"], release["version"], file_id
            )

        if not await self.database.write(delete):
            raise ApiError(404, f"no file {file_id} in this release")
        return Response(status_code=204)

    # --- helpers -------------------------------------------------------------------------------

    def _release(self, request: Request, connection) -> dict:
        """The release the path names (and, on project routes, of that project), else 404."""
        org, version = request.path_params["org"], request.path_params["version"]
        release = releases.find_release(connection, org, version)
        project = self._path_project(request)
        if release is None or (
            project is not None and project not in json_column(release["projects"], [])
        ):
            where = f"project {project!r}" if project else f"organization {org!r}"
            raise ApiError(404, f"Release not found: no release {version!r} in {where}")
        return release

    def _path_project(self, request: Request) -> str | None:
        slug = request.path_params.get("project")
        if slug is None:
            return None
        project = self.projects.by_slug(slug)
        if project is None and self.projects.strict:
            raise ApiError(404, f"Project not found: no project {slug!r} in the config")
        return (project or self.projects.create(slug)).slug

    def _project_slugs(self, values: Sequence[str | int]) -> list[str]:
        """Slugs for the projects a request names (by slug or numeric id).

        In open mode an unknown slug becomes a project, as a DSN's project does on first use.
        """
        slugs = []
        for value in values:
            if isinstance(value, int) or (value.isascii() and value.isdigit()):
                project = self.projects.get(int(value))
                if project is None:
                    raise BodyError(f"Invalid project ids or slugs: no project with id {value}")
            else:
                project = self.projects.by_slug(value)
                if project is None and self.projects.strict:
                    raise BodyError(
                        f"Invalid project ids or slugs: no project {value!r} in the config"
                    )
                project = project or self.projects.create(value)
            slugs.append(project.slug)
        return list(dict.fromkeys(slugs))


async def _multipart(request: Request) -> list[Part]:
    body = await read_api_body(request)
    try:
        return parse_multipart(body, boundary_of(request.headers.get("content-type")))
    except IngestError as error:
        raise BodyError("; ".join([error.detail, *error.causes])) from None


def _header(value: bytes) -> tuple[str, str]:
    text = value.decode("utf-8", "replace")
    key, separator, content = text.partition(":")
    if not separator or not key.strip():
        raise BodyError(f"'header' must look like 'Key:Value', got {text!r}")
    return key.strip(), content.strip()
