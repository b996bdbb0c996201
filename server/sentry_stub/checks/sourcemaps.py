"""Would Sentry show a JavaScript event's stack frames with their original source?

Each frame is resolved the way Sentry resolves it: first by the debug id the SDK reports for the
frame's file (``debug_meta.images`` of type ``sourcemap``), then by the event's release and dist
and the frame's URL against the release's artifacts (``~/`` matching any scheme and host),
following the minified file's ``Sourcemap`` header, its ``//# sourceMappingURL`` comment, or a
source map with its debug id. The source map itself is read by ``symbolic``, Sentry's own
library. Every frame that stays minified gets its reason in words.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

try:
    from symbolic.exceptions import SymbolicError
    from symbolic.sourcemap import SourceMapView, SourceView

    SYMBOLIC_AVAILABLE = True
except ImportError:  # no wheel for this platform
    SYMBOLIC_AVAILABLE = False

JAVASCRIPT_PLATFORMS = ("javascript", "node")
MAX_CONTEXT_LINE = 200  # characters of the original source line kept in a report
NEAREST_URLS = 3
# The last `//# sourceMappingURL=` (or the older `//@`) comment of a minified file.
SOURCE_MAPPING_URL = re.compile(rb"[#@][ \t]*sourceMappingURL=[ \t]*(\S+)[ \t]*(?:\*/)?\s*$")
TILDE_BASE = "http://tilde.invalid"  # stands for `~` while URLs are joined


class SourceMapsUnavailable(RuntimeError):
    """``symbolic`` is not installed (it has wheels for Linux x86-64/arm64 and macOS only)."""


@dataclass(frozen=True)
class Artifact:
    """One uploaded file: from an artifact bundle, or uploaded alone by sentry-cli 2.x."""

    id: int
    url: str
    type: str  # minified_source, source_map, source, indexed_ram_bundle; "" when uploaded alone
    release: str | None
    dist: str | None
    debug_id: str | None
    sourcemap: str | None  # the Sourcemap header: the map's URL relative to this file's
    content: bytes


@dataclass(frozen=True)
class Frame:
    abs_path: str | None
    lineno: int | None
    colno: int | None
    function: str | None
    in_app: bool
    path: str = ""  # where in the event, as Relay writes it: exception.values.0.stacktrace.frames.3


@dataclass(frozen=True)
class JsEvent:
    event_id: str
    project: str | None
    release: str | None
    dist: str | None
    frames: tuple[Frame, ...]
    debug_ids: Mapping[str, str]  # code_file (a frame's abs_path) -> debug id


@dataclass(frozen=True)
class Artifacts:
    """What one event's frames can resolve against."""

    of_release: tuple[Artifact, ...] = ()  # the event's release, every dist, newest first
    by_debug_id: Mapping[str, tuple[Artifact, ...]] = field(default_factory=dict)
    # For the reason of a miss: the releases (other than the event's) that have each URL.
    releases_by_url: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


class _Unresolved(Exception):
    """A frame stays minified; the message says why."""


@dataclass
class _Resolution:
    by: str  # "debug id" or "release"
    map_url: str
    source: str | None
    line: int
    column: int
    function: str | None
    context_line: str | None


def js_event(record: Mapping[str, Any]) -> JsEvent | None:
    """The frames and resolution keys of an event record; None unless it is JavaScript."""
    data = record.get("data") or {}
    if not isinstance(data, dict) or data.get("platform") not in JAVASCRIPT_PLATFORMS:
        return None
    return JsEvent(
        event_id=record["event_id"],
        project=record.get("project"),
        release=_text(data.get("release")),
        dist=_text(data.get("dist")),
        frames=tuple(_frames(data)),
        debug_ids=_debug_ids(data),
    )


def resolve_event(
    event: JsEvent, artifacts: Artifacts, maps: dict[Any, Any] | None = None
) -> list[dict]:
    """One JSON-ready answer per frame, innermost last as in the event; ``maps`` keeps the
    maps and minified files read (by artifact id) for the next event of the same report."""
    maps = {} if maps is None else maps
    return [_frame_answer(frame, event, artifacts, maps) for frame in event.frames]


def sourcemaps_report(results: Iterable[tuple[JsEvent, list[dict]]]) -> dict:
    """``passed`` when every in-app frame of every event resolves (and there was an event)."""
    events = []
    unresolved_count = 0
    for event, frames in results:
        unresolved = [f for f in frames if counts(f) and not f["resolved"]]
        unresolved_count += len(unresolved)
        events.append(
            {
                "event_id": event.event_id,
                "project": event.project,
                "release": event.release,
                "dist": event.dist,
                "resolved": not unresolved,
                "frames": frames,
            }
        )
    return {
        "passed": bool(events) and unresolved_count == 0,
        "checked": len(events),
        "unresolved_frames": unresolved_count,
        "events": events,
    }


def url_candidates(abs_path: str) -> list[str]:
    """The names an uploaded file may have to match ``abs_path``, most specific first."""
    parts = urlsplit(abs_path)
    bare = abs_path.split("#", 1)[0].split("?", 1)[0]
    names = [abs_path, bare]
    if parts.path.startswith("/"):  # `~` stands for any scheme and host, or none
        query = f"?{parts.query}" if parts.query else ""
        names += [f"~{parts.path}{query}", f"~{parts.path}"]
    return list(dict.fromkeys(names))


def has_app_frames(event: JsEvent) -> bool:
    """Whether the event has in-app frames that a source map must resolve."""
    return any(frame.in_app and _looked_up(frame) for frame in event.frames)


def counts(answer: Mapping[str, Any]) -> bool:
    """Whether a frame's answer decides the check: an in-app frame Sentry would look up."""
    return bool(answer["in_app"] and answer["checked"])


# --- one frame ------------------------------------------------------------------------------


def _frame_answer(frame: Frame, event: JsEvent, artifacts: Artifacts, maps: dict) -> dict:
    answer: dict[str, Any] = {
        "path": frame.path,
        "abs_path": frame.abs_path,
        "lineno": frame.lineno,
        "colno": frame.colno,
        "in_app": frame.in_app,
        "checked": _looked_up(frame),
        "resolved": False,
        "reason": None,
        "resolved_by": None,
        "map": None,
        "source": None,
        "line": None,
        "column": None,
        "function": frame.function,
        "context_line": None,
    }
    try:
        resolution = _resolve(frame, event, artifacts, maps)
    except _Unresolved as miss:
        answer["reason"] = str(miss)
        return answer
    answer.update(
        resolved=resolution.context_line is not None,
        resolved_by=resolution.by,
        map=resolution.map_url,
        source=resolution.source,
        line=resolution.line,
        column=resolution.column,
        function=resolution.function or frame.function,
        context_line=resolution.context_line,
    )
    if resolution.context_line is None:
        answer["reason"] = (
            f"the source map {resolution.map_url} has no sourcesContent for {resolution.source}: "
            f"Sentry would name {resolution.source}:{resolution.line} but show no code "
            "(build the maps with their sources included, or upload the sources)"
        )
    return answer


def _looked_up(frame: Frame) -> bool:
    """Sentry looks up frames with a file URL, a line and a column; it shows others as sent
    (``<anonymous>``, ``native``, a frame without a column)."""
    url = frame.abs_path or ""
    has_url = "://" in url or url.startswith(("~/", "/"))
    return has_url and frame.lineno is not None and frame.colno is not None


def _resolve(frame: Frame, event: JsEvent, artifacts: Artifacts, maps: dict) -> _Resolution:
    if not _looked_up(frame):
        raise _Unresolved(
            "not looked up: Sentry resolves frames with a file URL, a line and a column, and "
            "shows this one as sent"
        )
    debug_id = event.debug_ids.get(frame.abs_path or "")
    debug_id_miss = None
    if debug_id:
        try:
            return _by_debug_id(frame, debug_id, artifacts, maps)
        except _Unresolved as miss:
            debug_id_miss = str(miss)
    try:
        return _by_release(frame, event, artifacts, maps)
    except _Unresolved as miss:
        if debug_id_miss is None:
            raise
        raise _Unresolved(f"{debug_id_miss}; by release: {miss}") from None


def _by_debug_id(frame: Frame, debug_id: str, artifacts: Artifacts, maps: dict) -> _Resolution:
    files = artifacts.by_debug_id.get(debug_id, ())
    source_map = next((f for f in files if f.type == "source_map"), None)
    minified = next((f for f in files if f.type != "source_map"), None)
    if source_map is None and minified is not None:
        source_map = _linked_map(minified, files)
    if source_map is None:
        if files:
            raise _Unresolved(f"debug id {debug_id} was uploaded without its source map")
        raise _Unresolved(
            f"debug id {debug_id} of {frame.abs_path} was not uploaded (were the files "
            "injected after the upload? run `sentry-cli sourcemaps inject` before "
            "`sourcemaps upload`)"
        )
    return _lookup(frame, source_map, minified, "debug id", maps, files)


def _by_release(frame: Frame, event: JsEvent, artifacts: Artifacts, maps: dict) -> _Resolution:
    assert frame.abs_path is not None
    release = event.release
    if not release:
        raise _Unresolved("the event has no release (and no uploaded debug id for this file)")
    candidates = url_candidates(frame.abs_path)
    if not artifacts.of_release:
        by_url = artifacts.releases_by_url
        elsewhere = sorted({r for url in candidates for r in by_url.get(url, ())})
        hint = f"; {candidates[-1]} was uploaded for {_names(elsewhere)}" if elsewhere else ""
        raise _Unresolved(f"no artifacts were uploaded for release {release!r}{hint}")
    same_dist = tuple(a for a in artifacts.of_release if a.dist == event.dist)
    if not same_dist:
        dists = sorted({a.dist or "(none)" for a in artifacts.of_release})
        raise _Unresolved(
            f"dist mismatch: the event's dist is {_dist(event.dist)}, release {release!r} has "
            f"artifacts for dist {', '.join(repr(d) for d in dists)}"
        )
    minified = _at_url(same_dist, candidates)
    if minified is None:
        other_dist = _at_url(artifacts.of_release, candidates)
        if other_dist is not None:
            raise _Unresolved(
                f"dist mismatch: {other_dist.url} was uploaded for dist {_dist(other_dist.dist)}, "
                f"the event's dist is {_dist(event.dist)}"
            )
        raise _Unresolved(
            f"no file at {' or '.join(candidates[-2:])} in release {release!r}"
            f"{_nearest(candidates[-1], same_dist)}"
        )
    if minified.type == "source_map":
        raise _Unresolved(f"{minified.url} is a source map, not the file the frame ran")
    source_map = _linked_map(minified, same_dist)
    return _lookup(frame, source_map, minified, "release", maps, same_dist)


def _linked_map(minified: Artifact, files: Sequence[Artifact]) -> Artifact:
    """The map the minified file points to: header, then comment, then its debug id."""
    reference = minified.sourcemap or _source_mapping_url(minified.content)
    if reference is None:
        same_id = next(
            (f for f in files if f.type == "source_map" and f.debug_id == minified.debug_id), None
        )
        if minified.debug_id and same_id is not None:
            return same_id
        raise _Unresolved(
            f"no source map: {minified.url} has neither a Sourcemap header nor a "
            "//# sourceMappingURL comment"
        )
    if reference.startswith("data:"):
        return Artifact(
            id=-minified.id,
            url=f"{minified.url} (inline map)",
            type="source_map",
            release=minified.release,
            dist=minified.dist,
            debug_id=minified.debug_id,
            sourcemap=None,
            content=_data_url(reference, minified.url),
        )
    map_url = _join(minified.url, reference)
    found = _at_url(files, url_candidates(map_url) if "://" in map_url else [map_url])
    if found is None:
        raise _Unresolved(
            f"no source map: {minified.url} points to {map_url}, which was not uploaded"
            f"{_nearest(map_url, files)}"
        )
    return found


def _lookup(
    frame: Frame,
    source_map: Artifact,
    minified: Artifact | None,
    by: str,
    maps: dict,
    files: Sequence[Artifact],
) -> _Resolution:
    assert frame.lineno is not None and frame.colno is not None
    view = _parsed(source_map, maps)
    minified_view = None
    if minified is not None and frame.function:
        key = ("minified", minified.id)
        minified_view = maps.get(key) or maps.setdefault(
            key, SourceView.from_bytes(minified.content)
        )
    token = view.lookup(
        max(frame.lineno - 1, 0),
        max(frame.colno - 1, 0),
        frame.function if minified_view else None,
        minified_view,
    )
    if token is None:
        raise _Unresolved(
            f"the source map {source_map.url} maps nothing at line {frame.lineno}, "
            f"column {frame.colno}"
        )
    context = None
    if token.src_id is not None:
        source_view = view.get_sourceview(token.src_id)
        if source_view is not None and token.src_line < len(source_view):
            context = source_view[token.src_line].rstrip("\r\n")[:MAX_CONTEXT_LINE]
    if context is None and token.src:
        context = _uploaded_source_line(source_map.url, token.src, token.src_line, files)
    return _Resolution(
        by=by,
        map_url=source_map.url,
        source=token.src,
        line=token.src_line + 1,
        column=token.src_col + 1,
        function=token.function_name,
        context_line=context,
    )


def _uploaded_source_line(
    map_url: str, source: str, line: int, files: Sequence[Artifact]
) -> str | None:
    """Without ``sourcesContent`` Sentry reads the original file where it was uploaded too:
    under the source's URL relative to the map's."""
    url = _join(map_url, source)
    uploaded = _at_url(files, url_candidates(url) if "://" in url else [url])
    if uploaded is None:
        return None
    lines = uploaded.content.decode("utf-8", "replace").splitlines()
    return lines[line].rstrip("\r\n")[:MAX_CONTEXT_LINE] if line < len(lines) else None


def _parsed(source_map: Artifact, maps: dict) -> Any:
    """The map read once per report; a broken one is the frame's reason."""
    if not SYMBOLIC_AVAILABLE:
        raise SourceMapsUnavailable(
            "the source map check needs the `symbolic` package (Sentry's own source map "
            "reader), which has wheels for Linux x86-64/arm64 and macOS only: pip install symbolic"
        )
    if source_map.id not in maps:
        try:
            maps[source_map.id] = SourceMapView.from_json_bytes(source_map.content)
        except SymbolicError as error:
            maps[source_map.id] = _Unresolved(
                f"{source_map.url} is not a valid source map: {error}"
            )
    parsed = maps[source_map.id]
    if isinstance(parsed, _Unresolved):
        raise parsed
    return parsed


# --- URLs and the event's JSON ----------------------------------------------------------------


def _at_url(files: Sequence[Artifact], candidates: Sequence[str]) -> Artifact | None:
    for name in candidates:
        found = next((f for f in files if f.url == name), None)
        if found is not None:
            return found
    return None


def _join(base: str, reference: str) -> str:
    """``reference`` (a map's URL) relative to ``base`` (a file's URL, maybe ``~/...``)."""
    if base.startswith("~/") and "://" not in reference and not reference.startswith("~/"):
        joined = urljoin(TILDE_BASE + base[1:], reference)
        return "~" + joined[len(TILDE_BASE) :] if joined.startswith(TILDE_BASE) else joined
    if reference.startswith("~/"):
        return reference
    return (
        urljoin(base, reference)
        if "://" in base
        else posixpath.join(posixpath.dirname(base), reference)
    )


def _source_mapping_url(content: bytes) -> str | None:
    for line in reversed(content.rstrip().splitlines()[-5:]):
        match = SOURCE_MAPPING_URL.search(line)
        if match:
            return match.group(1).decode("utf-8", "replace")
    return None


def _data_url(reference: str, where: str) -> bytes:
    header, _, payload = reference.partition(",")
    if not header.endswith(";base64"):
        raise _Unresolved(f"the inline source map of {where} is not base64 (not supported)")
    try:
        return base64.b64decode(payload, validate=True)
    except binascii.Error:
        raise _Unresolved(f"the inline source map of {where} is not valid base64") from None


def _nearest(url: str, files: Sequence[Artifact]) -> str:
    nearest = difflib.get_close_matches(url, sorted({f.url for f in files}), NEAREST_URLS, 0.3)
    return f"; nearest uploaded URLs: {', '.join(nearest)}" if nearest else ""


def _names(releases: Sequence[str]) -> str:
    label = "release" if len(releases) == 1 else "releases"
    return f"{label} {', '.join(repr(r) for r in releases)}"


def _dist(dist: str | None) -> str:
    return repr(dist) if dist else "none"


def _frames(data: dict) -> Iterable[Frame]:
    for where, stacktrace in _stacktraces(data):
        frames = stacktrace.get("frames")
        for index, frame in enumerate(frames if isinstance(frames, list) else []):
            if isinstance(frame, dict):
                yield Frame(
                    abs_path=_text(frame.get("abs_path")) or _text(frame.get("filename")),
                    lineno=_number(frame.get("lineno")),
                    colno=_number(frame.get("colno")),
                    function=_text(frame.get("function")),
                    in_app=frame.get("in_app") is not False,
                    path=f"{where}.frames.{index}",
                )


def _stacktraces(data: dict) -> Iterable[tuple[str, dict]]:
    exception = data.get("exception")
    values = exception.get("values") if isinstance(exception, dict) else exception
    for index, value in enumerate(values if isinstance(values, list) else []):
        if isinstance(value, dict) and isinstance(value.get("stacktrace"), dict):
            yield f"exception.values.{index}.stacktrace", value["stacktrace"]
    if isinstance(data.get("stacktrace"), dict):
        yield "stacktrace", data["stacktrace"]


def _debug_ids(data: dict) -> dict[str, str]:
    debug_meta = data.get("debug_meta")
    images = debug_meta.get("images") if isinstance(debug_meta, dict) else None
    found = {}
    for image in images if isinstance(images, list) else []:
        if isinstance(image, dict) and image.get("type") == "sourcemap":
            code_file, debug_id = _text(image.get("code_file")), _text(image.get("debug_id"))
            if code_file and debug_id:
                found[code_file] = debug_id.lower()
    return found


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
