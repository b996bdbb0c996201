"""Projects and their keys: the configured ones, and in open mode those created on first use."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from ..protocol.errors import IngestError
from ..settings.values import DEFAULT_PROJECT_ID, DEFAULT_PROJECT_SLUG, Project, generated_key

if TYPE_CHECKING:
    from ..config import Settings

KEY_LENGTH = 32
# Sentry's MIXED_SLUG_PATTERN (sentry/slug/patterns.py): lowercase letters, digits, "_" and "-",
# not all digits; at most 50 characters, the project slug field's length.
SLUG = re.compile(r"(?![0-9]+\Z)[a-z0-9_\-]{1,50}\Z")


class InvalidSlug(IngestError, ValueError):
    """A project slug Sentry would refuse: 400, naming the slug."""

    def __init__(self, slug: str):
        super().__init__(
            400,
            f"invalid project slug {slug[:80]!r}",
            [
                "a slug has 1 to 50 lowercase letters, digits, underscores or hyphens and is not "
                "entirely numeric (as Sentry validates slugs)"
            ],
        )


class ProjectRegistry:
    """The projects the server knows, shared by the request handlers and the writer."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._by_id: dict[int, Project] = {}
        for project in settings.projects:
            self._by_id[project.id] = project
        if not settings.strict:
            self._by_id.setdefault(DEFAULT_PROJECT_ID, self._open_project(DEFAULT_PROJECT_ID))

    @property
    def strict(self) -> bool:
        return self.settings.strict

    def all(self) -> list[Project]:
        with self._lock:
            return sorted(self._by_id.values(), key=lambda p: p.id)

    def get(self, project_id: int) -> Project | None:
        with self._lock:
            return self._by_id.get(project_id)

    def by_slug(self, slug: str) -> Project | None:
        with self._lock:
            return next((p for p in self._by_id.values() if p.slug == slug), None)

    def by_key(self, public_key: str) -> Project | None:
        with self._lock:
            return next((p for p in self._by_id.values() if public_key in p.keys), None)

    def for_ingest(self, project_id: int, public_key: str) -> Project:
        """The project an envelope is for; in open mode, created (in memory) on first use."""
        with self._lock:
            project = self._by_id.get(project_id)
            if project is None:
                project = self._open_project(project_id)
                self._by_id[project_id] = project
            if public_key not in project.keys and not self.strict:
                project = replace(project, keys=(*project.keys, public_key))
                self._by_id[project_id] = project
            return project

    def create(self, slug: str) -> Project:
        """A new open-mode project named ``slug`` (or the existing one of that name)."""
        if not SLUG.match(slug):
            raise InvalidSlug(slug)
        with self._lock:
            existing = next((p for p in self._by_id.values() if p.slug == slug), None)
            if existing is not None:
                return existing
            project_id = max(self._by_id, default=0) + 1
            project = Project(
                id=project_id,
                slug=slug,
                keys=(generated_key(f"sentry-stub:{slug}"),),
                scrubbing=self.settings.default_scrubbing,
                rules=self.settings.rules.for_project(slug),
            )
            self._by_id[project_id] = project
            return project

    def load(self, connection: sqlite3.Connection) -> None:
        """Remember open-mode projects and keys that an earlier run stored."""
        rows = connection.execute("SELECT id, slug FROM projects").fetchall()
        keys = connection.execute("SELECT public_key, project_id FROM project_keys").fetchall()
        with self._lock:
            for project_id, slug in rows:
                if project_id in self._by_id or self.strict:
                    continue
                project_keys = tuple(k for k, pid in keys if pid == project_id)
                self._by_id[project_id] = Project(
                    id=project_id,
                    slug=slug,
                    keys=project_keys or (generated_key(f"sentry-stub:{project_id}"),),
                    scrubbing=self.settings.default_scrubbing,
                    rules=self.settings.rules.for_project(slug),
                )

    def _open_project(self, project_id: int) -> Project:
        slug = DEFAULT_PROJECT_SLUG if project_id == DEFAULT_PROJECT_ID else f"project-{project_id}"
        return Project(
            id=project_id,
            slug=slug,
            keys=(generated_key(f"sentry-stub:{project_id}"),),
            scrubbing=self.settings.default_scrubbing,
            rules=self.settings.rules.for_project(slug),
        )


def save_project(connection: sqlite3.Connection, project: Project) -> None:
    """Persist a project and its keys (idempotent); runs inside the writer's transaction."""
    connection.execute(
        "INSERT OR IGNORE INTO projects (id, slug, created_at) VALUES (?, ?, ?)",
        (project.id, project.slug, time.time()),
    )
    connection.executemany(
        "INSERT OR IGNORE INTO project_keys (public_key, project_id) VALUES (?, ?)",
        [(key, project.id) for key in project.keys],
    )
