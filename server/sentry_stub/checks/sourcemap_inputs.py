"""What the source map check reads: JavaScript events and the artifacts they can resolve against.

Artifacts are the ``release_files`` rows the web API stored (from artifact bundles, or uploaded
one by one by sentry-cli 2.x). A bundle counts for an event when it names the event's project
(or names none); a file uploaded alone belongs to its release only. Reads are cached per
release and per debug id for one check, since many events share them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from ..storage import reader
from ..storage.placeholders import placeholders
from .sourcemaps import (
    JAVASCRIPT_PLATFORMS,
    Artifact,
    Artifacts,
    JsEvent,
    js_event,
    url_candidates,
)

_FILES = """SELECT f.id, f.name, COALESCE(f.type, ''), f.release, NULLIF(f.dist, ''),
    f.debug_id, f.sourcemap, f.content FROM release_files f
    LEFT JOIN artifact_bundles b ON b.id = f.artifact_bundle_id
    WHERE {condition} AND (b.id IS NULL OR NOT EXISTS (SELECT 1 FROM json_each(b.projects))
        OR EXISTS (SELECT 1 FROM json_each(b.projects) WHERE value = ?))
    ORDER BY f.id DESC"""


def js_event_item_ids(connection: sqlite3.Connection, scope: reader.Scope) -> list[int]:
    """The JavaScript events a scope sees, by their indexed platform (no JSON read)."""
    where, params = scope.where("e")
    marks = placeholders(JAVASCRIPT_PLATFORMS)
    rows = connection.execute(
        f"SELECT e.item_id FROM events e WHERE e.platform IN ({marks})"
        f" AND {' AND '.join(where)} ORDER BY e.item_id",
        (*JAVASCRIPT_PLATFORMS, *params),
    ).fetchall()
    return [row[0] for row in rows]


def js_events(connection: sqlite3.Connection, item_ids: Sequence[int]) -> list[JsEvent]:
    """The JavaScript events among ``item_ids``, in receive order."""
    records = reader.events_by_item_ids(connection, item_ids)
    return [event for record in records if (event := js_event(record)) is not None]


class ArtifactReader:
    """The artifacts of each event, each release and debug id read once."""

    def __init__(self, connection: sqlite3.Connection):
        self.connection = connection
        self._releases: dict[tuple[str | None, str], tuple[Artifact, ...]] = {}
        self._debug_ids: dict[tuple[str | None, str], tuple[Artifact, ...]] = {}

    def for_event(self, event: JsEvent) -> Artifacts:
        of_release = self._release(event.project, event.release) if event.release else ()
        return Artifacts(
            of_release=of_release,
            by_debug_id={
                debug_id: self._debug_id(event.project, debug_id)
                for debug_id in set(event.debug_ids.values())
            },
            releases_by_url=self._releases_by_url(event) if not of_release else {},
        )

    def _release(self, project: str | None, release: str) -> tuple[Artifact, ...]:
        key = (project, release)
        if key not in self._releases:
            self._releases[key] = self._files("f.release = ?", release, project)
        return self._releases[key]

    def _debug_id(self, project: str | None, debug_id: str) -> tuple[Artifact, ...]:
        key = (project, debug_id)
        if key not in self._debug_ids:
            self._debug_ids[key] = self._files("f.debug_id = ?", debug_id, project)
        return self._debug_ids[key]

    def _files(self, condition: str, value: str, project: str | None) -> tuple[Artifact, ...]:
        rows = self.connection.execute(
            _FILES.format(condition=condition), (value, project or "")
        ).fetchall()
        return tuple(Artifact(*row) for row in rows)

    def _releases_by_url(self, event: JsEvent) -> dict[str, tuple[str, ...]]:
        """For a miss: which other releases have the URLs of the event's frames."""
        urls = sorted(_candidates(frame.abs_path for frame in event.frames))
        if not urls:
            return {}
        marks = placeholders(urls)
        found: dict[str, set[str]] = {}
        for name, release in self.connection.execute(
            f"SELECT DISTINCT name, release FROM release_files"
            f" WHERE name IN ({marks}) AND release IS NOT NULL AND release IS NOT ?",
            (*urls, event.release),
        ):
            found.setdefault(name, set()).add(release)
        return {name: tuple(sorted(releases)) for name, releases in found.items()}


def _candidates(abs_paths: Iterable[str | None]) -> set[str]:
    return {name for path in abs_paths if path for name in url_candidates(path)}


def has_artifacts(connection: sqlite3.Connection, event: JsEvent) -> bool:
    """Whether anything was uploaded that the event could resolve against: a file of its
    release, or one with the debug id of one of its files."""
    checks = [("f.release = ?", event.release)] if event.release else []
    checks += [("f.debug_id = ?", debug_id) for debug_id in set(event.debug_ids.values())]
    return any(
        connection.execute(
            f"SELECT 1 FROM ({_FILES.format(condition=condition)}) LIMIT 1",
            (value, event.project or ""),
        ).fetchone()
        for condition, value in checks
    )
