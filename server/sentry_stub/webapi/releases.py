"""Releases as Sentry's web API keeps them: created, given commits, finalized, archived.

A release is identified by its organization and version. Creating is an upsert, because
sentry-cli posts the same release again from ``set-commits``, ``archive`` and ``restore``:
an existing release gains any new projects and takes whatever fields the request carries.
Finalizing sets ``date_released``; ``set-commits`` replaces the commits (local git mode) or the
refs (repository mode).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ..storage.row_dicts import dict_rows, json_column
from .values import (
    BodyError,
    now_iso,
    object_list,
    optional_string,
    optional_timestamp,
    project_list,
)

# Sentry's Release.is_valid_version: no control characters or slashes, no reserved names.
BAD_VERSION_CHARACTERS = "\r\n\f\t/\\"
RESERVED_VERSIONS = frozenset({".", "..", " ", "latest"})
MAX_VERSION_LENGTH = 200
STATUSES = ("open", "archived")


@dataclass(frozen=True)
class ReleaseChanges:
    """What a create or update request asks for; ``None`` leaves a field as it is."""

    projects: tuple[str | int, ...] = ()
    date_started: str | None = None
    date_released: str | None = None
    url: str | None = None
    ref: str | None = None
    status: str | None = None
    commits: list[dict] | None = None
    refs: list[dict] | None = None


def check_version(version: Any) -> str:
    if not isinstance(version, str) or not version:
        raise BodyError("'version' must be a non-empty string")
    if len(version) > MAX_VERSION_LENGTH:
        raise BodyError(f"'version' must be at most {MAX_VERSION_LENGTH} characters")
    if version in RESERVED_VERSIONS or any(c in version for c in BAD_VERSION_CHARACTERS):
        raise BodyError(
            f"'version' {version!r} is not a valid release: no slashes, backslashes or "
            "line breaks, and not '.', '..', ' ' or 'latest'"
        )
    return version


def parse_changes(body: Mapping[str, Any]) -> ReleaseChanges:
    """The fields of a release request (unknown fields are ignored, as Sentry does)."""
    status = optional_string(body, "status")
    if status is not None and status not in STATUSES:
        raise BodyError(f"'status' must be one of {', '.join(STATUSES)}, got {status!r}")
    commits = object_list(body, "commits")
    for index, commit in enumerate(commits or ()):
        if not isinstance(commit.get("id"), str) or not commit["id"]:
            raise BodyError(f"commits[{index}] has no string 'id' (the commit SHA)")
    refs = object_list(body, "refs")
    for index, ref in enumerate(refs or ()):
        if not isinstance(ref.get("repository"), str) or not isinstance(ref.get("commit"), str):
            raise BodyError(f"refs[{index}] needs string 'repository' and 'commit'")
    return ReleaseChanges(
        projects=tuple(project_list(body)),
        date_started=optional_timestamp(body, "dateStarted"),
        date_released=optional_timestamp(body, "dateReleased"),
        url=optional_string(body, "url", max_length=2048),
        ref=optional_string(body, "ref", max_length=1024),
        status=status,
        commits=commits,
        refs=refs,
    )


# --- storage (each function runs on a connection; writes inside the single writer) ----------


def find_release(connection: sqlite3.Connection, org: str, version: str) -> dict | None:
    rows = dict_rows(
        connection, "SELECT * FROM releases WHERE org = ? AND version = ?", (org, version)
    )
    return rows[0] if rows else None


def upsert_release(
    connection: sqlite3.Connection,
    org: str,
    version: str,
    projects: Sequence[str],
    changes: ReleaseChanges,
) -> tuple[dict, bool]:
    """Get or create the release, add ``projects``, apply ``changes``.

    Returns the release and whether anything was new (created, or projects added): Sentry
    answers 201 then, and 208 otherwise.
    """
    release = find_release(connection, org, version)
    if release is None:
        connection.execute(
            "INSERT INTO releases (org, version, projects, date_created, status, commits, refs)"
            " VALUES (?, ?, ?, ?, 'open', '[]', '[]')",
            (org, version, orjson.dumps(list(dict.fromkeys(projects))).decode(), now_iso()),
        )
        created = find_release(connection, org, version)
        assert created is not None, "the release was inserted just above"
        return update_release(connection, created, changes), True
    known = json_column(release["projects"], [])
    added = [slug for slug in dict.fromkeys(projects) if slug not in known]
    if added:
        connection.execute(
            "UPDATE releases SET projects = ? WHERE id = ?",
            (orjson.dumps(known + added).decode(), release["id"]),
        )
    return update_release(connection, release, changes), bool(added)


def update_release(connection: sqlite3.Connection, release: dict, changes: ReleaseChanges) -> dict:
    """Apply the fields ``changes`` carries (projects are not changed here)."""
    columns = {
        "date_started": changes.date_started,
        "date_released": changes.date_released,
        "url": changes.url,
        "ref": changes.ref,
        "status": changes.status,
        "commits": _json_or_none(changes.commits),
        "refs": _json_or_none(changes.refs),
    }
    updates = {name: value for name, value in columns.items() if value is not None}
    if updates:
        assignments = ", ".join(f"{name} = ?" for name in updates)
        connection.execute(
            f"UPDATE releases SET {assignments} WHERE id = ?", (*updates.values(), release["id"])
        )
    return dict_rows(connection, "SELECT * FROM releases WHERE id = ?", (release["id"],))[0]


def delete_release(connection: sqlite3.Connection, release: dict) -> None:
    """Delete the release and its deploys (uploaded files stay, as artifact bundles do)."""
    connection.execute("DELETE FROM releases WHERE id = ?", (release["id"],))
    connection.execute(
        "DELETE FROM deploys WHERE org = ? AND version = ?", (release["org"], release["version"])
    )


def previous_with_commits(connection: sqlite3.Connection, release: dict) -> dict | None:
    """The newest release created before ``release`` in the same organization, sharing one
    of its projects, that has commits: sentry-cli walks local history back to its last commit."""
    projects = set(json_column(release["projects"], []))
    for candidate in dict_rows(
        connection,
        "SELECT * FROM releases WHERE org = ? AND id < ? AND commits != '[]' ORDER BY id DESC",
        (release["org"], release["id"]),
    ):
        if not projects or projects & set(json_column(candidate["projects"], [])):
            return candidate
    return None


# --- JSON as the web API answers it -----------------------------------------------------------


def release_json(release: dict) -> dict:
    """Sentry's release serialization: the fields sentry-cli reads, and a few more."""
    commits = json_column(release["commits"], [])
    return {
        "version": release["version"],
        "shortVersion": release["version"],
        "ref": release["ref"],
        "url": release["url"],
        "status": release["status"],
        "dateCreated": release["date_created"],
        "dateStarted": release["date_started"],
        "dateReleased": release["date_released"],
        "newGroups": 0,
        "lastEvent": None,
        "commitCount": len(commits),
        "lastCommit": commit_json(commits[0]) if commits else None,
        "authors": [],
        "data": {},
        "projects": [{"slug": slug, "name": slug} for slug in json_column(release["projects"], [])],
    }


def commit_json(commit: Mapping[str, Any]) -> dict:
    """A commit as ``set-commits`` sent it, in the shape Sentry lists commits."""
    return {
        "id": commit["id"],
        "message": commit.get("message"),
        "dateCreated": commit.get("timestamp"),
        "author": {"name": commit.get("author_name"), "email": commit.get("author_email")},
        "repository": commit.get("repository"),
    }


def _json_or_none(value: list | None) -> str | None:
    return None if value is None else orjson.dumps(value).decode()
