"""Sentry's wildcard values: an unescaped ``*`` matches any run of characters, ``\\*`` is a star.

Matching is case-insensitive; anchored for ordinary fields, unanchored for ``message``
(spec 1.4). Plain values only need ``\\*`` turned back into ``*``.
"""

from __future__ import annotations

import re
from functools import lru_cache


def has_wildcard(value: str) -> bool:
    """Whether ``value`` holds a ``*`` preceded by an even number of backslashes."""
    escaped = False
    for char in value:
        if char == "*" and not escaped:
            return True
        escaped = char == "\\" and not escaped
    return False


def unescape(value: str) -> str:
    """The literal a non-wildcard value stands for."""
    return value.replace("\\*", "*")


@lru_cache(maxsize=512)
def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """The compiled, case-insensitive regular expression for a wildcard pattern.

    Use ``fullmatch`` for an anchored match and ``search`` for an unanchored one.
    """
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        following = pattern[index + 1 : index + 2]
        if char == "\\" and following in ("*", "\\"):
            parts.append(re.escape(following))
            index += 2
            continue
        parts.append(".*" if char == "*" else re.escape(char))
        index += 1
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)
