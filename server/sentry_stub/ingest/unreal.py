"""Unreal Engine crash reports (``/unreal/<key>/``): the ``.uecrash`` container, unpacked.

The UE4/UE5 crash reporter posts one zlib-compressed container. Decompressed, it is a header
(directory name, file name, uncompressed size, file count) and the files, each an index, a
name and a length-prefixed body; strings are a 4-byte little-endian length and bytes with
trailing NULs. Old containers repeat the header at the end, and only that copy is true; newer
ones start with ``CR1`` and have one header. (Format as read by ``symbolic-unreal``.)

Relay answers 200 with a random event id, keeps the container as an ``unreal_report`` item and
expands it into attachments during processing. We keep the container too and expand it at once:
``CrashContext.runtime-xml`` becomes ``unreal.context``, ``*.log`` ``unreal.logs``, a body
starting with ``MDMP`` the ``event.minidump``, and a ``__sentry`` entry in the context's
GameData an ``event`` item. A container that cannot be read is kept as it is, unexpanded,
because Relay also accepts it and drops it only later.
"""

from __future__ import annotations

import struct
import uuid
import xml.etree.ElementTree as ElementTree
import zlib
from dataclasses import dataclass

from ..protocol.envelope import Item, ParsedEnvelope
from ..protocol.errors import IngestError
from ..settings.values import Limits

USER_HEADER = "unreal_user_id"
CONTEXT_FILE = "CrashContext.runtime-xml"
CONFIG_FILE = "CrashReportClient.ini"
SENTRY_GAME_DATA = "__sentry"
# Files a Sentry-aware crash reporter may add, typed as in a minidump upload.
NAMED_ATTACHMENTS = {
    "__sentry-event": ("event.payload", "application/x-msgpack"),
    "__sentry-breadcrumb1": ("event.breadcrumbs", "application/x-msgpack"),
    "__sentry-breadcrumb2": ("event.breadcrumbs", "application/x-msgpack"),
}
STEP = 256 * 1024

_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")


class UnrealError(ValueError):
    """The container cannot be read (symbolic-unreal's error kinds)."""


@dataclass(frozen=True)
class UnrealFile:
    index: int
    name: str
    data: bytes

    @property
    def attachment_type(self) -> str:
        return self._typed()[0]

    @property
    def content_type(self) -> str:
        return self._typed()[1]

    def _typed(self) -> tuple[str, str]:
        """Relay's mapping from symbolic's file types to attachment and content types."""
        if self.name == CONFIG_FILE:
            return "event.attachment", "application/octet-stream"
        if self.name == CONTEXT_FILE:
            return "unreal.context", "application/xml"
        if self.name.endswith(".log"):
            return "unreal.logs", "text/plain"
        if self.data.startswith(b"MDMP"):
            return "event.minidump", "application/x-dmp"
        if self.data.startswith(b"Incident Identifier:"):
            return "event.applecrashreport", "text/plain"
        return NAMED_ATTACHMENTS.get(self.name, ("event.attachment", "application/octet-stream"))


def envelope_from_unreal(body: bytes, *, user_id: str | None, limits: Limits) -> ParsedEnvelope:
    """The envelope for an Unreal crash report: random event id, the raw ``unreal_report``
    item, and (when the container is readable) one attachment per file.

    ``user_id`` is the ``?UserID=`` query value; Relay keeps it in the envelope header.
    """
    if not body:
        raise IngestError(400, "empty request body")
    headers: dict[str, str] = {"event_id": uuid.uuid4().hex}
    if user_id is not None:
        headers[USER_HEADER] = user_id
    report = Item({"type": "unreal_report", "content_type": "application/octet-stream"}, body)
    try:
        files = read_unreal_crash(body, limit=limits.max_envelope_size)
    except UnrealError:
        return ParsedEnvelope(headers, [report])
    return ParsedEnvelope(headers, [report, *_event_items(files), *map(_attachment_item, files)])


def read_unreal_crash(container: bytes, *, limit: int) -> list[UnrealFile]:
    """The files in a compressed ``.uecrash`` container, or ``UnrealError`` saying why not.

    Decompression stops after ``limit`` bytes (``crash file contents are too large``).
    """
    data = _decompress(container, limit)
    reader = _Reader(data)
    if data.startswith(b"CR1"):
        reader.pos = 3
        *_, count = reader.header()
        files = reader.files(count)
    else:
        if len(data) < 4:
            raise UnrealError("bad compression")
        count = _I32.unpack_from(data, len(data) - 4)[0]
        reader.header()  # a placeholder; the true header follows the files
        files = reader.files(count)
        reader.header()
    if reader.pos != len(data):
        raise UnrealError("unexpected trailing data")
    return files


def _decompress(container: bytes, limit: int) -> bytes:
    decompressor = zlib.decompressobj()
    out = bytearray()
    try:
        piece = decompressor.decompress(container, STEP)
        while piece:
            out += piece
            if len(out) > limit:
                raise UnrealError("crash file contents are too large")
            piece = decompressor.decompress(decompressor.unconsumed_tail, STEP)
    except zlib.error as error:
        raise UnrealError(f"bad compression: {error}") from None
    if not decompressor.eof:
        raise UnrealError("bad compression: stream ended early")
    return bytes(out)


class _Reader:
    """A cursor over the decompressed container; running past the end is ``UnrealError``."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, length: int) -> bytes:
        if length < 0 or self.pos + length > len(self.data):
            raise UnrealError("invalid crash file contents")
        chunk = self.data[self.pos : self.pos + length]
        self.pos += length
        return chunk

    def i32(self) -> int:
        return _I32.unpack(self.take(4))[0]

    def string(self) -> str:
        length = _U32.unpack(self.take(4))[0]
        return self.take(length).decode("utf-8", "replace").rstrip("\0")

    def header(self) -> tuple[str, str, int, int]:
        return self.string(), self.string(), self.i32(), self.i32()

    def files(self, count: int) -> list[UnrealFile]:
        # Each file takes at least 12 bytes; a larger count is corrupt, not a reason to loop.
        if count < 0 or count > len(self.data) // 12:
            raise UnrealError("invalid crash file contents")
        files = []
        for _ in range(count):
            index, name = self.i32(), self.string()
            files.append(UnrealFile(index, name, self.take(self.i32())))
        return files


def _attachment_item(file: UnrealFile) -> Item:
    headers = {
        "type": "attachment",
        "attachment_type": file.attachment_type,
        "filename": file.name,
        "content_type": file.content_type,
    }
    return Item(headers, file.data)


def _event_items(files: list[UnrealFile]) -> list[Item]:
    """The event the game put in its crash context (GameData ``__sentry``), if any."""
    context = next((file for file in files if file.name == CONTEXT_FILE), None)
    payload = _sentry_game_data(context.data) if context is not None else None
    if not payload:
        return []
    return [Item({"type": "event", "content_type": "application/json"}, payload.encode("utf-8"))]


def _sentry_game_data(xml: bytes) -> str | None:
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return None
    game_data = root if root.tag == "GameData" else root.find(".//GameData")
    entry = game_data.find(SENTRY_GAME_DATA) if game_data is not None else None
    return entry.text if entry is not None else None
