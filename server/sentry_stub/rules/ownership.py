"""Issue ownership rules: Sentry's rule syntax, its glob matching and its precedence (spec §6).

A rules text is one rule per line, ``[type:]pattern owner owner ...``, where type is ``path``
(the default), ``module``, ``url``, ``codeowners`` or ``tags.<key>``, and an owner is a user
e-mail or a ``#team``. Globs behave as Relay's: ``*`` also crosses ``/``, a leading ``**/`` is
"any directories or none", a trailing ``/**`` is "anything below", and the whole value must match.
Paths, modules and URLs compare case-insensitively, tag values case-sensitively.

Precedence follows current Sentry: rules that matched a stack frame come first, the nearer that
frame is to the crashing frame the earlier; among rules matching the same frame, and among rules
matching other data (URL, tags), the later rule in the text wins. The first owner of the result is
the one Sentry would auto-assign.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..protocol.payload import event_exceptions

FRAME_TYPES = ("path", "module", "codeowners")
_RULE = re.compile(
    r"(?:(?P<type>url|path|module|codeowners|tags\.[^:\s]+):)?"
    r'(?P<pattern>"(?:[^"\\]|\\.)*"|\S+)(?P<owners>.*)'
)


class OwnershipSyntaxError(ValueError):
    """A rules text that does not parse; the message names the line."""


@dataclass(frozen=True)
class Owner:
    type: str  # "user" or "team"
    identifier: str

    def __str__(self) -> str:
        return f"#{self.identifier}" if self.type == "team" else self.identifier

    def to_json(self) -> dict:
        return {"type": self.type, "identifier": self.identifier}


@dataclass(frozen=True)
class OwnershipRule:
    type: str  # path, module, url, codeowners or tags.<key>
    pattern: str
    owners: tuple[Owner, ...]
    line: int

    def __str__(self) -> str:
        owners = " ".join(str(owner) for owner in self.owners)
        return f"{self.type}:{self.pattern} {owners}".rstrip()

    def to_json(self) -> dict:
        """Sentry's serialised form of a rule, plus the line it came from."""
        return {
            "matcher": {"type": self.type, "pattern": self.pattern},
            "owners": [owner.to_json() for owner in self.owners],
            "line": self.line,
        }


@dataclass(frozen=True)
class Match:
    """One rule that matched, and what it matched (a frame's distance from the crash, or none)."""

    rule: OwnershipRule
    value: str
    frame_distance: int | None


def parse_ownership(text: str) -> tuple[OwnershipRule, ...]:
    """Parse an ownership rules text; errors name the line and what is wrong with it."""
    rules = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        found = _RULE.fullmatch(stripped)
        assert found is not None  # the pattern accepts any non-blank line
        kind = found.group("type") or "path"  # as in Sentry, "foo:x" is the path "foo:x"
        pattern = found.group("pattern")
        if pattern.startswith('"'):
            pattern = pattern[1:-1].encode("utf-8").decode("unicode-escape")
        owners = tuple(_owner(word) for word in found.group("owners").split())
        if not owners and kind != "codeowners":
            raise OwnershipSyntaxError(f"line {number}: rule {stripped!r} names no owner")
        rules.append(OwnershipRule(kind, pattern, owners, number))
    return tuple(rules)


def matching_rules(rules: tuple[OwnershipRule, ...], event: dict[str, Any]) -> list[Match]:
    """The rules that match ``event``, in precedence order (the winner first)."""
    frames = list(_frames_nearest_first(event))
    matches = []
    for order, rule in enumerate(rules):
        match = _match(rule, event, frames)
        if match is not None:
            matches.append((order, match))
    frame_matches = [(o, m) for o, m in matches if m.frame_distance is not None]
    other_matches = [(o, m) for o, m in matches if m.frame_distance is None]
    frame_matches.sort(key=lambda pair: (pair[1].frame_distance, -pair[0]))
    other_matches.sort(key=lambda pair: -pair[0])
    return [match for _, match in frame_matches + other_matches]


def owners_of(matches: list[Match]) -> list[Owner]:
    """Owners in precedence order, each once."""
    return list(dict.fromkeys(owner for match in matches for owner in match.rule.owners))


def glob_match(pattern: str, value: str, *, ignore_case: bool = True) -> bool:
    """Relay's glob (``double_star=false``): ``*`` crosses ``/``, the whole value must match."""
    compiled = _glob_regex(pattern, ignore_case)
    return compiled is not None and compiled.fullmatch(value) is not None


def codeowners_match(pattern: str, path: str) -> bool:
    """A CODEOWNERS (gitignore-style) pattern: ``*`` stays within a directory, ``**`` crosses."""
    anchored = "/" in pattern.rstrip("/")
    body = pattern.lstrip("/")
    if body.endswith("/"):
        body += "**"
    regex = _translate(body, star="[^/]*")
    prefix = "" if anchored else "(?:.*/)?"
    return re.fullmatch(prefix + regex + "(?:/.*)?", path.lstrip("/"), re.IGNORECASE) is not None


def _match(rule: OwnershipRule, event: dict, frames: list[tuple[int, dict]]) -> Match | None:
    if rule.type in FRAME_TYPES:
        for distance, frame in frames:
            if rule.type == "codeowners" and frame.get("in_app") is False:
                continue
            for value in _frame_values(rule.type, frame):
                if _frame_value_matches(rule, value):
                    return Match(rule, value, distance)
        return None
    for value in _event_values(rule.type, event):
        if glob_match(rule.pattern, value, ignore_case=rule.type == "url"):
            return Match(rule, value, None)
    return None


def _frame_value_matches(rule: OwnershipRule, value: str) -> bool:
    if rule.type == "codeowners":
        return codeowners_match(rule.pattern, value)
    return glob_match(rule.pattern.replace("\\", "/"), value)


def _frame_values(kind: str, frame: dict) -> Iterator[str]:
    keys = ("module",) if kind == "module" else ("filename", "abs_path")
    for key in keys:
        value = frame.get(key)
        if isinstance(value, str) and value:
            yield value.replace("\\", "/")


def _event_values(kind: str, event: dict) -> Iterator[str]:
    if kind == "url":
        request = event.get("request")
        url = request.get("url") if isinstance(request, dict) else None
        if isinstance(url, str):
            yield url
        return
    key = kind.removeprefix("tags.")
    if key.startswith("user."):
        user = event.get("user")
        value = user.get(key.removeprefix("user.")) if isinstance(user, dict) else None
        if value is not None:
            yield str(value)
    aliases = {key, f"sentry:{key}", key.removeprefix("sentry:")}
    for tag_key, tag_value in _tags(event):
        if tag_key in aliases and tag_value is not None:
            yield tag_value
    if key in ("release", "environment", "level", "transaction", "logger", "dist"):
        value = event.get(key)
        if isinstance(value, str):
            yield value


def _tags(event: dict) -> Iterator[tuple[str, str | None]]:
    tags = event.get("tags")
    pairs = tags.items() if isinstance(tags, dict) else tags if isinstance(tags, list) else []
    for pair in pairs:
        if isinstance(pair, list | tuple) and len(pair) == 2 and isinstance(pair[0], str):
            yield pair[0], None if pair[1] is None else str(pair[1])


def _frames_nearest_first(event: dict) -> Iterator[tuple[int, dict]]:
    """Frames numbered by distance from the crashing frame (last frame of the last exception)."""
    stacks = [value.get("stacktrace") for value in reversed(event_exceptions(event))]
    stacks.append(event.get("stacktrace"))
    distance = 0
    for stack in stacks:
        frames = stack.get("frames") if isinstance(stack, dict) else None
        for frame in reversed(frames or []):
            if isinstance(frame, dict):
                yield distance, frame
                distance += 1


def _owner(word: str) -> Owner:
    if word.startswith("#"):
        return Owner("team", word[1:])
    return Owner("user", word.lower())


@lru_cache(maxsize=1024)
def _glob_regex(pattern: str, ignore_case: bool) -> re.Pattern[str] | None:
    body, prefix, suffix = pattern, "", ""
    if body.startswith("**/"):
        body, prefix = body[3:], "(?:.*/)?"
    if body.endswith("/**"):
        body, suffix = body[:-3], "/.*"
    middle = "/(?:.*/)?".join(_translate(part, star=".*") for part in body.split("/**/"))
    regex = prefix + middle + suffix
    try:
        return re.compile(regex, re.IGNORECASE if ignore_case else 0)
    except re.error:
        return None  # an invalid pattern matches nothing, as in Relay


def _translate(pattern: str, *, star: str) -> str:
    """Glob syntax to a regex body: ``**``, ``*``, ``?``, ``[...]``, ``{a,b}``, ``\\x``."""
    out: list[str] = []
    index, depth = 0, 0
    while index < len(pattern):
        char = pattern[index]
        if char == "*":
            if pattern.startswith("**", index):
                out.append(".*")
                index += 2
                continue
            out.append(star)
        elif char == "?":
            out.append("[^/]" if star != ".*" else ".")
        elif char == "[":
            end = pattern.find("]", index + 2)
            if end < 0:
                out.append(re.escape(char))
            else:
                inner = pattern[index + 1 : end]
                negated = inner.startswith("!")
                inner = inner[1:] if negated else inner
                out.append("[" + ("^" if negated else "") + inner.replace("\\", "\\\\") + "]")
                index = end
        elif char == "{":
            out.append("(?:")
            depth += 1
        elif char == "}" and depth:
            out.append(")")
            depth -= 1
        elif char == "," and depth:
            out.append("|")
        elif char == "\\" and index + 1 < len(pattern):
            index += 1
            out.append(re.escape(pattern[index]))
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)
