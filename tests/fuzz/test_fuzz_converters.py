"""The converters that turn non-envelope requests into envelopes, under damaged real payloads.

Each converter returns a ``ParsedEnvelope`` the stub can write out (``serialize_envelope``) and read
back, or refuses with ``IngestError`` and a 4xx. The events built later from security reports,
crash-reporter attachments and form fields never raise and are always JSON the stub can store.
"""

from __future__ import annotations

import base64
import bz2
import gzip
import json
import lzma
import zlib
from typing import Any

import msgpack
import orjson
import zstandard
from hypothesis import example, given
from hypothesis import strategies as st

from sentry_stub.ingest.minidump import ATTACHMENT_TYPES, envelope_from_minidump
from sentry_stub.ingest.multipart import boundary_of, parse_multipart
from sentry_stub.ingest.security import envelope_from_nel, envelope_from_security_report
from sentry_stub.ingest.store import ENVELOPE_CONTENT_TYPE, envelope_from_store
from sentry_stub.ingest.unreal import envelope_from_unreal
from sentry_stub.processing.attachment_event import event_from_attachments
from sentry_stub.processing.security_event import _CSP_FIELDS, security_event
from sentry_stub.protocol.envelope import Item, ParsedEnvelope, parse_envelope, serialize_envelope
from sentry_stub.protocol.errors import IngestError
from sentry_stub.protocol.form_data import decode_form_data, encode_form_data, event_from_form_data
from sentry_stub.settings.values import Limits
from tests.fuzz.mutations import FUZZ, fixtures, mutated

LIMITS = Limits(max_attachment_size=300_000, max_attachments_size=400_000)


def converted(convert: Any, *args: Any, **kwargs: Any) -> ParsedEnvelope | None:
    """``convert``'s envelope, checked to be writable; None when it refused with a 4xx."""
    try:
        envelope = convert(*args, **kwargs)
    except IngestError as error:
        assert 400 <= error.status < 500 and error.detail, error
        return None
    again = parse_envelope(serialize_envelope(envelope))
    assert [item.payload for item in again.items] == [item.payload for item in envelope.items]
    return envelope


def storable(event: Any) -> None:
    """The stub writes events with orjson: what a converter makes must be writable by it."""
    orjson.dumps(event)


# --- /store/ ---------------------------------------------------------------------------------

EVENTS = fixtures("events", ".json")


@st.composite
def store_bodies(draw: st.DrawFn) -> bytes:
    """An event as SDKs send it to /store/: plain JSON, base64, or base64 of zlib; damaged."""
    event = draw(EVENTS)
    form = draw(st.sampled_from(["json", "base64", "zlib"]))
    if form == "base64":
        event = base64.b64encode(event)
    elif form == "zlib":
        event = base64.b64encode(zlib.compress(event))
    return draw(mutated(st.just(event)))


@FUZZ
@given(
    store_bodies(),
    st.sampled_from([None, "application/json", "text/plain", ENVELOPE_CONTENT_TYPE]),
    st.sampled_from([None, "sentry-python/2.0", "raven-js/3.0"]),
)
# Found by this test: JSON nested past Python's recursion limit raised RecursionError (500).
@example(b'{"a":' + b"[" * 5000, "application/json", None)
def test_store_bodies_convert_or_are_refused(
    body: bytes, content_type: str | None, client: str | None
) -> None:
    converted(envelope_from_store, body, content_type=content_type, client=client, limits=LIMITS)


# --- /minidump/ and /events/<id>/attachments/ ------------------------------------------------

MINIDUMPS = fixtures("minidumps", ".dmp")
CONTAINERS = {
    "none": lambda data: data,
    "gzip": gzip.compress,
    "xz": lzma.compress,
    "bz2": bz2.compress,
    "zstd": zstandard.ZstdCompressor().compress,
}
_SCALARS = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=10)
JSON_VALUES = st.recursive(
    _SCALARS | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=10,
)
MSGPACK_VALUES = st.recursive(
    _SCALARS | st.binary(max_size=10) | st.floats(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=10,
)


@st.composite
def msgpack_events(draw: st.DrawFn) -> bytes:
    event = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "event_id": st.one_of(st.uuids().map(lambda u: u.hex), st.text(max_size=8)),
                "message": st.text(max_size=20),
                "timestamp": st.one_of(st.floats(), _SCALARS),
                "extra": MSGPACK_VALUES,
            },
        )
    )
    return msgpack.packb(event)


@st.composite
def multipart_bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    """A crash upload: the minidump (maybe in a container), a MessagePack event, form fields."""
    boundary = draw(st.sampled_from(["X-BOUNDARY", "----crashpad", "a" * 70]))
    minidump = CONTAINERS[draw(st.sampled_from(sorted(CONTAINERS)))](draw(MINIDUMPS))
    parts: list[tuple[str, str | None, bytes]] = [("upload_file_minidump", "crash.dmp", minidump)]
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.one_of(st.sampled_from(sorted(ATTACHMENT_TYPES)), st.text(max_size=12)))
        if name == "__sentry-event" or name.startswith("__sentry-breadcrumb"):
            parts.append((name, name, draw(msgpack_events())))
        elif draw(st.booleans()):
            parts.append((name, draw(st.text(max_size=12)), draw(st.binary(max_size=64))))
        else:
            value = draw(
                st.one_of(
                    st.text(max_size=40),
                    st.builds(json.dumps, JSON_VALUES),
                )
            )
            parts.append((name, None, value.encode("utf-8", "surrogatepass")))
    draw(st.randoms()).shuffle(parts)
    body = bytearray()
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode(
            "utf-8", "surrogatepass"
        )
        body += data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", draw(mutated(st.just(bytes(body)), 3))


@FUZZ
@given(multipart_bodies())
def test_minidump_uploads_convert_or_are_refused(upload: tuple[str, bytes]) -> None:
    content_type, body = upload
    envelope = converted(envelope_from_minidump, content_type, body, LIMITS)
    if envelope is not None:
        event, _ = event_from_attachments(envelope.items, limits=LIMITS)
        storable(event)


@FUZZ
@given(
    mutated(
        st.tuples(st.sampled_from(sorted(CONTAINERS)), MINIDUMPS).map(
            lambda c: CONTAINERS[c[0]](c[1])
        ),
        3,
    ),
    st.sampled_from(["application/octet-stream", "application/x-dmp"]),
)
def test_raw_minidumps_convert_or_are_refused(body: bytes, content_type: str) -> None:
    converted(envelope_from_minidump, content_type, body, LIMITS)


@FUZZ
# Starlette reads header values as Latin-1, so no other character can reach boundary_of.
@given(st.text(st.characters(max_codepoint=255), max_size=80))
def test_any_content_type_gives_a_boundary_or_a_400(content_type: str) -> None:
    try:
        boundary = boundary_of(content_type)
    except IngestError as error:
        assert error.status == 400
        return
    try:
        parse_multipart(b"", boundary)
    except IngestError as error:
        assert error.status == 400


# --- /unreal/<key>/ --------------------------------------------------------------------------

UNREAL = fixtures("unreal")


@st.composite
def unreal_bodies(draw: st.DrawFn) -> bytes:
    """The real crash report, damaged inside its zlib stream (which reaches the container
    reader) or outside it (which reaches the decompressor)."""
    container = draw(UNREAL)
    if draw(st.booleans()):
        return draw(mutated(st.just(container)))
    inner = zlib.decompress(container)
    return zlib.compress(draw(mutated(st.just(inner))))


@FUZZ
@given(unreal_bodies(), st.one_of(st.none(), st.text(max_size=10)))
def test_unreal_reports_convert_or_are_refused(body: bytes, user_id: str | None) -> None:
    envelope = converted(envelope_from_unreal, body, user_id=user_id, limits=LIMITS)
    if envelope is not None:
        event, _ = event_from_attachments(envelope.items, limits=LIMITS)
        storable(event)


# --- /security/ and /nel/ --------------------------------------------------------------------


_SPELLINGS = sorted({s for name, spellings in _CSP_FIELDS.items() for s in (name, *spellings)})
_URIS = st.sampled_from(
    [
        "self",
        "inline",
        "eval",
        "",
        "https://evil.com:8443/x.js",
        "data:",
        "blob:x",
        "http://[::1]:99999/",
        "file:///etc",
        "https://api.stripe.com/v1?card=1",
        "wss://a",
        "a:b",
        "//x",
        "HTTP://A:80/",
    ]
)
CSP_FIELDS = st.dictionaries(
    st.sampled_from(_SPELLINGS),
    st.one_of(
        _URIS,
        st.sampled_from(["script-src 'self' https://a", "img-src", "style-src-elem"]),
        JSON_VALUES,
    ),
    max_size=8,
)
SECURITY_REPORTS = st.one_of(
    st.builds(lambda body: {"csp-report": body}, CSP_FIELDS),
    st.builds(lambda body: {"type": "csp-violation", "body": body}, CSP_FIELDS),
    st.dictionaries(
        st.sampled_from(["expect-ct-report", "known-pins", "type", "body"]), JSON_VALUES, max_size=3
    ),
    JSON_VALUES,
)


@FUZZ
@given(
    SECURITY_REPORTS,
    st.sampled_from(["application/json", "application/csp-report", "text/plain", None]),
    st.one_of(st.none(), st.text(max_size=10)),
)
def test_security_reports_convert_and_their_events_never_raise(
    report: Any, content_type: str | None, origin: str | None
) -> None:
    body = json.dumps(report).encode()
    envelope = converted(
        envelope_from_security_report,
        content_type,
        body,
        release="1.0",
        environment=None,
        origin=origin,
    )
    if envelope is not None:
        event, notes = security_event(
            json.loads(envelope.items[0].payload), origin=origin, user_agent="UA"
        )
        assert event is not None or notes
        storable(event)


@FUZZ
@given(
    mutated(
        st.builds(lambda v: json.dumps(v).encode(), st.lists(JSON_VALUES, max_size=3) | JSON_VALUES)
    )
)
@example(b"[" * 5000)
# Found by the long run: a lone surrogate escape parsed, then failed to encode as UTF-8 (500).
@example(b'[null, {"\\udc00": null}]')
def test_nel_bodies_convert_or_are_refused(body: bytes) -> None:
    converted(envelope_from_nel, "application/reports+json", body)


# --- form_data and crash-reporter attachments -----------------------------------------------

FORM_KEYS = st.one_of(
    st.sampled_from(
        [
            "sentry",
            "sentry___x",
            "sentry__1",
            "sentry__2",
            "sentry[a]",
            "sentry[a][b]",
            "sentry[]",
            "sentry[a",
            "sentry[event_id]",
        ]
    ),
    st.text(max_size=10),
)
FORM_VALUES = st.one_of(st.text(max_size=20), st.builds(json.dumps, JSON_VALUES))


@FUZZ
@given(st.lists(st.tuples(FORM_KEYS, FORM_VALUES), max_size=8))
@example([("sentry", "[" * 5000)])
@example([("sentry", '{"a": "\\udc00"}')])  # a lone surrogate: no event could store it
@example(
    [("sentry", '{"a":' * 400 + "1" + "}" * 400), ("sentry___x", '{"a":' * 400 + "1" + "}" * 400)]
)
def test_form_fields_round_trip_and_make_an_event(fields: list[tuple[str, str]]) -> None:
    fields = [
        (k.encode("utf-8", "replace").decode(), v.encode("utf-8", "replace").decode())
        for k, v in fields
    ]
    assert decode_form_data(encode_form_data(fields)) == fields
    storable(event_from_form_data(fields))


@FUZZ
@given(
    mutated(
        st.builds(
            encode_form_data,
            st.lists(st.tuples(FORM_KEYS, FORM_VALUES), max_size=5).map(
                lambda f: [
                    (k.encode("utf-8", "replace").decode(), v.encode("utf-8", "replace").decode())
                    for k, v in f
                ]
            ),
        )
    )
)
def test_damaged_form_data_decodes_to_what_it_can(payload: bytes) -> None:
    storable(event_from_form_data(decode_form_data(payload)))


ATTACHMENT_ITEMS = st.builds(
    lambda kind, payload: Item({"type": "attachment", "attachment_type": kind}, payload),
    st.sampled_from(["event.payload", "event.breadcrumbs", "event.attachment"]),
    st.one_of(
        msgpack_events(),
        st.lists(MSGPACK_VALUES, max_size=3).map(lambda vs: b"".join(map(msgpack.packb, vs))),
        st.binary(max_size=40),
    ),
)


@FUZZ
@given(st.lists(ATTACHMENT_ITEMS, min_size=1, max_size=4))
@example(
    [
        Item(
            {"type": "attachment", "attachment_type": "event.payload"},
            msgpack.packb({"x": msgpack.ExtType(5, b"\x01")}),
        )
    ]
)
def test_events_from_attachments_never_raise_and_are_storable(items: list[Item]) -> None:
    event, notes = event_from_attachments(items, limits=LIMITS)
    storable(event)
    sources = {"event.payload", "event.breadcrumbs"}
    if event is None and any(item.headers["attachment_type"] in sources for item in items):
        assert notes, "a dropped event must say why"
