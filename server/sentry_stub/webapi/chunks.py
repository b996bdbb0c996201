"""Chunk upload: how sentry-cli sends files, and how the chunks are put back together.

The CLI first asks for the upload options (``GET chunk-upload/``), cuts each file into chunks
of ``chunkSize`` bytes, names every chunk by its SHA-1, asks the assemble endpoint which ones
the server lacks, uploads only those (multipart, one part per chunk, gzip-compressed when the
server offers it), and asks to assemble again. A file is its chunks concatenated in order,
and its SHA-1 must equal the checksum the CLI announced.

Chunks are content-addressed and shared by every organization (Sentry keeps a per-organization
record of who uploaded a blob; a local server has no one to keep apart).
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..ingest.multipart import Part
from ..storage.placeholders import placeholders
from .values import BodyError, project_list

MIB = 1024 * 1024
CHUNK_SIZE = 8 * MIB
CHUNKS_PER_REQUEST = 64
MAX_REQUEST_SIZE = 32 * MIB
# Smaller than Sentry's 2 GiB: a test server keeps uploads in SQLite.
MAX_FILE_SIZE = 256 * MIB
CONCURRENCY = 8
# Advertising release files and both artifact bundle versions sends every sentry-cli
# generation (2.x included) down the artifact bundle path.
ACCEPT = (
    "debug_files",
    "release_files",
    "pdbs",
    "sources",
    "bcsymbolmaps",
    "il2cpp",
    "portablepdbs",
    "artifact_bundles",
    "artifact_bundles_v2",
    "proguard",
)
CHUNK_FIELDS = ("file", "file_gzip")
SHA1 = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class Chunk:
    checksum: str
    data: bytes


@dataclass(frozen=True)
class AssembleRequest:
    checksum: str
    chunks: tuple[str, ...]
    projects: tuple[str | int, ...]
    version: str | None
    dist: str | None


def upload_options(url: str) -> dict:
    """The answer to ``GET chunk-upload/``; ``url`` is where the chunks go (this endpoint)."""
    return {
        "url": url,
        "chunkSize": CHUNK_SIZE,
        "chunksPerRequest": CHUNKS_PER_REQUEST,
        "maxFileSize": MAX_FILE_SIZE,
        "maxRequestSize": MAX_REQUEST_SIZE,
        "concurrency": CONCURRENCY,
        "hashAlgorithm": "sha1",
        "compression": ["gzip"],
        "accept": list(ACCEPT),
    }


def chunks_from_parts(parts: Sequence[Part]) -> list[Chunk]:
    """The chunks of an upload request, each checked against the SHA-1 it is named by."""
    files = [part for part in parts if part.name in CHUNK_FIELDS]
    if not files:
        raise BodyError("the upload has no 'file' or 'file_gzip' parts")
    if len(files) > CHUNKS_PER_REQUEST:
        raise BodyError(f"at most {CHUNKS_PER_REQUEST} chunks per request, got {len(files)}")
    chunks = []
    for part in files:
        name = (part.filename or "").lower()
        if not SHA1.match(name):
            raise BodyError(f"chunk filename must be its SHA-1 (40 hex digits), got {name!r}")
        data = _gunzip(part.data, name) if part.name == "file_gzip" else part.data
        if len(data) > CHUNK_SIZE:
            raise BodyError(f"chunk {name} is larger than the chunk size ({CHUNK_SIZE} bytes)")
        if hashlib.sha1(data).hexdigest() != name:
            raise BodyError(f"chunk {name}: the content's SHA-1 does not match its filename")
        chunks.append(Chunk(name, data))
    return chunks


def parse_assemble(body: Mapping[str, Any]) -> AssembleRequest:
    checksum = body.get("checksum")
    if not isinstance(checksum, str) or not SHA1.match(checksum.lower()):
        raise BodyError("'checksum' must be the file's SHA-1 (40 hex digits)")
    chunks = body.get("chunks")
    if not isinstance(chunks, list) or not all(
        isinstance(c, str) and SHA1.match(c.lower()) for c in chunks
    ):
        raise BodyError("'chunks' must be a list of chunk SHA-1s (40 hex digits each)")
    if not chunks:
        raise BodyError("'chunks' is empty: a file is assembled from at least one chunk")
    if len(chunks) * CHUNK_SIZE > MAX_FILE_SIZE:
        raise BodyError(f"the file would be larger than {MAX_FILE_SIZE} bytes")
    version, dist = body.get("version"), body.get("dist")
    for field, value in (("version", version), ("dist", dist)):
        if value is not None and not isinstance(value, str):
            raise BodyError(f"{field!r} must be a string")
    return AssembleRequest(
        checksum=checksum.lower(),
        chunks=tuple(c.lower() for c in chunks),
        projects=tuple(project_list(body)),
        version=version or None,
        dist=dist or None,
    )


def assemble_response(state: str, missing: Sequence[str] = (), detail: str | None = None) -> dict:
    """sentry-cli needs ``missingChunks`` in every answer, even when it is empty."""
    return {"state": state, "missingChunks": list(missing), "detail": detail}


# --- storage -----------------------------------------------------------------------------------


def store_chunks(connection: sqlite3.Connection, chunks: Sequence[Chunk]) -> None:
    connection.executemany(
        "INSERT OR IGNORE INTO chunks (checksum, size, data, created_at) VALUES (?, ?, ?, ?)",
        [(chunk.checksum, len(chunk.data), chunk.data, time.time()) for chunk in chunks],
    )


def missing_chunks(connection: sqlite3.Connection, checksums: Sequence[str]) -> list[str]:
    """The checksums the server has no chunk for, in request order, each once."""
    wanted = list(dict.fromkeys(checksums))
    marks = placeholders(wanted)
    present = {
        row[0]
        for row in connection.execute(
            f"SELECT checksum FROM chunks WHERE checksum IN ({marks})", wanted
        )
    }
    return [checksum for checksum in wanted if checksum not in present]


def read_file(connection: sqlite3.Connection, checksums: Sequence[str]) -> bytes:
    """The file made of these (stored) chunks, in order."""
    return b"".join(
        bytes(connection.execute("SELECT data FROM chunks WHERE checksum = ?", (c,)).fetchone()[0])
        for c in checksums
    )


def _gunzip(data: bytes, name: str) -> bytes:
    """Decompress at most one chunk's worth, so a small upload cannot expand without bound."""
    decompressor = zlib.decompressobj(wbits=31)
    try:
        out = decompressor.decompress(data, CHUNK_SIZE + 1)
    except zlib.error as error:
        raise BodyError(f"chunk {name} is not valid gzip: {error}") from None
    if len(out) > CHUNK_SIZE:
        raise BodyError(f"chunk {name} is larger than the chunk size ({CHUNK_SIZE} bytes)")
    if not decompressor.eof:
        raise BodyError(f"chunk {name} is truncated gzip")
    return out
