"""Deploys: a release went out to an environment (``sentry-cli deploys new -e production``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ..storage.row_dicts import dict_rows
from .values import (
    BodyError,
    now_iso,
    optional_string,
    optional_timestamp,
    project_list,
)

# Sentry's Environment.is_valid_name: at most 64 characters, no slash or line break.
MAX_ENVIRONMENT_LENGTH = 64
BAD_ENVIRONMENT_CHARACTERS = "\r\n\f\t/"


@dataclass(frozen=True)
class DeployRequest:
    environment: str
    name: str | None
    url: str | None
    date_started: str | None
    date_finished: str | None
    projects: tuple[str | int, ...]


def parse_deploy(body: Mapping[str, Any]) -> DeployRequest:
    environment = body.get("environment")
    if not isinstance(environment, str) or not environment:
        raise BodyError("'environment' is required (sentry-cli: --env/-e)")
    if len(environment) > MAX_ENVIRONMENT_LENGTH or any(
        c in environment for c in BAD_ENVIRONMENT_CHARACTERS
    ):
        raise BodyError(
            f"'environment' {environment!r} is not a valid environment name "
            f"(at most {MAX_ENVIRONMENT_LENGTH} characters, no slashes or line breaks)"
        )
    return DeployRequest(
        environment=environment,
        name=optional_string(body, "name", max_length=64),
        url=optional_string(body, "url", max_length=2048),
        date_started=optional_timestamp(body, "dateStarted"),
        date_finished=optional_timestamp(body, "dateFinished"),
        projects=tuple(project_list(body)),
    )


def create_deploy(
    connection: sqlite3.Connection,
    release: dict,
    deploy: DeployRequest,
    projects: Sequence[str],
) -> dict:
    """Record the deploy of ``release``; it finished now unless the request says when."""
    cursor = connection.execute(
        "INSERT INTO deploys (org, version, environment, name, url, date_started, date_finished,"
        " projects) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            release["org"],
            release["version"],
            deploy.environment,
            deploy.name,
            deploy.url,
            deploy.date_started,
            deploy.date_finished or now_iso(),
            orjson.dumps(list(projects)).decode(),
        ),
    )
    return dict_rows(connection, "SELECT * FROM deploys WHERE id = ?", (cursor.lastrowid,))[0]
