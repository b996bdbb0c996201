"""Raw envelopes are kept compressed, and unpacked where a reader needs their bytes.

Writing an envelope's bytes is most of what acknowledging it costs: a typical 12 KB envelope
spans several database pages, each written to the write-ahead log and again at checkpoint.
Zstandard at its fastest level shrinks it about ninefold for less CPU than the pages it saves,
and the database as a whole ends up smaller than the JSON it holds.

``envelopes.raw_encoding`` says how ``raw`` is kept: NULL for the bytes themselves (as the
query benchmark's bulk load writes them), ``"zstd"`` for a Zstandard frame. Item payloads are
slices of the unpacked envelope; SQL reaches them through the ``envelope_payload`` function that
``connect`` registers on every connection.
"""

from __future__ import annotations

import functools
import sqlite3
import threading

import zstandard

ZSTD = "zstd"
_local = threading.local()  # zstandard's (de)compressors must not be shared between threads


def pack(raw: bytes) -> tuple[bytes, str]:
    """``raw`` as stored, and the encoding to store beside it."""
    compressor = getattr(_local, "compressor", None)
    if compressor is None:
        compressor = _local.compressor = zstandard.ZstdCompressor(level=1)
    return compressor.compress(raw), ZSTD


@functools.lru_cache(maxsize=16)  # the items of one envelope are usually read together
def unpack(stored: bytes, encoding: str | None) -> bytes:
    """The envelope's bytes, exactly as they were received."""
    if encoding is None:
        return stored
    if encoding != ZSTD:
        raise ValueError(f"unknown envelope encoding {encoding!r}")
    decompressor = getattr(_local, "decompressor", None)
    if decompressor is None:
        decompressor = _local.decompressor = zstandard.ZstdDecompressor()
    return decompressor.decompress(stored)


def envelope_payload(stored: bytes | None, encoding: str | None, offset: int, length: int):
    """SQL ``envelope_payload(raw, raw_encoding, payload_offset, length)``: an item's bytes."""
    if stored is None or offset is None or length is None:
        return None
    return unpack(bytes(stored), encoding)[offset : offset + length]


def register(connection: sqlite3.Connection) -> None:
    connection.create_function("envelope_payload", 4, envelope_payload, deterministic=True)
