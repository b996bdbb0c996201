"""The item-type table: every fact it states is one the rest of the server can use."""

from __future__ import annotations

import dataclasses

from sentry_stub.processing import extract
from sentry_stub.protocol.envelope import Item, ParsedEnvelope
from sentry_stub.protocol.item_types import INTERNAL_TYPES, ITEM_TYPES, KNOWN_TYPES, item_type
from sentry_stub.settings.values import Limits


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
