"""multipart/form-data bodies split into parts, binary-exact, with Relay's refusal text.

Crash reporters upload minidumps this way. Parsing is done by ``python-multipart``'s streaming
parser; we only collect each part's name, filename, content type and bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart.multipart import (
    MultipartParseError,
    MultipartParser,
    MultipartState,
    parse_options_header,
)

from ..protocol.errors import IngestError

INVALID_MULTIPART = "invalid multipart data"


@dataclass
class Part:
    name: str | None
    filename: str | None
    content_type: str | None
    data: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def is_file(self) -> bool:
        return self.filename is not None


def boundary_of(content_type: str | None) -> str:
    """The boundary parameter of a multipart content type, or a 400 naming what is wrong."""
    media_type, params = parse_options_header(content_type or "")
    if not media_type.startswith(b"multipart/"):
        shown = content_type if content_type else "no content type"
        raise IngestError(400, INVALID_MULTIPART, [f"expected multipart/form-data, got {shown}"])
    boundary = params.get(b"boundary")
    if not boundary:
        raise IngestError(400, INVALID_MULTIPART, ["missing boundary in content type"])
    return boundary.decode("latin-1")


def parse_multipart(body: bytes, boundary: str) -> list[Part]:
    """Every part of ``body``, in order; a body that does not end with the closing boundary is
    refused like any other malformed one."""
    parts: list[Part] = []
    header_name = bytearray()
    header_value = bytearray()

    def on_part_begin() -> None:
        parts.append(Part(name=None, filename=None, content_type=None))

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_name.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        # Latin-1 keeps the bytes; names inside Content-Disposition are decoded as UTF-8 later.
        name = header_name.decode("latin-1").lower()
        parts[-1].headers[name] = header_value.decode("latin-1")
        header_name.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        _describe_part(parts[-1])

    chunks: list[bytes] = []

    def on_part_data(data: bytes, start: int, end: int) -> None:
        chunks.append(data[start:end])

    def on_part_end() -> None:
        parts[-1].data = b"".join(chunks)
        chunks.clear()

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        parser.write(body)
    except MultipartParseError as error:
        raise IngestError(400, INVALID_MULTIPART, [str(error)]) from None
    if parser.state != MultipartState.END:
        raise IngestError(400, INVALID_MULTIPART, ["incomplete multipart stream"])
    return parts


def _describe_part(part: Part) -> None:
    _, params = parse_options_header(part.headers.get("content-disposition", ""))
    name = params.get(b"name")
    filename = params.get(b"filename")
    part.name = name.decode("utf-8", "replace") if name is not None else None
    part.filename = filename.decode("utf-8", "replace") if filename is not None else None
    content_type = part.headers.get("content-type")
    part.content_type = (
        content_type.encode("latin-1").decode("utf-8", "replace") if content_type else None
    )


def embedded_boundary(data: bytes) -> str | None:
    """The boundary of a multipart body stored inside a part, as old Electron SDKs send the
    minidump: the first non-empty line, when it is ``--`` and a boundary."""
    start = 0
    while start < len(data) and data[start] in b"\r\n":
        start += 1
    ends = [end for end in (data.find(b"\r", start), data.find(b"\n", start)) if end >= 0]
    line = data[start : min(ends, default=len(data))]
    if len(line) <= 2 or not line.startswith(b"--"):
        return None
    try:
        return line[2:].decode("utf-8")
    except UnicodeDecodeError:
        return None
