"""The item-type table: every fact it states is one the rest of the server can use."""

from __future__ import annotations

import dataclasses

import pytest

from sentry_stub.ingest.faults import item_categories
from sentry_stub.processing import extract
from sentry_stub.protocol.envelope import Item, ParsedEnvelope
from sentry_stub.protocol.item_types import (
    CREATES_EVENT,
    DROPPED_WITH_EVENT,
    EVENT_PAYLOAD_TYPES,
    INTERNAL_TYPES,
    ITEM_TYPES,
    KNOWN_TYPES,
    REPEATS_EVENT_ID,
    SENT_ON_FLUSH,
    item_type,
    listed_by,
)
from sentry_stub.settings.values import Limits
from sentry_stub.view import StubView


def test_every_limit_named_is_a_limits_field() -> None:
    fields = {field.name for field in dataclasses.fields(Limits)}
    for entry in ITEM_TYPES.values():
        for name in (entry.size_limit, entry.entry_limit):
            assert name is None or name in fields, f"{entry.name}: Limits has no {name}"


def test_every_derivation_named_is_one_processing_runs() -> None:
    runs = {*extract._EXTRACTORS, *extract._NOTES_ONLY, "security_report"}  # derive.py: the last
    for entry in ITEM_TYPES.values():
        assert entry.derivation is None or entry.derivation in runs, entry.name
    assert set(extract._EXTRACTORS) | set(extract._NOTES_ONLY) <= {
        entry.derivation for entry in ITEM_TYPES.values()
    }


def test_an_unknown_type_is_known_to_nobody_and_has_no_rows() -> None:
    entry = item_type("no_such_type")
    assert (entry.known, entry.event_bound, entry.json, entry.derivation) == (
        False,
        False,
        False,
        None,
    )
    assert not Item({"type": "no_such_type"}).is_known
    assert extract.extract_rows("no_such_type", {"a": 1}, {}).notes == []


def test_the_envelope_asks_the_table() -> None:
    assert Item({"type": "integration"}).is_known and "integration" in INTERNAL_TYPES
    assert not Item({"type": "otel_log"}).is_known and "otel_log" not in KNOWN_TYPES
    assert ParsedEnvelope({}, [Item({"type": "profile"})]).requires_event_id()
    assert not ParsedEnvelope({}, [Item({"type": "session"})]).requires_event_id()


def test_the_sets_derived_from_the_table_are_the_ones_the_modules_kept() -> None:
    """Pinned: each set was spelled out in its module before it became a fact of the table."""
    # ingest/faults.py: a limit on an item carrying the event also drops its dependents.
    assert {"event", "transaction", "security", "raw_security", "unreal_report"} == CREATES_EVENT
    assert {"attachment", "form_data", "user_report", "profile"} == DROPPED_WITH_EVENT
    # processing/attachment_event.py: the items that are the event themselves.
    assert {"event", "security", "transaction", "feedback", "raw_security"} == EVENT_PAYLOAD_TYPES
    # forwarding/outgoing.py: payloads whose event id a new id replaces.
    assert {"event", "transaction", "feedback", "user_report", "security"} == REPEATS_EVENT_ID
    # hints.py: in the order its message names them.
    assert SENT_ON_FLUSH == ("client_report", "session", "sessions")


def test_each_view_method_lists_the_types_it_always_listed() -> None:
    assert {
        method: listed_by(method)
        for method in {entry.listed_by for entry in ITEM_TYPES.values()} - {None}
    } == {
        "attachments": ("attachment",),
        "client_reports": ("client_report",),
        "sessions": ("session", "sessions"),
        "check_ins": ("check_in",),
        "profiles": ("profile", "profile_chunk", "profile_chunk_ui"),
        "feedback": ("feedback", "user_report"),
        "replays": ("replay_event", "replay_recording", "replay_video"),
    }


def test_the_listing_methods_are_the_views_and_a_wrong_name_raises() -> None:
    methods = {entry.listed_by for entry in ITEM_TYPES.values()} - {None}
    assert all(callable(getattr(StubView, method, None)) for method in methods)
    with pytest.raises(KeyError, match="replay"):
        listed_by("replay")  # the method is "replays": an empty tuple would list every item


def test_a_profile_counts_by_the_platform_its_header_names() -> None:
    def categories(type_: str, platform: str | None) -> tuple[str, ...]:
        headers = {"type": type_} | ({"platform": platform} if platform else {})
        return item_categories(Item(headers))

    assert categories("profile", "android") == ("profile", "profile_indexed", "profile_ui")
    assert categories("profile", "python") == ("profile", "profile_indexed", "profile_backend")
    assert categories("profile", None) == ("profile", "profile_indexed")
    assert categories("profile_chunk_ui", "cocoa") == ("profile_chunk_ui",)
    assert categories("profile_chunk", "python") == ("profile_chunk",)
    assert categories("profile_chunk", None) == ()
