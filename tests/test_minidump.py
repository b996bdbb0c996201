"""Minidump uploads (spec §5.7, vectors 27 and 28) turned into envelopes as Relay does."""

from __future__ import annotations

import bz2
import gzip
import lzma
import uuid
from pathlib import Path

import msgpack
import pytest
import zstandard

from sentry_stub.ingest.minidump import (
    envelope_from_attachment_upload,
    envelope_from_minidump,
)
from sentry_stub.processing.attachment_event import event_from_attachments
from sentry_stub.protocol.envelope import dashed
from sentry_stub.protocol.errors import IngestError
from sentry_stub.protocol.form_data import decode_form_data
from sentry_stub.settings.values import Limits

FIXTURES = Path(__file__).parent / "fixtures" / "minidumps"
WINDOWS_DMP = (FIXTURES / "symbolicator__windows.dmp").read_bytes()
LINUX_DMP = (FIXTURES / "symbolic__crash_linux.dmp").read_bytes()
BOUNDARY = "----sentry-stub-boundary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
EVENT_ID = "9ec79c33ec9942ab8353589fcb2e04dc"


def form(*parts: tuple[str, bytes, str | None], boundary: str = BOUNDARY) -> bytes:
    """A multipart body; a part is (field name, bytes, filename or None for a plain field)."""
    out = b""
    for name, data, filename in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            out += b"Content-Type: application/octet-stream\r\n"
        out += b"\r\n" + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def crumbs(*messages_and_times: tuple[str, str]) -> bytes:
    """A MessagePack stream of breadcrumb maps, back to back (not an array)."""
    return b"".join(
        msgpack.packb({"message": message, "timestamp": ts}) for message, ts in messages_and_times
    )


def by_type(envelope, attachment_type):
    return [
        item for item in envelope.items if item.headers.get("attachment_type") == attachment_type
    ]


def test_vector_27_crashpad_upload_with_event_breadcrumbs_and_fields():
    body = form(
        ("upload_file_minidump", gzip.compress(WINDOWS_DMP), "crash.dmp.gz"),
        ("__sentry-event", msgpack.packb({"event_id": EVENT_ID, "level": "fatal"}), "event.mp"),
        ("__sentry-breadcrumb1", crumbs(("b1", "2024-06-10T06:13:21Z")), "b1.mp"),
        ("__sentry-breadcrumb2", crumbs(("a1", "2024-06-10T06:13:20Z")), "b2.mp"),
        ("sentry[tags][foo]", b"bar", None),
        ("guid", b"abc", None),
    )
    envelope = envelope_from_minidump(CONTENT_TYPE, body, Limits())

    assert envelope.event_id == EVENT_ID
    assert dashed(envelope.event_id) == "9ec79c33-ec99-42ab-8353-589fcb2e04dc"
    (minidump,) = by_type(envelope, "event.minidump")
    assert minidump.payload == WINDOWS_DMP
    assert minidump.headers["filename"] == "crash.dmp"
    assert minidump.headers["content_type"] == "application/x-dmp"
    assert len(by_type(envelope, "event.payload")) == 1
    assert len(by_type(envelope, "event.breadcrumbs")) == 2
    (form_data,) = [item for item in envelope.items if item.type == "form_data"]
    assert decode_form_data(form_data.payload) == [("sentry[tags][foo]", "bar"), ("guid", "abc")]

    # Relay builds the event from the attachments and drops the form fields, saying so here.
    event, notes = event_from_attachments(envelope.items)
    assert event["level"] == "fatal"
    assert [crumb["message"] for crumb in event["breadcrumbs"]["values"]] == ["b1"]
    assert "extra" not in event
    assert notes and "form fields ignored" in notes[0]


def test_form_fields_alone_make_the_event():
    body = form(
        ("upload_file_minidump", LINUX_DMP, "minidump.dmp"),
        ("sentry[tags][foo]", b"bar", None),
        ("sentry[event_id]", EVENT_ID.encode(), None),
        ("guid", b"abc", None),
    )
    envelope = envelope_from_minidump(CONTENT_TYPE, body, Limits())

    assert envelope.event_id == EVENT_ID
    event, notes = event_from_attachments(envelope.items)
    assert event == {"tags": {"foo": "bar"}, "event_id": EVENT_ID, "extra": {"guid": "abc"}}
    assert notes == []


@pytest.mark.parametrize(
    ("compress", "suffix"),
    [
        (gzip.compress, ".gz"),
        (lambda data: lzma.compress(data, format=lzma.FORMAT_XZ), ".xz"),
        (bz2.compress, ".bz2"),
        (lambda data: zstandard.ZstdCompressor().compress(data), ".zst"),
    ],
)
def test_compressed_minidumps_are_decoded_and_renamed(compress, suffix):
    body = form(("upload_file_minidump", compress(LINUX_DMP), f"upload.dmp{suffix}"))
    envelope = envelope_from_minidump(CONTENT_TYPE, body, Limits())

    (minidump,) = by_type(envelope, "event.minidump")
    assert minidump.payload == LINUX_DMP
    assert minidump.headers["filename"] == "upload.dmp"
    assert uuid.UUID(envelope.event_id).version == 4


def test_decompressed_minidump_over_max_attachment_size_is_413():
    body = form(("upload_file_minidump", gzip.compress(b"MDMP" + bytes(100_000)), "m.gz"))
    with pytest.raises(IngestError) as caught:
        envelope_from_minidump(CONTENT_TYPE, body, Limits(max_attachment_size=50_000))
    assert caught.value.status == 413
    assert caught.value.detail == (
        "envelope exceeded size limits for type 'attachment' "
        "(https://develop.sentry.dev/sdk/envelopes/#size-limits)"
    )


def test_broken_compression_container_is_400():
    body = form(("upload_file_minidump", gzip.compress(LINUX_DMP)[:200], "m.gz"))
    with pytest.raises(IngestError) as caught:
        envelope_from_minidump(CONTENT_TYPE, body, Limits())
    assert (caught.value.status, caught.value.detail) == (400, "invalid compression container")


def test_nested_multipart_minidump_from_old_electron():
    inner_boundary = "inner-electron"
    inner = form(("upload_file_minidump", WINDOWS_DMP, "electron.dmp"), boundary=inner_boundary)
    body = form(("upload_file_minidump", inner, "electron.dmp"))
    envelope = envelope_from_minidump(CONTENT_TYPE, body, Limits())

    (minidump,) = by_type(envelope, "event.minidump")
    assert minidump.payload == WINDOWS_DMP


def test_field_names_pick_attachment_types():
    body = form(
        ("upload_file_minidump", LINUX_DMP, "m.dmp"),
        ("view-hierarchy.json", b"{}", "view-hierarchy.json"),
        ("log", b"line\r\n\x00binary\xff", "app.log"),
    )
    envelope = envelope_from_minidump(CONTENT_TYPE, body, Limits())

    types = [(item.headers["attachment_type"], item.headers["filename"]) for item in envelope.items]
    assert types == [
        ("event.minidump", "m.dmp"),
        ("event.view_hierarchy", "view-hierarchy.json"),
        ("event.attachment", "app.log"),
    ]
    assert envelope.items[2].payload == b"line\r\n\x00binary\xff"
    assert not [item for item in envelope.items if item.type == "form_data"]


def test_event_id_precedence_msgpack_before_form_fields():
    other = "0123456789abcdef0123456789abcdef"
    body = form(
        ("upload_file_minidump", LINUX_DMP, "m.dmp"),
        ("sentry", f'{{"event_id": "{other}"}}'.encode(), None),
        ("__sentry-event", msgpack.packb({"event_id": dashed(EVENT_ID)}), "e.mp"),
    )
    assert envelope_from_minidump(CONTENT_TYPE, body, Limits()).event_id == EVENT_ID


def test_vector_28_raw_minidump_body():
    envelope = envelope_from_minidump("application/octet-stream", WINDOWS_DMP, Limits())

    (item,) = envelope.items
    assert item.headers == {
        "type": "attachment",
        "attachment_type": "event.minidump",
        "filename": "Minidump",
        "content_type": "application/x-dmp",
    }
    assert item.payload == WINDOWS_DMP
    assert uuid.UUID(envelope.event_id).version == 4


def test_vector_28_raw_body_that_is_not_a_minidump_is_400():
    with pytest.raises(IngestError) as caught:
        envelope_from_minidump("application/x-dmp", b"not a minidump", Limits())
    assert (caught.value.status, caught.value.detail) == (400, "invalid minidump")


def test_vector_28_multipart_without_minidump_is_400():
    body = form(("attachment", b"hello", "hello.txt"), ("guid", b"abc", None))
    with pytest.raises(IngestError) as caught:
        envelope_from_minidump(CONTENT_TYPE, body, Limits())
    assert (caught.value.status, caught.value.detail) == (400, "missing minidump")


def test_minidump_part_without_magic_is_400():
    body = form(("upload_file_minidump", b"garbage", "m.dmp"))
    with pytest.raises(IngestError) as caught:
        envelope_from_minidump(CONTENT_TYPE, body, Limits())
    assert (caught.value.status, caught.value.detail) == (400, "invalid minidump")


def test_unreadable_sentry_event_is_400_as_relay_reads_it_synchronously():
    body = form(
        ("upload_file_minidump", LINUX_DMP, "m.dmp"),
        ("__sentry-event", b"\xc1", "e.mp"),
    )
    with pytest.raises(IngestError) as caught:
        envelope_from_minidump(CONTENT_TYPE, body, Limits())
    assert (caught.value.status, caught.value.detail) == (400, "invalid messagepack data")
    assert caught.value.causes[0].startswith("__sentry-event")


@pytest.mark.parametrize(
    ("content_type", "body", "cause"),
    [
        ("text/plain", b"x", "expected multipart/form-data, got text/plain"),
        ("multipart/form-data", b"x", "missing boundary in content type"),
        (CONTENT_TYPE, form(("upload_file_minidump", LINUX_DMP, "m"))[:-10], None),
    ],
)
def test_malformed_multipart_is_400(content_type, body, cause):
    with pytest.raises(IngestError) as caught:
        envelope_from_minidump(content_type, body, Limits())
    assert (caught.value.status, caught.value.detail) == (400, "invalid multipart data")
    if cause is not None:
        assert caught.value.causes == [cause]


def test_attachment_upload_types_every_file_as_plain_attachment():
    body = form(("upload_file_minidump", LINUX_DMP, "m.dmp"), ("notes", b"hi", "notes.txt"))
    envelope = envelope_from_attachment_upload(
        CONTENT_TYPE, body, event_id=EVENT_ID, limits=Limits()
    )

    assert envelope.event_id == EVENT_ID
    assert [item.headers["attachment_type"] for item in envelope.items] == [
        "event.attachment",
        "event.attachment",
    ]
