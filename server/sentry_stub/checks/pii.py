"""Which personal data would Sentry's scrubbers have to remove from what an SDK sent?

An app should not rely on the server to scrub: whatever leaves the process has leaked. So each
event *as the SDK sent it* is normalized and scrubbed exactly as Sentry does it, through Relay's
own code in the ``sentry-relay`` package, with Sentry's default scrubbers on and the project's
sensitive fields added. Every value the scrubbers changed is a leak; the remark Relay left in
``_meta`` names the rule. Values the app already replaced (with ``[Filtered]``, say) come out
unchanged and are not leaks.

Besides, the data ``send_default_pii=True`` makes sentry-python collect (the user's IP address,
cookies, and sensitive request headers, as Sentry's "Data Collected" page lists them) is
reported under the rule ``send_default_pii``, because Sentry's default scrubbers keep most of it.

Paths are those of the normalized event, as Sentry shows them: ``request.data.password``,
``request.headers.Authorization``, ``request.cookies.session`` (Relay parses a ``Cookie``
header into cookies), ``logentry.formatted`` (for ``message``).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from ..processing import normalize
from ..settings.values import Scrubbing
from .pii_triggers import allow_entry, describe

# The fields the mission's Security & Privacy settings list; always scrubbed by this check.
DEFAULT_SENSITIVE_FIELDS = ("password", "token", "api_key", "credit_card")
SEND_DEFAULT_PII = "send_default_pii"
# Headers sentry-python blanks unless send_default_pii is on.
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "cookie",
        "proxy-authorization",
        "set-cookie",
        "x-api-key",
        "x-forwarded-for",
        "x-real-ip",
    }
)
EXCERPT_LENGTH = 60
# Fields Relay's normalizer derives from others; their leaks are reported at the source.
DERIVED_PATHS = frozenset({"user.sentry_user"})
# What scrubbers put in place of a value: "[Filtered]", "[ip]", "[Blob substitute]", ...
SUBSTITUTE = re.compile(r"\[[\w ]+\]")
SCOPES = ("app", "all")
# Where an event keeps stack frames (a path prefix before ``N.stacktrace.frames``).
FRAME_CONTAINERS = ("exception.values", "threads.values")


class PiiCheckUnavailable(RuntimeError):
    """The ``sentry-relay`` package, which does the scrubbing, cannot be imported here."""


@dataclass(frozen=True)
class Finding:
    """One value that left the app although a scrubber would have removed it."""

    event_id: str
    path: str
    rule: str
    excerpt: str
    project: str | None = None
    trigger: str = ""  # what made the rule fire: the key, a word or a pattern in the value
    library_frame: bool = False  # a local variable of a frame that is not the app's own

    def to_json(self) -> dict:
        return {
            "event_id": self.event_id,
            "project": self.project,
            "path": self.path,
            "rule": self.rule,
            "trigger": self.trigger,
            "excerpt": self.excerpt,
            "allow": allow_entry(self.path),
        }


def check_scrubbing(scrubbing: Scrubbing) -> Scrubbing:
    """The settings the check scrubs with: defaults on, plus the mission's sensitive fields."""
    fields = tuple(dict.fromkeys((*DEFAULT_SENSITIVE_FIELDS, *scrubbing.sensitive_fields)))
    return replace(scrubbing, scrub_data=True, scrub_defaults=True, sensitive_fields=fields)


def find_leaks(
    event_id: str, event: dict, scrubbing: Scrubbing, *, project: str | None = None
) -> list[Finding]:
    """Every value of ``event`` that Sentry's scrubbers (with ``scrubbing``) would change."""
    if not normalize.RELAY_AVAILABLE:
        raise PiiCheckUnavailable(normalize.RELAY_MISSING_REASON)
    relay = normalize.relay
    try:
        before = _normalizer().normalize_event(event)
    except normalize.RelayError:
        before = event  # Relay's scrubber takes what its normalizer refused, as it is
    after = relay.pii_strip_event(normalize.pii_config(check_scrubbing(scrubbing)), before)
    known = {(tuple(segments), rule) for segments, rule in _remarks(before.get("_meta") or {})}
    fields = check_scrubbing(scrubbing).sensitive_fields
    library = tuple(_library_frame_vars(before))
    findings: dict[str, Finding] = {}
    for segments, rule in _remarks(after.get("_meta") or {}):
        if (tuple(segments), rule) in known or rule.startswith("!"):
            continue  # remarks the SDK or the normalizer made, not the scrubbers
        path, original = _locate(before, segments)
        _, scrubbed = _locate(after, segments)
        reported_elsewhere = path in findings or path in DERIVED_PATHS
        if reported_elsewhere or _is_empty(original) or original == scrubbed:
            continue
        excerpt = redacted_excerpt(original, scrubbed)
        trigger = describe(rule, path, original, scrubbed, fields)
        in_library = path.startswith(library)
        findings[path] = Finding(event_id, path, rule, excerpt, project, trigger, in_library)
    for path, value in _default_pii(event, before):
        if path not in findings:
            excerpt = redacted_excerpt(value, None)
            trigger = "sent because the SDK has send_default_pii=True"
            findings[path] = Finding(event_id, path, SEND_DEFAULT_PII, excerpt, project, trigger)
    return list(findings.values())


def pii_report(
    findings: Iterable[Finding],
    *,
    checked: int,
    allow: Sequence[str] = (),
    include: Sequence[str] = (),
    scope: str = "app",
) -> dict:
    """Sort findings into leaks, allowed ones and skipped ones; it passes with no leak left.

    ``include`` (paths, prefixes or globs, as ``allow``) limits the check to those paths; scope
    ``app`` skips the variables of library frames, whose objects are the framework's (FastAPI's
    ``dependant`` repr mentions ``own_oauth_scopes``, which Relay filters for ``auth``).
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    leaks: list[dict] = []
    allowed: list[dict] = []
    skipped: list[dict] = []
    for finding in findings:
        if (include and not is_allowed(finding.path, include)) or (
            scope == "app" and finding.library_frame
        ):
            skipped.append(finding.to_json())
        else:
            (allowed if is_allowed(finding.path, allow) else leaks).append(finding.to_json())
    return {
        "passed": not leaks,
        "checked": checked,
        "events_with_leaks": len({leak["event_id"] for leak in leaks}),
        "leaks": leaks,
        "allowed": allowed,
        "skipped": skipped,
        "allow": list(allow),
        "include": list(include),
        "scope": scope,
        "sensitive_fields": list(DEFAULT_SENSITIVE_FIELDS),
    }


def is_allowed(path: str, allow: Sequence[str]) -> bool:
    """An allow entry matches a path exactly, as a prefix (``request.headers``), or as a glob."""
    return any(
        path == pattern or path.startswith(pattern + ".") or fnmatch.fnmatchcase(path, pattern)
        for pattern in allow
    )


def redacted_excerpt(original: Any, scrubbed: Any) -> str:
    """The original value with every part the scrubber replaced masked (``hunter2`` -> ``hu****2``).

    Where only part of a string was replaced (an email inside a message, the password inside a
    URL), the text around it stays readable.
    """
    if not isinstance(original, str):
        return _shorten(_mask(json.dumps(original, ensure_ascii=False)))
    if not isinstance(scrubbed, str):
        return _shorten(_mask(original))
    return _shorten(_mask_changed_parts(original, scrubbed))


def _mask_changed_parts(original: str, scrubbed: str) -> str:
    """Keep the longest common prefix and suffix readable, mask what lies between."""
    start = 0
    limit = min(len(original), len(scrubbed))
    while start < limit and original[start] == scrubbed[start]:
        start += 1
    end = 0
    while end < limit - start and original[-1 - end] == scrubbed[-1 - end]:
        end += 1
    return (
        original[:start]
        + _mask(original[start : len(original) - end])
        + original[len(original) - end :]
    )


def _mask(text: str) -> str:
    """Show at most the first two and the last character, and only of longer values."""
    if len(text) <= 3:
        return "*" * len(text)
    if len(text) < 7:
        return text[0] + "*" * (len(text) - 1)
    return text[:2] + "*" * min(len(text) - 3, 12) + text[-1]


def _shorten(text: str) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= EXCERPT_LENGTH else text[: EXCERPT_LENGTH - 1] + "…"


@lru_cache(maxsize=1)
def _normalizer() -> Any:
    return normalize.relay.StoreNormalizer(**normalize.NORMALIZER_CONFIG)


def _remarks(meta: dict, segments: list[str] | None = None) -> Iterator[tuple[list[str], str]]:
    """``(path segments, rule id)`` for every remark in a ``_meta`` tree."""
    segments = segments or []
    for key, child in meta.items():
        if not isinstance(child, dict):
            continue
        if key == "":
            for remark in child.get("rem") or []:
                if isinstance(remark, list) and remark and isinstance(remark[0], str):
                    yield segments, remark[0]
        else:
            yield from _remarks(child, [*segments, key])


def _locate(document: Any, segments: Sequence[str]) -> tuple[str, Any]:
    """The readable path of ``segments`` and the value there.

    Relay keeps headers, cookies and query strings as ``[name, value]`` pairs; ``_meta`` points
    into them by index (``headers.0.1``), which reads better as ``headers.Authorization``.
    """
    names: list[str] = []
    node = document
    index = 0
    while index < len(segments):
        segment = segments[index]
        if isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
            element = node[int(segment)]
            if _is_pair(element) and segments[index + 1 : index + 2] == ["1"]:
                names.append(element[0])
                node = element[1]
                index += 2
                continue
            names.append(segment)
            node = element
        else:
            names.append(segment)
            node = node.get(segment) if isinstance(node, dict) else None
        index += 1
    return ".".join(names), node


def _library_frame_vars(event: dict) -> Iterator[str]:
    """Path prefixes of the ``vars`` of frames the SDK marked ``in_app: false``."""
    for container in FRAME_CONTAINERS:
        holder: Any = event
        for key in container.split("."):
            holder = holder.get(key) if isinstance(holder, dict) else None
        for index, value in enumerate(holder if isinstance(holder, list) else []):
            stacktrace = value.get("stacktrace") if isinstance(value, dict) else None
            frames = stacktrace.get("frames") if isinstance(stacktrace, dict) else None
            for number, frame in enumerate(frames if isinstance(frames, list) else []):
                if isinstance(frame, dict) and frame.get("in_app") is False:
                    yield f"{container}.{index}.stacktrace.frames.{number}.vars"


def _default_pii(sent: dict, normalized: dict) -> Iterator[tuple[str, Any]]:
    """What ``send_default_pii=True`` adds: the user's IP, cookies, sensitive headers.

    Values the SDK already blanked or replaced (``""``, ``[Filtered]``) are not reported.
    """
    user = sent.get("user")
    request = normalized.get("request")
    request = request if isinstance(request, dict) else {}
    env = request.get("env")
    candidates = [
        ("user.ip_address", user.get("ip_address") if isinstance(user, dict) else None),
        ("request.env.REMOTE_ADDR", env.get("REMOTE_ADDR") if isinstance(env, dict) else None),
        *((f"request.cookies.{name}", value) for name, value in _pairs(request.get("cookies"))),
        *(
            (f"request.headers.{name}", value)
            for name, value in _pairs(request.get("headers"))
            if name.lower() in SENSITIVE_HEADERS
        ),
    ]
    for path, value in candidates:
        if not _is_empty(value) and not (isinstance(value, str) and SUBSTITUTE.fullmatch(value)):
            yield path, value


def _pairs(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        yield from value.items()
    elif isinstance(value, list):
        yield from (tuple(pair) for pair in value if _is_pair(pair))


def _is_pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}
