"""The source map resolution, pure: hand-made minified files and maps, one reason per miss."""

from __future__ import annotations

import base64
import json

import pytest

from sentry_stub.checks import sourcemaps
from sentry_stub.checks.sourcemaps import (
    Artifact,
    Artifacts,
    Frame,
    JsEvent,
    js_event,
    resolve_event,
    sourcemaps_report,
    url_candidates,
)
from sentry_stub.checks.text import sourcemaps_text
from sentry_stub.records import Event

pytest.importorskip("symbolic", reason="symbolic has wheels for Linux x86-64/arm64, macOS only")

MINIFIED = b"function greet(n){return'hi '+n}greet('x');\n//# sourceMappingURL=app.min.js.map\n"
MAP = {
    "version": 3,
    "file": "app.min.js",
    "sources": ["../src/app.js"],
    "names": ["greet", "n"],
    "mappings": "AAAA,SAASA,MAAMC",
    "sourcesContent": ["function greet(n) { return 'hi ' + n }"],
}
URL = "https://cdn.example.com/static/app.min.js"
DEBUG_ID = "5b2a0b0f-3c4d-5e6f-8a9b-0c1d2e3f4a5b"


def artifact(
    url: str,
    content: bytes,
    *,
    id: int = 1,
    type: str = "minified_source",
    release: str | None = "1.0.0",
    dist: str | None = None,
    debug_id: str | None = None,
    sourcemap: str | None = None,
) -> Artifact:
    return Artifact(id, url, type, release, dist, debug_id, sourcemap, content)


def source_map(content: dict = MAP, **fields) -> Artifact:
    return artifact("~/static/app.min.js.map", json.dumps(content).encode(), id=2, **fields)


def event(
    *, release: str | None = "1.0.0", dist: str | None = None, debug_ids: dict | None = None
) -> JsEvent:
    frame = Frame(abs_path=URL, lineno=1, colno=20, function="greet", in_app=True)
    return JsEvent("e1", "webapp", release, dist, (frame,), debug_ids or {})


def only_frame(event: JsEvent, artifacts: Artifacts) -> dict:
    [frame] = resolve_event(event, artifacts)
    return frame


def release_files(*files: Artifact) -> Artifacts:
    return Artifacts(of_release=files)


def test_resolves_by_release_url_and_the_sourcemappingurl_comment() -> None:
    frame = only_frame(
        event(), release_files(artifact("~/static/app.min.js", MINIFIED), source_map())
    )
    assert frame["resolved"] is True, frame["reason"]
    assert frame["resolved_by"] == "release"
    assert (frame["source"], frame["line"], frame["column"]) == ("../src/app.js", 1, 16)
    assert frame["context_line"] == "function greet(n) { return 'hi ' + n }"
    assert frame["map"] == "~/static/app.min.js.map"
    assert frame["reason"] is None


def test_the_sourcemap_header_wins_over_the_comment() -> None:
    moved = artifact("~/maps/app.map", json.dumps(MAP).encode(), id=2, type="source_map")
    minified = artifact("~/static/app.min.js", MINIFIED, sourcemap="../maps/app.map")
    frame = only_frame(event(), release_files(minified, moved))
    assert frame["resolved"] and frame["map"] == "~/maps/app.map"


def test_an_inline_data_url_map() -> None:
    inline = base64.b64encode(json.dumps(MAP).encode()).decode()
    minified = MINIFIED.replace(
        b"app.min.js.map", f"data:application/json;base64,{inline}".encode()
    )
    frame = only_frame(event(), release_files(artifact("~/static/app.min.js", minified)))
    assert frame["resolved"] and frame["line"] == 1


def test_resolves_by_debug_id_without_a_release() -> None:
    files = (
        artifact("~/static/app.min.js", MINIFIED, release=None, debug_id=DEBUG_ID),
        source_map(type="source_map", release=None, debug_id=DEBUG_ID),
    )
    artifacts = Artifacts(by_debug_id={DEBUG_ID: files})
    frame = only_frame(event(release=None, debug_ids={URL: DEBUG_ID}), artifacts)
    assert frame["resolved"] and frame["resolved_by"] == "debug id"


def test_debug_id_not_uploaded_says_so_and_what_the_release_lookup_found() -> None:
    frame = only_frame(event(debug_ids={URL: DEBUG_ID}), Artifacts())
    assert not frame["resolved"]
    assert f"debug id {DEBUG_ID} of {URL} was not uploaded" in frame["reason"]
    assert "sourcemaps inject` before" in frame["reason"]
    assert "by release: no artifacts were uploaded for release '1.0.0'" in frame["reason"]


def test_debug_id_not_uploaded_falls_back_to_the_release() -> None:
    files = release_files(artifact("~/static/app.min.js", MINIFIED), source_map())
    frame = only_frame(event(debug_ids={URL: DEBUG_ID}), files)
    assert frame["resolved"] and frame["resolved_by"] == "release"


def test_no_artifact_for_the_release_names_the_releases_that_have_the_url() -> None:
    artifacts = Artifacts(releases_by_url={"~/static/app.min.js": ("0.9.0",)})
    frame = only_frame(event(), artifacts)
    assert frame["reason"] == (
        "no artifacts were uploaded for release '1.0.0'; "
        "~/static/app.min.js was uploaded for release '0.9.0'"
    )


def test_no_release_at_all() -> None:
    frame = only_frame(event(release=None), Artifacts())
    assert "the event has no release" in frame["reason"]


def test_dist_mismatch() -> None:
    files = release_files(artifact("~/static/app.min.js", MINIFIED, dist="web"))
    frame = only_frame(event(), files)
    assert frame["reason"] == (
        "dist mismatch: the event's dist is none, release '1.0.0' has artifacts for dist 'web'"
    )
    mixed = release_files(
        artifact("~/static/app.min.js", MINIFIED, dist="web"),
        artifact("~/static/other.js", MINIFIED, id=3, dist="ios"),
    )
    frame = only_frame(event(dist="ios"), mixed)
    assert frame["reason"] == (
        "dist mismatch: ~/static/app.min.js was uploaded for dist 'web', the event's dist is 'ios'"
    )


def test_no_file_at_the_url_names_the_nearest_urls() -> None:
    files = release_files(artifact("~/static/js/app.min.js", MINIFIED), source_map())
    frame = only_frame(event(), files)
    assert frame["reason"].startswith(
        "no file at https://cdn.example.com/static/app.min.js or ~/static/app.min.js"
        " in release '1.0.0'; nearest uploaded URLs: ~/static/js/app.min.js"
    )


def test_no_map_reference() -> None:
    bare = MINIFIED.split(b"//#")[0]
    frame = only_frame(event(), release_files(artifact("~/static/app.min.js", bare)))
    assert frame["reason"] == (
        "no source map: ~/static/app.min.js has neither a Sourcemap header nor a "
        "//# sourceMappingURL comment"
    )


def test_map_referenced_but_not_uploaded() -> None:
    frame = only_frame(event(), release_files(artifact("~/static/app.min.js", MINIFIED)))
    assert frame["reason"] == (
        "no source map: ~/static/app.min.js points to ~/static/app.min.js.map, "
        "which was not uploaded; nearest uploaded URLs: ~/static/app.min.js"
    )


def test_map_without_sources_content_names_the_place_but_does_not_resolve() -> None:
    without = {key: value for key, value in MAP.items() if key != "sourcesContent"}
    files = release_files(artifact("~/static/app.min.js", MINIFIED), source_map(without))
    frame = only_frame(event(), files)
    assert not frame["resolved"]
    assert (frame["source"], frame["line"]) == ("../src/app.js", 1)
    assert "has no sourcesContent for ../src/app.js" in frame["reason"]


def test_without_sources_content_an_uploaded_source_file_gives_the_line() -> None:
    without = {key: value for key, value in MAP.items() if key != "sourcesContent"}
    original = artifact("~/src/app.js", b"function greet(n) { return 'hi ' + n }\n", id=3)
    files = release_files(artifact("~/static/app.min.js", MINIFIED), source_map(without), original)
    frame = only_frame(event(), files)
    assert frame["resolved"] and frame["context_line"].startswith("function greet(n)")


def test_a_broken_map_is_the_reason() -> None:
    broken = artifact("~/static/app.min.js.map", b"{not json", id=2, type="source_map")
    files = release_files(artifact("~/static/app.min.js", MINIFIED), broken)
    frame = only_frame(event(), files)
    assert frame["reason"].startswith("~/static/app.min.js.map is not a valid source map")


def test_report_counts_in_app_frames_only_and_fails_without_events() -> None:
    library = Frame(abs_path="https://cdn.example.com/vendor.js", lineno=1, colno=1,
                    function=None, in_app=False)  # fmt: skip
    anonymous = Frame(abs_path="<anonymous>", lineno=None, colno=None, function="x", in_app=True)
    mixed = JsEvent("e2", "webapp", "1.0.0", None, (library, anonymous), {})
    report = sourcemaps_report([(mixed, resolve_event(mixed, Artifacts()))])
    assert report["passed"] and report["unresolved_frames"] == 0
    shown_as_sent = report["events"][0]["frames"][1]
    assert not shown_as_sent["checked"] and shown_as_sent["reason"].startswith("not looked up")
    failing = sourcemaps_report([(event(), resolve_event(event(), Artifacts()))])
    assert not failing["passed"] and failing["unresolved_frames"] == 1
    assert "no artifacts were uploaded for release '1.0.0'" in sourcemaps_text(failing)
    nothing = sourcemaps_report([])
    assert not nothing["passed"]
    assert "no JavaScript events" in sourcemaps_text({**nothing, "query": ""})


def test_js_event_reads_frames_and_debug_images() -> None:
    data = {
        "platform": "javascript",
        "release": "1.0.0",
        "exception": {
            "values": [{"stacktrace": {"frames": [{"filename": URL, "lineno": 1, "colno": 5}]}}]
        },
        "debug_meta": {
            "images": [{"type": "sourcemap", "code_file": URL, "debug_id": DEBUG_ID.upper()}]
        },
    }
    parsed = js_event({"event_id": "e3", "project": "webapp", "data": data})
    assert parsed is not None
    path = "exception.values.0.stacktrace.frames.0"
    assert parsed.frames == (Frame(URL, 1, 5, None, True, path),)
    assert parsed.debug_ids == {URL: DEBUG_ID}
    assert js_event({"event_id": "e4", "data": {**data, "platform": "python"}}) is None


def test_url_candidates() -> None:
    assert url_candidates("https://h/a/b.js?v=2#x") == [
        "https://h/a/b.js?v=2#x",
        "https://h/a/b.js",
        "~/a/b.js?v=2",
        "~/a/b.js",
    ]
    assert url_candidates("/a/b.js") == ["/a/b.js", "~/a/b.js"]
    assert url_candidates("<anonymous>") == ["<anonymous>"]


def test_files_uploaded_one_by_one_have_no_type_and_still_resolve() -> None:
    """sentry-cli 2.x against a server without artifact bundles names each file, nothing more."""
    files = release_files(
        artifact("~/static/app.min.js", MINIFIED, type="", sourcemap="app.min.js.map"),
        source_map(type=""),
    )
    assert only_frame(event(), files)["resolved"]


def test_without_symbolic_the_check_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sourcemaps, "SYMBOLIC_AVAILABLE", False)
    files = release_files(artifact("~/static/app.min.js", MINIFIED), source_map())
    with pytest.raises(sourcemaps.SourceMapsUnavailable, match="pip install symbolic"):
        resolve_event(event(), files)


def test_symbolicated_frames_needs_an_event_from_a_view() -> None:
    with pytest.raises(RuntimeError, match="use an Event from a StubView"):
        _ = Event({"event_id": "e", "item_id": 1, "type": "error"}).symbolicated_frames
