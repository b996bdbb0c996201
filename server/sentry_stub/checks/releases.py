"""Do events name their release and environment the way the team agreed?

Three things are checked per event: the release follows the naming (``<package>@<version>``,
as in ``agentsflowai-backend@1.0.0``, or a bare git SHA) and is one Sentry accepts at all; the
environment is one of the allowed names; and, where releases were created through the web API
(``sentry-cli releases new``), the event's release is one of them and was finalized. A
JavaScript event for which nothing was uploaded (no artifacts of its release, no file with one
of its debug ids) is reported too: Sentry would show its stack traces minified.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..processing import normalize

DEFAULT_ENVIRONMENTS = ("development", "staging", "production")
# `<package>@<version>` or a git commit SHA (full, or abbreviated to at least 7 digits).
DEFAULT_PATTERN = r"[^@\s]+@\S+|[0-9a-fA-F]{7,40}"
PROJECT_PLACEHOLDER = "{project}"
NO_WEB_API_RELEASES = "no releases were created through the web API"
NO_ARTIFACTS = (
    "a JavaScript event, but no source maps were uploaded for this release or its debug ids: "
    "Sentry would show its stack trace minified (see `sentry-stub check sourcemaps`)"
)


@dataclass(frozen=True)
class EventRelease:
    event_id: str
    project: str | None
    release: str | None
    environment: str | None


def compile_pattern(pattern: str, project: str | None) -> re.Pattern[str]:
    """The naming rule as a full-match regex; ``{project}`` stands for the event's project slug."""
    text = pattern.replace(PROJECT_PLACEHOLDER, re.escape(project or ""))
    try:
        return re.compile(text)
    except re.error as error:
        raise ValueError(f"release pattern {pattern!r} is not a valid regex: {error}") from None


def check_releases(
    events: Iterable[EventRelease],
    *,
    environments: Sequence[str] = DEFAULT_ENVIRONMENTS,
    pattern: str = DEFAULT_PATTERN,
    known_releases: Mapping[str, bool] | None = None,
    without_artifacts: Collection[str] = (),
) -> dict:
    """A JSON-ready report; ``known_releases`` maps each web-API release to "is finalized";
    ``without_artifacts`` names the JavaScript events with nothing uploaded to resolve against.

    ``None`` or an empty mapping means no release was created through the web API, and that
    part of the check is skipped (the report says so).
    """
    compile_pattern(pattern, None)  # a bad pattern is an error even without events
    problems: list[dict] = []
    releases: Counter[str] = Counter()
    seen_environments: Counter[str] = Counter()
    checked = 0
    for event in events:
        checked += 1
        releases[event.release or "(none)"] += 1
        seen_environments[event.environment or "(none)"] += 1
        found = _problems(event, environments, pattern, known_releases)
        if event.event_id in without_artifacts:
            found = [*found, ("release", event.release, NO_ARTIFACTS)]
        for field, value, problem in found:
            problems.append(
                {
                    "event_id": event.event_id,
                    "project": event.project,
                    "field": field,
                    "value": value,
                    "problem": problem,
                }
            )
    return {
        "passed": not problems,
        "checked": checked,
        "problems": problems,
        "releases": dict(releases),
        "environments": dict(seen_environments),
        "allowed_environments": list(environments),
        "pattern": pattern,
        "web_api_releases": (
            "checked: events must carry a release created through the web API and finalized"
            if known_releases
            else f"skipped: {NO_WEB_API_RELEASES}"
        ),
    }


def _problems(
    event: EventRelease,
    environments: Sequence[str],
    pattern: str,
    known_releases: Mapping[str, bool] | None,
) -> Iterable[tuple[str, str | None, str]]:
    release, environment = event.release, event.environment
    if not release:
        yield "release", release, "the event has no release (set `release` in the SDK options)"
    else:
        invalid = _invalid_for_sentry(release)
        if invalid:
            yield "release", release, f"Sentry would drop this release: {invalid}"
        elif not compile_pattern(pattern, event.project).fullmatch(release):
            yield (
                "release",
                release,
                f"does not follow the release naming {pattern!r} "
                "(`<project>@<version>` or a git SHA by default)",
            )
        elif known_releases and release not in known_releases:
            yield "release", release, "no release of this name was created through the web API"
        elif known_releases and not known_releases[release]:
            yield "release", release, "the release was created but never finalized"
    if not environment:
        yield "environment", environment, "the event has no environment"
    elif environment not in environments:
        yield (
            "environment",
            environment,
            f"not one of the allowed environments ({', '.join(environments)})",
        )


def _invalid_for_sentry(release: str) -> str | None:
    """Why Relay's release parser refuses ``release`` (bad characters, reserved names)."""
    if not normalize.RELAY_AVAILABLE:
        return None
    try:
        normalize.relay.parse_release(release)
    except normalize.RelayError as error:  # its InvalidReleaseError, made at run time
        return str(error).splitlines()[0]
    return None
