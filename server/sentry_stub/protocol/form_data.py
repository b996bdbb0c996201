"""The ``form_data`` item: plain multipart fields, stored and turned into an event as Relay does.

Relay collects the non-file fields of a minidump upload into one ``form_data`` item. Its payload
is a list of key/value pairs, each string written as a 4-byte little-endian length followed by
its UTF-8 bytes (Relay's ``FormDataWriter``); we write the same bytes so the item is what Relay
would forward. ``event_from_form_data`` is Relay's ``merge_formdata``: the fields crash reporters
(Breakpad, Crashpad, Electron) use to carry event data become one event object.
"""

from __future__ import annotations

import contextlib
import struct
from typing import Any

import orjson

_LENGTH = struct.Struct("<I")

# Relay ignores `sentry[...]` keys nested deeper than this (most `max_depth` limits in Event).
MAX_NESTED_KEYS = 7
# serde_json's default recursion limit: Relay fails to parse JSON that nests deeper.
MAX_JSON_DEPTH = 128


def encode_form_data(fields: list[tuple[str, str]]) -> bytes:
    """The ``form_data`` payload for ``fields``, byte for byte as Relay writes it."""
    parts = []
    for key, value in fields:
        for text in (key, value):
            data = text.encode("utf-8")
            parts += [_LENGTH.pack(len(data)), data]
    return b"".join(parts)


def decode_form_data(payload: bytes) -> list[tuple[str, str]]:
    """The fields of a ``form_data`` payload; a cut-off or non-UTF-8 entry ends the list."""
    fields = []
    rest = memoryview(payload)
    while rest:
        key, rest = _read_string(rest)
        value, rest = _read_string(rest) if key is not None else (None, rest)
        if key is None or value is None:
            break
        fields.append((key, value))
    return fields


def _read_string(data: memoryview) -> tuple[str | None, memoryview]:
    if len(data) < _LENGTH.size:
        return None, data[len(data) :]
    (length,) = _LENGTH.unpack_from(data)
    end = _LENGTH.size + length
    if len(data) < end:
        return None, data[len(data) :]
    try:
        return bytes(data[_LENGTH.size : end]).decode("utf-8"), data[end:]
    except UnicodeDecodeError:
        return None, data[end:]


def event_from_form_data(fields: list[tuple[str, str]]) -> dict[str, Any]:
    """Merge form fields into one event object, following Relay's ``merge_formdata``.

    * ``sentry`` and ``sentry___<anything>``: JSON merged into the event (existing values win);
    * ``sentry__1``, ``sentry__2``, ...: chunks of one JSON document, joined in index order;
    * ``sentry[a][b]``: the string value set at that nested path (first value wins);
    * anything else: ``extra.<field>``.

    Invalid JSON is skipped, as Relay skips it.
    """
    event: dict[str, Any] = {}
    chunks: dict[int, str] = {}
    for key, value in fields:
        if key == "sentry" or key.startswith("sentry___"):
            _merge_json(event, value)
        elif (index := _chunk_index(key)) is not None:
            chunks[index] = value
        elif (path := _nested_keys(key)) is not None:
            if 0 < len(path) <= MAX_NESTED_KEYS:
                _set_nested(event, path, value)
        else:
            _set_nested(event, ["extra", key], value)
    if chunks:
        _merge_json(event, "".join(chunks[index] for index in sorted(chunks)))
    return event


def _merge_json(event: dict[str, Any], text: str) -> None:
    # orjson, like serde_json, refuses lone surrogate escapes, which no event could store.
    with contextlib.suppress(ValueError):
        value = orjson.loads(text)
        if _depth(value) > MAX_JSON_DEPTH:
            return  # serde_json's recursion limit: Relay cannot read it, so it is skipped
        merge_values(event, value)


def _depth(value: Any) -> int:
    """How many arrays and objects deep ``value`` nests (a scalar is 0)."""
    depth, level = 0, [value]
    while containers := [v for v in level if isinstance(v, dict | list)]:
        depth += 1
        level = [c for v in containers for c in (v.values() if isinstance(v, dict) else v)]
    return depth


def merge_values(target: dict[str, Any], source: Any) -> None:
    """Fill ``target`` from ``source`` recursively; values already in ``target`` are kept."""
    if not isinstance(source, dict):
        return
    for key, value in source.items():
        current = target.get(key)
        if current is None:
            target[key] = value
        elif isinstance(current, dict):
            merge_values(current, value)


def _chunk_index(key: str) -> int | None:
    digits = key.removeprefix("sentry__")
    return int(digits) if digits != key and digits.isascii() and digits.isdigit() else None


def _nested_keys(key: str) -> list[str] | None:
    """``["a", "b"]`` for ``sentry[a][b]``; None when brackets are not back to back."""
    if not key.startswith("sentry["):
        return None
    keys: list[str] = []
    rest = key[key.index("[") :]
    while rest.startswith("["):
        close = rest.find("]")
        if close < 0:
            return keys
        keys.append(rest[1:close])
        rest = rest[close + 1 :]
    return keys if rest == "" or rest.startswith("=") else None


def _set_nested(target: dict[str, Any], path: list[str], value: str) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
        if not isinstance(target, dict):
            return
    target.setdefault(path[-1], value)
