"""``/minidump/`` uploads turned into an envelope, as Relay's minidump endpoint does.

Crash reporters (Crashpad, Breakpad, Electron) send a multipart form whose file fields become
attachment items (the field name picks the attachment type) and whose plain fields become one
``form_data`` item. A raw ``application/octet-stream`` or ``application/x-dmp`` body is the
minidump itself. The minidump may be gzip, xz, bzip2 or zstd compressed, or (old Electron) a
multipart body of its own; it is unpacked, and must then start with ``MDMP`` or ``PMDM``.

Client file names are kept as item data only; nothing here touches the file system.
"""

from __future__ import annotations

import bz2
import io
import json
import lzma
import uuid
import zlib
from collections.abc import Callable, Iterator

import msgpack
import zstandard

from ..protocol.envelope import Item, ParsedEnvelope, normalize_event_id
from ..protocol.errors import IngestError
from ..protocol.form_data import decode_form_data, encode_form_data
from ..protocol.limits import exceeded
from ..settings.values import Limits
from .multipart import Part, boundary_of, embedded_boundary, parse_multipart

MINIDUMP_FIELD = "upload_file_minidump"
RAW_CONTENT_TYPES = ("application/octet-stream", "application/x-dmp")
RAW_FILENAME = "Minidump"
MINIDUMP_CONTENT_TYPE = "application/x-dmp"

ATTACHMENT_TYPES = {
    MINIDUMP_FIELD: "event.minidump",
    "__sentry-event": "event.payload",
    "__sentry-breadcrumb1": "event.breadcrumbs",
    "__sentry-breadcrumb2": "event.breadcrumbs",
    "view-hierarchy.json": "event.view_hierarchy",
}
# A file part with this name is a replay recording, not an attachment (Relay's multipart reader).
REPLAY_RECORDING_FILENAME = "sentry_replay_recording"

MAGIC = (b"MDMP", b"PMDM")
CONTAINER_SUFFIXES = (".gz", ".xz", ".bz2", ".zst")
STEP = 256 * 1024


def envelope_from_minidump(content_type: str | None, body: bytes, limits: Limits) -> ParsedEnvelope:
    """The envelope for a minidump upload; refusals carry Relay's status and detail.

    The envelope header ``event_id`` is the id the endpoint answers (dashed, as text).
    """
    if content_type in RAW_CONTENT_TYPES:
        item = _minidump_item(decode_minidump(body, limits.max_attachment_size), RAW_FILENAME)
        return ParsedEnvelope({"event_id": uuid.uuid4().hex}, [item])

    items = items_from_multipart(parse_multipart(body, boundary_of(content_type)), limits)
    minidump = next(
        (item for item in items if item.headers.get("attachment_type") == "event.minidump"), None
    )
    if minidump is None:
        raise IngestError(400, "missing minidump")
    payload = _embedded_minidump(minidump.payload)
    minidump.payload = decode_minidump(payload, limits.max_attachment_size)
    minidump.headers["content_type"] = MINIDUMP_CONTENT_TYPE
    filename = minidump.headers.get("filename")
    if isinstance(filename, str):
        minidump.headers["filename"] = strip_container_suffix(filename)
    event_id = event_id_from_items(items) or uuid.uuid4().hex
    return ParsedEnvelope({"event_id": event_id}, items)


def envelope_from_attachment_upload(
    content_type: str | None, body: bytes, *, event_id: str, limits: Limits
) -> ParsedEnvelope:
    """The envelope for ``/events/<event_id>/attachments/``: every file part is a plain
    ``event.attachment`` of that event, whatever its field name (Relay's attachments endpoint).
    """
    parts = parse_multipart(body, boundary_of(content_type))
    return ParsedEnvelope({"event_id": event_id}, items_from_multipart(parts, limits, typed=False))


def items_from_multipart(parts: list[Part], limits: Limits, *, typed: bool = True) -> list[Item]:
    """File parts as attachment items, plain fields as one ``form_data`` item.

    With ``typed``, the field name picks the attachment type (``upload_file_minidump`` is the
    minidump, ``__sentry-event`` the MessagePack event, ...); else all are ``event.attachment``.
    """
    items: list[Item] = []
    fields: list[tuple[str, str]] = []
    total = 0
    for part in parts:
        total += len(part.data)
        if total > limits.max_attachments_size:
            raise exceeded("attachment")
        if part.is_file:
            items.append(_file_item(part, limits, typed=typed))
        elif part.name is not None:
            # Relay decodes fields leniently, as Django does.
            fields.append((part.name, part.data.decode("utf-8", "replace")))
    if fields:
        form = Item({"type": "form_data", "content_type": "text/plain"}, encode_form_data(fields))
        items.append(form)
    return items


def _file_item(part: Part, limits: Limits, *, typed: bool) -> Item:
    if part.filename == REPLAY_RECORDING_FILENAME:
        headers: dict[str, str | None] = {"type": "replay_recording"}
    else:
        if len(part.data) > limits.max_attachment_size:
            raise exceeded("attachment")
        field_type = ATTACHMENT_TYPES.get(part.name or "") if typed else None
        attachment_type = field_type or "event.attachment"
        headers = {"type": "attachment", "attachment_type": attachment_type}
    headers["filename"] = part.filename
    if part.content_type:
        headers["content_type"] = part.content_type
    return Item(headers, part.data)


def _minidump_item(payload: bytes, filename: str) -> Item:
    headers = {
        "type": "attachment",
        "attachment_type": "event.minidump",
        "filename": filename,
        "content_type": MINIDUMP_CONTENT_TYPE,
    }
    return Item(headers, payload)


def _embedded_minidump(payload: bytes) -> bytes:
    """The minidump inside a nested multipart body (old Electron), else ``payload`` unchanged."""
    boundary = embedded_boundary(payload)
    if boundary is None:
        return payload
    # Like Relay's reader, tolerate a missing line break after the closing boundary.
    for part in parse_multipart(payload.rstrip(b"\r\n") + b"\r\n", boundary):
        if part.name == MINIDUMP_FIELD:
            return part.data
    return payload


def event_id_from_items(items: list[Item]) -> str | None:
    """Relay's event id precedence for crash uploads: ``event_id`` in the ``__sentry-event``
    MessagePack, then the ``sentry`` JSON field or ``sentry[event_id]`` (first one present).

    An unreadable ``__sentry-event`` is refused (Relay reads it before answering); problems in
    the form fields are ignored, as in Relay.
    """
    payload = next(
        (item for item in items if item.headers.get("attachment_type") == "event.payload"), None
    )
    if payload is not None and (event_id := _event_id_from_msgpack(payload.payload)):
        return event_id
    form = next((item for item in items if item.type == "form_data"), None)
    return _event_id_from_form(form.payload) if form is not None else None


def _event_id_from_msgpack(data: bytes) -> str | None:
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(data)
    try:
        event = next(unpacker)
    except (StopIteration, ValueError, msgpack.UnpackException) as error:
        cause = str(error) or "unexpected end of data"
        raise IngestError(400, "invalid messagepack data", [f"__sentry-event: {cause}"]) from None
    if not isinstance(event, dict):
        raise IngestError(400, "invalid messagepack data", ["__sentry-event is not a map"])
    value = event.get("event_id")
    if value is None:
        return None
    event_id = normalize_event_id(value)
    if event_id is None:
        raise IngestError(
            400, "invalid messagepack data", [f"__sentry-event: invalid event_id {value!r}"]
        )
    return event_id


def _event_id_from_form(payload: bytes) -> str | None:
    for key, value in decode_form_data(payload):
        if key == "sentry":
            try:
                event = json.loads(value)
            except (ValueError, RecursionError):
                return None
            return normalize_event_id(event.get("event_id")) if isinstance(event, dict) else None
        if key == "sentry[event_id]":
            return normalize_event_id(value)
    return None


def decode_minidump(data: bytes, max_size: int) -> bytes:
    """``data`` unpacked from a gzip/xz/bzip2/zstd container (by magic bytes) and checked.

    Output stops at ``max_size`` bytes (413 past it), so a decompression bomb is never held
    whole; a broken container is ``400 invalid compression container``.
    """
    decoder = _container_decoder(data)
    if decoder is not None:
        out = bytearray()
        try:
            for piece in decoder(data):
                out += piece
                if len(out) > max_size:
                    raise exceeded("attachment")
        except (OSError, EOFError, zlib.error, lzma.LZMAError, zstandard.ZstdError) as error:
            raise IngestError(400, "invalid compression container", [str(error)]) from None
        data = bytes(out)
    if not data.startswith(MAGIC):
        raise IngestError(400, "invalid minidump")
    return data


def strip_container_suffix(filename: str) -> str:
    """``crash.dmp.gz`` -> ``crash.dmp``: the name shown should match the decoded bytes."""
    for suffix in CONTAINER_SUFFIXES:
        if filename.endswith(suffix):
            return filename[: -len(suffix)]
    return filename


def _container_decoder(data: bytes) -> Callable[[bytes], Iterator[bytes]] | None:
    if data.startswith(b"\x1f\x8b"):
        return _gunzip
    if data.startswith(b"\xfd7zXZ\x00"):
        return lambda raw: _stepwise(lzma.LZMADecompressor(lzma.FORMAT_XZ), raw)
    if data.startswith(b"BZh"):
        return lambda raw: _stepwise(bz2.BZ2Decompressor(), raw)
    if data.startswith(b"\x28\xb5\x2f\xfd"):
        return _unzstd
    return None


def _gunzip(data: bytes) -> Iterator[bytes]:
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    piece = decompressor.decompress(data, STEP)
    while piece:
        yield piece
        piece = decompressor.decompress(decompressor.unconsumed_tail, STEP)
    if not decompressor.eof:
        raise EOFError("gzip stream ended early")


def _stepwise(
    decompressor: lzma.LZMADecompressor | bz2.BZ2Decompressor, data: bytes
) -> Iterator[bytes]:
    yield decompressor.decompress(data, STEP)
    while not decompressor.eof and not decompressor.needs_input:
        yield decompressor.decompress(b"", STEP)
    if not decompressor.eof:
        raise EOFError("compressed stream ended early")


def _unzstd(data: bytes) -> Iterator[bytes]:
    with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)) as reader:
        while piece := reader.read(STEP):
            yield piece
