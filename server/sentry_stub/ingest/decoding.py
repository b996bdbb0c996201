"""Request bodies: read them, undo ``Content-Encoding``, and stop at the size limit.

Limits apply to the decompressed size, as in Relay, and are checked while decompressing: output
is produced in bounded steps, so a small body that expands to gigabytes (a decompression bomb) is
refused with 413 after at most ``limit`` bytes of output, never held in memory whole.

No body may stall the other clients: the first ``ON_LOOP_OUTPUT`` bytes of output are made on
the event loop (less work than handing them to a thread, measured: 64 KiB of gzip output takes
~0.1 ms, a thread hop ~0.35 ms on a busy machine), the rest in a worker thread, where zlib,
brotli and zstd release the GIL. Every byte received and decompressed is taken from the shared
``BodyBudget``, and the whole body must arrive within the route's deadline (408 otherwise).
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Callable, Iterator

import anyio.to_thread
import brotli
import zstandard
from starlette.requests import Request

from ..protocol.errors import IngestError
from ..settings.values import Limits
from .budget import BodyBudget, Reservation

STEP = 64 * 1024
ON_LOOP_OUTPUT = 64 * 1024
IDENTITY = {"", "identity", "utf-8"}  # old sentry-ruby/java send "utf-8": Relay treats it as none
SUPPORTED = ("gzip", "x-gzip", "deflate", "br", "zstd")

Take = Callable[[int], None]  # takes bytes from the shared budget, or raises 503


def parse_content_encoding(header: str | None) -> list[str]:
    """The encodings to undo, in the order to undo them; an unknown one is refused with 415."""
    encodings = [part.strip().lower() for part in (header or "").split(",")]
    encodings = [e for e in encodings if e not in IDENTITY]
    for encoding in encodings:
        if encoding not in SUPPORTED:
            raise IngestError(
                415,
                f"unsupported content encoding {encoding!r}",
                [f"supported encodings: {', '.join(SUPPORTED)}"],
            )
    return list(reversed(encodings))


def too_large(limit: int) -> IngestError:
    # Relay's framework answers this 413 in plain text whose exact words are unverified (spec
    # section 13); SDKs read only the status, so the stub keeps its JSON error shape.
    return IngestError(413, f"request body exceeds the size limit of {limit} bytes")


async def read_request_body(
    chunks: AsyncIterator[bytes],
    encodings: list[str],
    limit: int,
    *,
    content_length: int,
    reservation: Reservation,
    timeout: float | None,
) -> bytes:
    """``read_body`` within the shared budget, refused at once by its ``Content-Length``.

    A body announced past ``limit`` gets 413 before the budget is asked: its 503 would tell the
    client to retry a body that can never be accepted.
    """
    if content_length > limit:
        raise too_large(limit)
    reservation.fits(content_length)
    return await read_body(chunks, encodings, limit, take=reservation.take, timeout=timeout)


async def read_api_body(request: Request, limit: int | None = None) -> bytes:
    """The body of a request to the stub's own APIs, read as ingest reads its bodies.

    The shared budget and the body deadline hold for every request, not just for ingest; past
    ``limit`` (by default ``limits.max_api_payload_size``, Relay's limit on API bodies) it is 413.
    """
    limits: Limits = request.app.state.limits
    budget: BodyBudget = request.app.state.body_budget
    with budget.reserve() as reservation:
        return await read_request_body(
            request.stream(),
            [],  # the APIs never undid a Content-Encoding
            limit or limits.max_api_payload_size,
            content_length=announced_length(request.headers.get("content-length")),
            reservation=reservation,
            timeout=limits.body_timeout or None,
        )


def announced_length(content_length: str | None) -> int:
    """The ``Content-Length`` header's value; 0 when absent or not a number."""
    value = content_length or ""
    return int(value) if value.isascii() and value.isdigit() else 0


async def read_body(
    chunks: AsyncIterator[bytes],
    encodings: list[str],
    limit: int,
    *,
    take: Take = lambda size: None,
    timeout: float | None = None,
) -> bytes:
    """The decoded body; 413 as soon as the received or the decoded bytes pass ``limit``."""
    body = bytearray()
    try:
        async with asyncio.timeout(timeout):
            async for chunk in chunks:
                take(len(chunk))
                body += chunk
                if len(body) > limit:
                    raise too_large(limit)
    except TimeoutError:
        # A client that sends a byte a second must not hold its connection and memory forever.
        raise IngestError(
            408,
            f"request body not received within {timeout:g} seconds (limits.body_timeout)",
            headers={"Connection": "close"},
        ) from None
    data = bytes(body)
    for encoding in encodings:
        data = await decode(data, encoding, limit, take)
    return data


async def decode(data: bytes, encoding: str, limit: int, take: Take) -> bytes:
    """``data`` decompressed: a small output on the event loop, the rest in a worker thread."""
    pieces = _decompress(data, encoding)
    out = bytearray()
    if not _collect(pieces, out, encoding, limit, take, until=ON_LOOP_OUTPUT):
        await anyio.to_thread.run_sync(_collect, pieces, out, encoding, limit, take)
    return bytes(out)


def _collect(
    pieces: Iterator[bytes],
    out: bytearray,
    encoding: str,
    limit: int,
    take: Take,
    until: int | None = None,
) -> bool:
    """Append ``pieces`` to ``out`` until they end (True) or ``out`` reaches ``until`` (False)."""
    try:
        for piece in pieces:
            take(len(piece))
            out += piece
            if len(out) > limit:
                raise too_large(limit)
            if until is not None and len(out) >= until:
                return False
    except (zlib.error, brotli.error, zstandard.ZstdError, EOFError) as error:
        raise IngestError(
            400, f"invalid {encoding} body", [f"decompression failed: {error}"]
        ) from None
    return True


def _decompress(data: bytes, encoding: str) -> Iterator[bytes]:
    """Output in steps of at most ``STEP`` bytes."""
    if encoding in ("gzip", "x-gzip", "deflate"):
        wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
        decompressor = zlib.decompressobj(wbits)
        piece = decompressor.decompress(data, STEP)
        while piece:
            yield piece
            piece = decompressor.decompress(decompressor.unconsumed_tail, STEP)
        if not decompressor.eof:
            raise EOFError("compressed stream ended early")
    elif encoding == "br":
        decompressor = brotli.Decompressor()
        piece = decompressor.process(data, output_buffer_limit=STEP)
        while piece:
            yield piece
            if decompressor.is_finished():
                return
            piece = decompressor.process(b"", output_buffer_limit=STEP)
        if not decompressor.is_finished():
            raise EOFError("compressed stream ended early")
    elif encoding == "zstd":
        # No output cap in zstandard's API: small input slices bound each step (~3 MB at most).
        stream = zstandard.ZstdDecompressor().decompressobj()
        for start in range(0, len(data), 64):
            yield stream.decompress(data[start : start + 64])
        if not stream.eof:
            raise EOFError("compressed stream ended early")
    else:
        raise ValueError(f"unsupported encoding {encoding}")
