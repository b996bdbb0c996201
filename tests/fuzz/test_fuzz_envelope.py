"""The envelope parser under damaged real envelopes: ``EnvelopeError`` or an exact split.

Whatever the bytes, ``parse_envelope`` either raises its own ``EnvelopeError`` (which the
endpoints turn into a 400 naming the item and byte) or returns items whose payloads are
exact slices of the body; an envelope it accepts survives being written out and read again,
and the limit check refuses only with its 413.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from sentry_stub.protocol.envelope import (
    EnvelopeError,
    Item,
    ParsedEnvelope,
    parse_envelope,
    serialize_envelope,
)
from sentry_stub.protocol.errors import IngestError
from sentry_stub.protocol.item_types import KNOWN_TYPES
from sentry_stub.protocol.limits import check_envelope_limits
from sentry_stub.settings.values import Limits
from tests.fuzz.mutations import FUZZ, fixtures, mutated

ENVELOPES = mutated(fixtures("envelopes", ".envelope"))
SMALL_LIMITS = Limits(max_event_size=2_000, max_attachment_size=5_000, max_attachment_count=2)


def _parsed_or_refused(body: bytes) -> ParsedEnvelope | None:
    try:
        return parse_envelope(body)
    except EnvelopeError as error:
        assert error.reason, "a refusal must say why"
        return None


@FUZZ
@given(ENVELOPES)
@example(b'{}\n{"type":"event","length":-1}\n{}')
@example(b'{}\n{"type":"event","length":18446744073709551616}\n{}')
@example(b"{}\n" + b"[" * 5000)
# Found by this test: a header nested past Python's recursion limit raised RecursionError.
@example(b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}\n")
@example(b'{}\n{"a":' + b"[" * 5000 + b"]" * 5000 + b"}\n")
def test_parse_refuses_only_with_envelope_error(body: bytes) -> None:
    envelope = _parsed_or_refused(body)
    if envelope is None:
        return
    for item in envelope.items:
        assert item.offset is not None
        assert body[item.offset : item.offset + len(item.payload)] == item.payload


@FUZZ
@given(ENVELOPES)
# Found by this test: an integer past 64 bits in a header read the careful way (here because of
# the escaped slash) stayed a Python int that orjson cannot write: the store route answered
# 500 and the envelope route acknowledged an envelope whose rows could not be derived.
@example(b'{"x":18446744073709551616,"y":"\\/"}\n{"type":"event"}\n{}')
@example(b'{}\n{"type":"event","x":-9223372036854775809,\n"y":1}\n{}')
def test_an_accepted_envelope_survives_serialization(body: bytes) -> None:
    envelope = _parsed_or_refused(body)
    if envelope is None:
        return
    again = parse_envelope(serialize_envelope(envelope))
    assert again.headers == envelope.headers
    assert [item.payload for item in again.items] == [item.payload for item in envelope.items]
    assert [item.type for item in again.items] == [item.type for item in envelope.items]


@FUZZ
@given(ENVELOPES, st.sampled_from([Limits(), SMALL_LIMITS]))
def test_limits_refuse_only_with_413(body: bytes, limits: Limits) -> None:
    envelope = _parsed_or_refused(body)
    if envelope is None:
        return
    try:
        check_envelope_limits(envelope, limits)
    except IngestError as error:
        assert error.status == 413 and error.detail


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_ITEM_HEADERS = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(sorted(KNOWN_TYPES)), st.text(max_size=10))},
    optional={
        "content_type": st.text(max_size=20),
        "filename": st.text(max_size=20),
        "attachment_type": st.text(max_size=20),
        "item_count": st.integers(-3, 100),
        "extra": _JSON,
    },
)
_ITEMS = st.builds(Item, _ITEM_HEADERS, st.binary(max_size=200))


@FUZZ
@given(
    st.dictionaries(st.sampled_from(["trace", "sdk", "x"]), _JSON, max_size=3),
    st.lists(_ITEMS, max_size=6),
)
def test_built_envelopes_round_trip(headers: dict, items: list[Item]) -> None:
    """What ``serialize_envelope`` writes (the converters' output) parses back the same."""
    envelope = parse_envelope(serialize_envelope(ParsedEnvelope(headers, items)))
    assert envelope.headers == headers
    assert [(i.headers["type"], i.payload) for i in envelope.items] == [
        (i.headers["type"], i.payload) for i in items
    ]
