"""Every ``Content-Encoding`` decoder under valid, damaged and hostile bodies.

A decoder returns exactly the bytes that were encoded, or refuses with ``IngestError``: 400
for a broken stream, 413 once the output passes the limit, 415 for an unknown encoding name.
Nothing else escapes, and no output past the limit is ever returned.
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator, Callable

import brotli
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from sentry_stub.ingest.decoding import (
    SUPPORTED,
    decode,
    parse_content_encoding,
    read_body,
)
from sentry_stub.protocol.errors import IngestError
from tests.fuzz.mutations import FUZZ, fixtures, mutated

ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": zstandard.ZstdCompressor().compress,
}


def decode_bytes(data: bytes, encoding: str, limit: int) -> bytes:
    """The route's decoder run to its end, on the loop and in its worker thread alike."""
    return asyncio.run(decode(data, encoding, limit, take=lambda size: None))


PLAIN = st.one_of(fixtures("envelopes", ".envelope"), st.binary(max_size=2_000))


def _decode(data: bytes, encoding: str, limit: int) -> bytes | None:
    try:
        out = decode_bytes(data, encoding, limit)
    except IngestError as error:
        assert error.status in (400, 413) and error.detail, error
        return None
    assert len(out) <= limit
    return out


@FUZZ
@given(PLAIN, st.sampled_from(SUPPORTED), st.integers(0, 4_000))
def test_a_valid_stream_decodes_exactly_or_is_too_large(
    plain: bytes, encoding: str, limit: int
) -> None:
    try:
        out = decode_bytes(ENCODERS[encoding](plain), encoding, limit)
    except IngestError as error:
        assert error.status == 413 and len(plain) > limit
        return
    assert out == plain


@FUZZ
@given(st.sampled_from(SUPPORTED), st.data())
def test_a_damaged_stream_is_refused_with_400_or_413(encoding: str, data: st.DataObject) -> None:
    body = data.draw(mutated(PLAIN.map(ENCODERS[encoding])))
    _decode(body, encoding, 100_000)


@FUZZ
@given(st.binary(max_size=512), st.sampled_from(SUPPORTED))
def test_random_bytes_are_refused_or_decoded(body: bytes, encoding: str) -> None:
    _decode(body, encoding, 100_000)


@FUZZ
@given(st.sampled_from(SUPPORTED), st.integers(1, 64), st.integers(0, 3))
def test_a_bomb_stops_at_the_limit(encoding: str, kib: int, layers: int) -> None:
    """Zeros that expand past the limit, compressed once or several times over."""
    limit = kib * 1024
    body = bytes(limit * 16)
    encodings = [encoding] * (layers + 1)
    for name in encodings:
        body = ENCODERS[name](body)
    chunks = [body[i : i + 997] for i in range(0, len(body), 997)]
    try:
        asyncio.run(read_body(_stream(chunks), encodings, limit))
    except IngestError as error:
        assert error.status == 413
    else:
        raise AssertionError("a body 16 times the limit was decoded")


@FUZZ
@given(
    st.lists(
        st.one_of(
            st.sampled_from([*SUPPORTED, "identity", "utf-8", "", "GZIP", " br "]),
            st.text(max_size=8),
        ),
        max_size=4,
    ).map(", ".join)
)
def test_content_encoding_headers_are_understood_or_refused_with_415(header: str) -> None:
    try:
        encodings = parse_content_encoding(header)
    except IngestError as error:
        assert error.status == 415 and error.causes
        return
    assert set(encodings) <= set(SUPPORTED)


async def _stream(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
