"""Artifact bundles: the zip that ``sentry-cli sourcemaps upload`` builds of a build's JS files.

A bundle is the 8-byte header ``SYSB`` + version (u32, little-endian) followed by a zip. The
zip holds ``manifest.json`` and the files under ``files/``. The manifest maps each member to its
``type`` (``minified_source``, ``source_map``, ...), its ``url`` (``~/static/js/app.min.js``) and
``headers`` (``debug-id``, ``sourcemap``; names are case-insensitive), and carries the bundle's
own attributes: ``debug_id``, ``org``, ``project``, ``release``, ``dist``, ``note``.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

MAGIC = b"SYSB"
HEADER_SIZE = 8
SUPPORTED_VERSIONS = (1, 2)
MANIFEST = "manifest.json"
FILE_TYPES = frozenset({"source", "minified_source", "source_map", "indexed_ram_bundle"})
MAX_FILES = 10_000
MAX_MANIFEST_SIZE = 16 * 1024 * 1024
SOURCEMAP_HEADERS = ("sourcemap", "x-sourcemap")
# What reading a damaged or unsupported zip member can raise.
MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


class ArtifactBundleError(ValueError):
    """The upload is not a usable artifact bundle; the message says what is wrong where."""


@dataclass(frozen=True)
class BundleFile:
    path: str  # the zip member
    url: str | None
    type: str
    headers: dict[str, str]
    content: bytes

    @property
    def debug_id(self) -> str | None:
        """The ``debug-id`` header, else (source maps) the ``debugId``/``debug_id`` in the map."""
        if "debug-id" in self.headers:
            return self.headers["debug-id"].lower()
        if self.type == "source_map":
            return _debug_id_in_source_map(self.content)
        return None

    @property
    def sourcemap(self) -> str | None:
        """The URL of this file's source map, relative to the file's own URL."""
        return next((self.headers[h] for h in SOURCEMAP_HEADERS if h in self.headers), None)


@dataclass(frozen=True)
class ArtifactBundle:
    version: int | None  # of the SYSB header; None for a bare zip
    attributes: dict[str, str] = field(default_factory=dict)
    files: tuple[BundleFile, ...] = ()

    @property
    def debug_id(self) -> str | None:
        return self.attributes.get("debug_id")


def parse_artifact_bundle(data: bytes, *, max_size: int) -> ArtifactBundle:
    """Read a bundle; ``max_size`` caps the uncompressed size of all its files together."""
    version = None
    if data.startswith(MAGIC):
        if len(data) < HEADER_SIZE:
            raise ArtifactBundleError("the bundle ends inside its 8-byte SYSB header")
        (version,) = struct.unpack_from("<I", data, len(MAGIC))
        if version not in SUPPORTED_VERSIONS:
            raise ArtifactBundleError(f"unsupported source bundle version {version}")
        data = data[HEADER_SIZE:]
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise ArtifactBundleError(f"the bundle is not a zip archive: {error}") from None
    with archive:
        manifest = _manifest(archive)
        entries = manifest.get("files", {})
        if not isinstance(entries, dict):
            raise ArtifactBundleError("manifest.json: 'files' must be an object")
        if len(entries) > MAX_FILES:
            raise ArtifactBundleError(f"manifest.json lists more than {MAX_FILES} files")
        budget = _Budget(max_size)
        files = tuple(_bundle_file(archive, path, entry, budget) for path, entry in entries.items())
    attributes = {
        key: value
        for key, value in manifest.items()
        if key not in ("files", "source_links") and isinstance(value, str)
    }
    return ArtifactBundle(version=version, attributes=attributes, files=files)


class _Budget:
    """How many uncompressed bytes may still be read (a zip's sizes are the sender's claim)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.remaining = limit

    def read(self, archive: zipfile.ZipFile, member: str) -> bytes:
        try:
            with archive.open(member) as stream:
                content = stream.read(self.remaining + 1)
        except MEMBER_ERRORS as error:
            raise ArtifactBundleError(f"cannot read {member!r} from the bundle: {error}") from None
        if len(content) > self.remaining:
            raise ArtifactBundleError(f"{member!r} takes the bundle over {self.limit} bytes")
        self.remaining -= len(content)
        return content


def _manifest(archive: zipfile.ZipFile) -> dict[str, Any]:
    if MANIFEST not in archive.namelist():
        raise ArtifactBundleError("the bundle has no manifest.json")
    text = _Budget(MAX_MANIFEST_SIZE).read(archive, MANIFEST)
    try:
        manifest = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise ArtifactBundleError(f"manifest.json is not valid JSON: {error}") from None
    if not isinstance(manifest, dict):
        raise ArtifactBundleError("manifest.json must be a JSON object")
    return manifest


def _bundle_file(archive: zipfile.ZipFile, path: str, entry: Any, budget: _Budget) -> BundleFile:
    where = f"manifest.json: files[{path!r}]"
    if not isinstance(entry, dict):
        raise ArtifactBundleError(f"{where} must be an object")
    kind = entry.get("type")
    if kind not in FILE_TYPES:
        raise ArtifactBundleError(
            f"{where}: 'type' must be one of {', '.join(sorted(FILE_TYPES))}, got {kind!r}"
        )
    url = entry.get("url")
    if url is not None and not isinstance(url, str):
        raise ArtifactBundleError(f"{where}: 'url' must be a string")
    headers = entry.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise ArtifactBundleError(f"{where}: 'headers' must be an object of strings")
    try:
        content = budget.read(archive, path)
    except KeyError:
        raise ArtifactBundleError(f"{where}: the zip has no member {path!r}") from None
    return BundleFile(
        path=path,
        url=url,
        type=kind,
        headers={name.lower(): value for name, value in headers.items()},
        content=content,
    )


def _debug_id_in_source_map(content: bytes) -> str | None:
    try:
        source_map = orjson.loads(content)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(source_map, Mapping):
        return None
    value = source_map.get("debugId") or source_map.get("debug_id")
    return value.lower() if isinstance(value, str) else None
