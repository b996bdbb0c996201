"""What sentry-cli told about releases, read back: releases, deploys, files, artifact bundles.

The web API (``webapi/``) writes these tables and answers sentry-cli from them; the stub's own
``/stub/api/releases`` lists each release with all of it (``release_records``). Both read here,
so ``api/`` does not import ``webapi/``.
"""

from __future__ import annotations

import sqlite3

from .row_dicts import dict_rows, json_column

# The columns listings show; `content` is left out.
FILE_COLUMNS = (
    "id, org, artifact_bundle_id, release, dist, name, type, debug_id, sourcemap, headers,"
    " size, sha1, date_created"
)


def list_releases(
    connection: sqlite3.Connection, org: str | None = None, project: str | None = None
) -> list[dict]:
    """Releases, newest first; ``org`` and ``project`` (a slug) narrow the list."""
    releases = dict_rows(
        connection,
        "SELECT * FROM releases WHERE ? IS NULL OR org = ? ORDER BY id DESC",
        (org, org),
    )
    if project is None:
        return releases
    return [r for r in releases if project in json_column(r["projects"], [])]


def list_deploys(connection: sqlite3.Connection, org: str, version: str) -> list[dict]:
    return dict_rows(
        connection,
        "SELECT * FROM deploys WHERE org = ? AND version = ? ORDER BY id",
        (org, version),
    )


def deploy_json(deploy: dict) -> dict:
    return {
        "id": str(deploy["id"]),
        "environment": deploy["environment"],
        "name": deploy["name"],
        "url": deploy["url"],
        "dateStarted": deploy["date_started"],
        "dateFinished": deploy["date_finished"],
        "projects": json_column(deploy["projects"], []),
    }


def release_files(connection: sqlite3.Connection, org: str, release: str) -> list[dict]:
    """The files of a release, newest first (without their content)."""
    return dict_rows(
        connection,
        f"SELECT {FILE_COLUMNS} FROM release_files WHERE org = ? AND release = ? ORDER BY id DESC",
        (org, release),
    )


def bundles_of_release(connection: sqlite3.Connection, org: str, release: str) -> list[dict]:
    return dict_rows(
        connection,
        "SELECT * FROM artifact_bundles WHERE org = ? AND release = ? ORDER BY id",
        (org, release),
    )


def release_records(
    connection, *, org: str | None, project: str | None, version: str | None
) -> list[dict]:
    """Each release with all that sentry-cli told about it: commits, deploys, files."""
    records = []
    for release in list_releases(connection, org, project):
        if version is not None and release["version"] != version:
            continue
        org_, name = release["org"], release["version"]
        records.append(
            {
                "org": org_,
                "version": name,
                "projects": json_column(release["projects"], []),
                "status": release["status"],
                "url": release["url"],
                "ref": release["ref"],
                "date_created": release["date_created"],
                "date_started": release["date_started"],
                "date_released": release["date_released"],
                "finalized": release["date_released"] is not None,
                "commits": json_column(release["commits"], []),
                "refs": json_column(release["refs"], []),
                "deploys": [deploy_json(d) for d in list_deploys(connection, org_, name)],
                "files": [_file_record(f) for f in release_files(connection, org_, name)],
                "artifact_bundles": [
                    _bundle_record(b) for b in bundles_of_release(connection, org_, name)
                ],
            }
        )
    return records


def _file_record(file: dict) -> dict:
    return {**file, "headers": json_column(file["headers"], {})}


def _bundle_record(bundle: dict) -> dict:
    return {**bundle, "projects": json_column(bundle["projects"], [])}
