"""Unreal Engine crash containers posted to /unreal/<key>/."""

from __future__ import annotations

import struct
import uuid
import zlib
from pathlib import Path

import pytest

from sentry_stub.ingest.unreal import UnrealError, envelope_from_unreal, read_unreal_crash
from sentry_stub.protocol.errors import IngestError
from sentry_stub.settings.values import Limits

CRASH = (
    Path(__file__).parent / "fixtures" / "unreal" / "symbolic__unreal_crash.REDACTED"
).read_bytes()


def ansi(text: str) -> bytes:
    data = text.encode() + b"\0"
    return struct.pack("<I", len(data)) + data


def container(files: list[tuple[str, bytes]], *, cr1: bool = False) -> bytes:
    """A compressed container in the old layout (header repeated at the end) or the CR1 one."""
    header = ansi("UE4CC-Test") + ansi("UE4CC-Test") + struct.pack("<ii", 0, len(files))
    body = b"".join(
        struct.pack("<i", index) + ansi(name) + struct.pack("<i", len(data)) + data
        for index, (name, data) in enumerate(files)
    )
    raw = b"CR1" + header + body if cr1 else header + body + header
    return zlib.compress(raw)


def test_real_crash_is_kept_and_expanded():
    envelope = envelope_from_unreal(CRASH, user_id="user-1|epic|machine", limits=Limits())

    assert uuid.UUID(envelope.event_id).version == 4
    assert envelope.headers["unreal_user_id"] == "user-1|epic|machine"
    report, *attachments = envelope.items
    assert report.type == "unreal_report"
    assert report.payload == CRASH
    assert [
        (item.headers["filename"], item.headers["attachment_type"], item.headers["content_type"])
        for item in attachments
    ] == [
        ("CrashContext.runtime-xml", "unreal.context", "application/xml"),
        ("CrashReportClient.ini", "event.attachment", "application/octet-stream"),
        ("MyProject.log", "unreal.logs", "text/plain"),
        ("UE4Minidump.dmp", "event.minidump", "application/x-dmp"),
    ]
    minidump = attachments[-1].payload
    assert minidump.startswith(b"MDMP")
    assert len(minidump) == 410_700  # symbolic's own test checks the same size
    assert sum(len(item.payload) for item in attachments) < len(zlib.decompress(CRASH))


def test_without_user_id_there_is_no_user_header():
    envelope = envelope_from_unreal(CRASH, user_id=None, limits=Limits())
    assert "unreal_user_id" not in envelope.headers


def test_cr1_layout_and_sentry_game_data_event():
    context = (
        b'<?xml version="1.0" encoding="UTF-8"?><FGenericCrashContext><GameData>'
        b'<__sentry>{"message":"from the game"}</__sentry></GameData></FGenericCrashContext>'
    )
    body = container(
        [("CrashContext.runtime-xml", context), ("__sentry-event", b"\x80"), ("x.bin", b"\0")],
        cr1=True,
    )
    envelope = envelope_from_unreal(body, user_id=None, limits=Limits())

    kinds = [(item.type, item.headers.get("attachment_type")) for item in envelope.items]
    assert kinds == [
        ("unreal_report", None),
        ("event", None),
        ("attachment", "unreal.context"),
        ("attachment", "event.payload"),
        ("attachment", "event.attachment"),
    ]
    assert envelope.items[1].payload == b'{"message":"from the game"}'


def test_unreadable_container_is_accepted_unexpanded_as_relay_does():
    envelope = envelope_from_unreal(b"not zlib at all", user_id=None, limits=Limits())
    assert [item.type for item in envelope.items] == ["unreal_report"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"garbage", "bad compression"),
        (zlib.compress(b"CR1" + ansi("a")), "invalid crash file contents"),
        (
            zlib.compress(zlib.decompress(container([("a", b"1")], cr1=True)) + b"x"),
            "unexpected trailing data",
        ),
        (container([("a", b"1")])[:-3], "bad compression"),
    ],
)
def test_read_unreal_crash_says_what_is_wrong(data, reason):
    with pytest.raises(UnrealError) as caught:
        read_unreal_crash(data, limit=1 << 20)
    assert str(caught.value).startswith(reason)


def test_decompression_stops_at_the_limit():
    with pytest.raises(UnrealError, match="too large"):
        read_unreal_crash(container([("big", bytes(2_000_000))]), limit=1_000_000)


def test_empty_body_is_400():
    with pytest.raises(IngestError) as caught:
        envelope_from_unreal(b"", user_id=None, limits=Limits())
    assert (caught.value.status, caught.value.detail) == (400, "empty request body")
