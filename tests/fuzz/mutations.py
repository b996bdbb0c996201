"""Strategies that start from real SDK payloads (``tests/fixtures``) and damage them.

Random bytes alone rarely get past the first JSON header; mutations of real envelopes, events,
minidumps and crash reports reach the item framing, the converters and row extraction. Each
mutation is one of the ways a payload really goes wrong: a byte changed, a range cut out or
repeated, a token that matters to the grammar inserted, a ``length`` off by some amount, the
body cut short.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st

FIXTURES = Path(__file__).parents[1] / "fixtures"
# Larger fixtures only slow every example down; they add no framing the small ones lack.
MAX_FIXTURE_BYTES = 100_000

# The profile the fuzz tests run under (registered in this folder's conftest.py).
FUZZ = settings.get_profile("fuzz")

# Tokens that mean something to one of the parsers under test.
TOKENS = [
    b"\n",
    b"\r\n",
    b"{",
    b"}",
    b"[",
    b"]",
    b'"',
    b"\\",
    b",",
    b":",
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b'"length":',
    b'"length":-1',
    b'"length":1e3',
    b'"length":18446744073709551616',
    b'"type":"event"',
    b'"type":"attachment"',
    b'"type":"integration"',
    b'"event_id":"x"',
    b"NaN",
    b"-Infinity",
    b"1" * 30,
    b"[" * 2000,
    b"{}",
    b"null",
    b"--",
]
_LENGTH = re.compile(rb'"length"\s*:\s*(-?\d+)')


@cache
def fixture_files(folder: str, suffix: str = "") -> tuple[Path, ...]:
    paths = sorted((FIXTURES / folder).iterdir())
    return tuple(
        p
        for p in paths
        if p.name.endswith(suffix) and p.is_file() and p.stat().st_size <= MAX_FIXTURE_BYTES
    )


def fixtures(folder: str, suffix: str = "") -> st.SearchStrategy[bytes]:
    """The bytes of one fixture file of ``folder`` (those up to ``MAX_FIXTURE_BYTES``)."""
    return st.sampled_from(fixture_files(folder, suffix)).map(Path.read_bytes)


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[bytes], max_mutations: int = 4) -> bytes:
    """``base`` with up to ``max_mutations`` mutations (possibly none: the original too)."""
    data = bytearray(draw(base))
    for _ in range(draw(st.integers(0, max_mutations))):
        kind = draw(st.sampled_from(_MUTATIONS))
        kind(draw, data)
    return bytes(data)


def _position(draw: st.DrawFn, data: bytearray) -> int:
    return draw(st.integers(0, len(data)))


def _flip(draw: st.DrawFn, data: bytearray) -> None:
    if data:
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))


def _delete(draw: st.DrawFn, data: bytearray) -> None:
    start = _position(draw, data)
    del data[start : start + draw(st.integers(1, 64))]


def _insert(draw: st.DrawFn, data: bytearray) -> None:
    piece = draw(st.one_of(st.sampled_from(TOKENS), st.binary(min_size=1, max_size=16)))
    at = _position(draw, data)
    data[at:at] = piece


def _repeat(draw: st.DrawFn, data: bytearray) -> None:
    start = _position(draw, data)
    piece = bytes(data[start : start + draw(st.integers(1, 256))])
    at = _position(draw, data)
    data[at:at] = piece


def _truncate(draw: st.DrawFn, data: bytearray) -> None:
    del data[_position(draw, data) :]


def _relength(draw: st.DrawFn, data: bytearray) -> None:
    """Change one item's declared ``length``: off by a little, negative, or huge."""
    matches = list(_LENGTH.finditer(data))
    if not matches:
        return
    match = draw(st.sampled_from(matches))
    old = int(match.group(1))
    new = draw(
        st.one_of(
            st.integers(-2, 2).map(lambda d: old + d),
            st.integers(-(2**70), 2**70),
            st.sampled_from([0, -1, 2**31, 2**63, 2**64]),
        )
    )
    data[match.start(1) : match.end(1)] = str(new).encode()


def _swap_lines(draw: st.DrawFn, data: bytearray) -> None:
    lines = bytes(data).split(b"\n")
    if len(lines) > 1:
        i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
        data[:] = b"\n".join(lines)


_MUTATIONS = [_flip, _delete, _insert, _repeat, _truncate, _relength, _swap_lines]
