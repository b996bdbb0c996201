"""Release files: the source files and source maps a release (or a debug id) resolves to.

They arrive in artifact bundles (every current sentry-cli) or, from old 2.x setups, one by one
(``POST releases/<version>/files/``). Either way each file becomes a ``release_files`` row
keyed by (org, release, dist, url) and by debug id, with its bytes stored in SQLite: nothing a
client names is ever written to disk.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence

import orjson

from ..storage.release_reads import FILE_COLUMNS
from ..storage.row_dicts import dict_rows, json_column
from .artifact_bundles import ArtifactBundle
from .values import now_iso


def find_bundle(
    connection: sqlite3.Connection, org: str, checksum: str, release: str | None, dist: str | None
) -> dict | None:
    """A bundle already assembled from the same bytes for the same release and dist."""
    rows = dict_rows(
        connection,
        "SELECT * FROM artifact_bundles WHERE org = ? AND checksum = ?"
        " AND release IS ? AND dist IS ?",
        (org, checksum, release, dist),
    )
    return rows[0] if rows else None


def save_bundle(
    connection: sqlite3.Connection,
    *,
    org: str,
    checksum: str,
    bundle: ArtifactBundle,
    size: int,
    release: str | None,
    dist: str | None,
    projects: Sequence[str],
) -> int:
    """Index ``bundle`` and store its files; returns the bundle's row id."""
    uploaded = now_iso()
    cursor = connection.execute(
        "INSERT INTO artifact_bundles (org, checksum, debug_id, release, dist, projects,"
        " file_count, size, date_uploaded) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            org,
            checksum,
            bundle.debug_id,
            release,
            dist,
            orjson.dumps(list(projects)).decode(),
            len(bundle.files),
            size,
            uploaded,
        ),
    )
    bundle_row = cursor.lastrowid
    assert bundle_row is not None, "an INSERT sets it"
    connection.executemany(
        "INSERT INTO release_files (org, artifact_bundle_id, release, dist, name, type, debug_id,"
        " sourcemap, headers, size, sha1, content, date_created)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                org,
                bundle_row,
                release,
                dist,
                file.url or file.path,
                file.type,
                file.debug_id,
                file.sourcemap,
                orjson.dumps(file.headers).decode(),
                len(file.content),
                hashlib.sha1(file.content).hexdigest(),
                file.content,
                uploaded,
            )
            for file in bundle.files
        ],
    )
    return bundle_row


def save_release_file(
    connection: sqlite3.Connection,
    *,
    org: str,
    release: str,
    dist: str | None,
    name: str,
    headers: dict[str, str],
    content: bytes,
) -> dict | None:
    """Store one file uploaded on its own (2.x); ``None`` when one of that name and dist exists.

    Such uploads say nothing about the file's type, so ``type`` stays empty.
    """
    exists = connection.execute(
        "SELECT 1 FROM release_files WHERE org = ? AND release = ? AND dist IS ? AND name = ?",
        (org, release, dist, name),
    ).fetchone()
    if exists:
        return None
    lowered = {key.lower(): value for key, value in headers.items()}
    cursor = connection.execute(
        "INSERT INTO release_files (org, release, dist, name, debug_id, sourcemap, headers,"
        " size, sha1, content, date_created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            org,
            release,
            dist,
            name,
            lowered.get("debug-id"),
            lowered.get("sourcemap") or lowered.get("x-sourcemap"),
            orjson.dumps(headers).decode(),
            len(content),
            hashlib.sha1(content).hexdigest(),
            content,
            now_iso(),
        ),
    )
    return dict_rows(
        connection, f"SELECT {FILE_COLUMNS} FROM release_files WHERE id = ?", (cursor.lastrowid,)
    )[0]


def delete_release_file(
    connection: sqlite3.Connection, org: str, release: str, file_id: int
) -> bool:
    cursor = connection.execute(
        "DELETE FROM release_files WHERE org = ? AND release = ? AND id = ?",
        (org, release, file_id),
    )
    return cursor.rowcount > 0


def artifact_json(file: dict) -> dict:
    """A release file as the legacy files endpoint lists it (sentry-cli's ``Artifact``)."""
    return {
        "id": str(file["id"]),
        "name": file["name"],
        "dist": file["dist"],
        "size": file["size"],
        "sha1": file["sha1"],
        "headers": json_column(file["headers"], {}),
        "dateCreated": file["date_created"],
    }
