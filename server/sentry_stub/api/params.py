"""Reading requests of the stub's own APIs: parameters and bodies, with errors that name them."""

from __future__ import annotations

import math

import orjson
from starlette.requests import Request

from ..ingest.decoding import read_api_body
from ..storage import reader
from ..storage.projects import ProjectRegistry
from ..storage.schema import INT64_MAX, stored_integer


class ApiError(Exception):
    """A refusal: HTTP ``status`` with ``{"detail": ..., **extra}``."""

    def __init__(self, status: int, detail: str, **extra: object):
        self.status = status
        self.detail = detail
        self.extra = extra


class Params:
    """Query-string parameters with errors that name the parameter."""

    def __init__(self, request: Request):
        self.query = request.query_params

    def text(self, name: str) -> str:
        return self.query.get(name, "")

    def list(self, name: str) -> list[str]:
        """Repeated parameters; ``type`` also takes a comma-separated list."""
        values = self.query.getlist(name)
        if name == "type":
            return [part for value in values for part in value.split(",") if part]
        return values

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("1", "true", "yes")

    def integer(
        self, name: str, default: int, *, minimum: int = 0, maximum: int | None = None
    ) -> int:
        value = self.query.get(name)
        if value in (None, ""):
            return default
        if value.startswith("-") and stored_integer(value[1:]) is not None:
            raise ApiError(400, f"parameter {name!r} must not be negative")
        number = stored_integer(value)
        if number is None:
            raise ApiError(
                400, f"parameter {name!r} must be an integer from 0 to {INT64_MAX}, got {value!r}"
            )
        if number < minimum:
            raise ApiError(400, f"parameter {name!r} must be at least {minimum}")
        if maximum is not None and number > maximum:
            raise ApiError(400, f"parameter {name!r} must be at most {maximum}")
        return number

    def number(self, name: str, default: float) -> float:
        value = self.query.get(name)
        if value in (None, ""):
            return default
        try:
            number = float(value)
        except ValueError:
            raise ApiError(400, f"parameter {name!r} must be a number, got {value!r}") from None
        if not number >= 0:
            raise ApiError(400, f"parameter {name!r} must not be negative")
        if not math.isfinite(number):
            raise ApiError(400, f"parameter {name!r} must be a finite number, got {value!r}")
        return number

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.query.get(name, default)
        if value not in choices:
            raise ApiError(400, f"parameter {name!r} must be one of {', '.join(choices)}")
        return value


def project_ids_of(params: Params, projects: ProjectRegistry) -> list[int]:
    """The ``project`` parameters (slugs or ids; Sentry's ``-1`` means all) as project ids."""
    ids = []
    for value in params.list("project"):
        if value == "-1":
            continue
        project_id = project_id_of(value, "project")
        if project_id is not None:
            ids.append(project_id)
            continue
        project = projects.by_slug(value)
        if project is None:
            raise ApiError(404, f"no project with slug {value!r}")
        ids.append(project.id)
    return ids


def path_id(request: Request, name: str) -> int:
    """The row id ``name`` of the path: Starlette's ``int`` takes any digits, SQLite's integers
    stop at ``INT64_MAX`` (past it the query would fail, not find nothing)."""
    value: int = request.path_params[name]
    if value > INT64_MAX:
        raise ApiError(400, f"path parameter {name!r} must be at most {INT64_MAX}, got {value}")
    return value


def project_id_of(value: str, parameter: str) -> int | None:
    """A numeric project id in ``parameter`` (None: a slug); 400 when out of SQLite's range."""
    if not value.lstrip("-").isdigit():
        return None
    project_id = stored_integer(value)
    if project_id is None:
        raise ApiError(
            400, f"parameter {parameter!r}: project id {value!r} is not from 0 to {INT64_MAX}"
        )
    return project_id


def scope_of(params: Params, projects: ProjectRegistry) -> reader.Scope:
    """What a reader may see: ``after`` (a receive cursor), ``project`` and ``key`` filters."""
    return reader.Scope(
        after=params.integer("after", 0),
        project_ids=tuple(project_ids_of(params, projects)),
        public_keys=tuple(params.list("key")),
    )


async def json_body(request: Request) -> dict:
    """The JSON object a request carries, within the limits of every API body (decoding.py)."""
    try:
        body = orjson.loads(await read_api_body(request))
    except orjson.JSONDecodeError as error:
        raise ApiError(400, f"request body is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object")
    return body
