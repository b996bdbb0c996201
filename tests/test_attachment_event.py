"""The event Relay assembles from event.payload / event.breadcrumbs attachments and form fields."""

from __future__ import annotations

import msgpack

from sentry_stub.processing.attachment_event import event_from_attachments, merge_breadcrumb_files
from sentry_stub.protocol.envelope import Item
from sentry_stub.protocol.form_data import encode_form_data, event_from_form_data
from sentry_stub.settings.values import Limits

D1 = "2019-10-10T12:10:10Z"
D2 = "2019-10-11T12:10:10Z"


def attachment(attachment_type: str, payload: bytes, filename: str = "f") -> Item:
    headers = {"type": "attachment", "attachment_type": attachment_type, "filename": filename}
    return Item(headers, payload)


def breadcrumb_file(*crumbs: tuple[str, str | float | None]) -> Item:
    data = b""
    for message, timestamp in crumbs:
        crumb = {"message": message}
        if timestamp is not None:
            crumb["timestamp"] = timestamp
        data += msgpack.packb(crumb)
    return attachment("event.breadcrumbs", data)


def messages(event) -> list[str]:
    return [crumb["message"] for crumb in event["breadcrumbs"]["values"]]


def test_older_file_goes_first_whatever_the_item_order():
    newer = breadcrumb_file(("d2", D2))
    older = breadcrumb_file(("none", None), ("d1", D1))

    for items in ([newer, older], [older, newer]):
        event, notes = event_from_attachments(items)
        # Both files have one or two crumbs: the merge keeps the last max(1, 2) = 2 entries.
        assert messages(event) == ["d1", "d2"]
        assert notes == []


def test_merge_keeps_the_last_max_len_entries():
    first = [{"message": f"a{i}", "timestamp": 10.0 + i} for i in range(3)]
    second = [{"message": f"b{i}", "timestamp": 20.0 + i} for i in range(5)]

    merged = merge_breadcrumb_files([second, first])
    # a0 a1 a2 b0 b1 b2 b3 b4, of which the last max(3, 5) = 5 are kept.
    assert [crumb["message"] for crumb in merged] == ["b0", "b1", "b2", "b3", "b4"]


def test_file_without_timestamps_counts_as_oldest():
    untimed = [{"message": "u"}]
    timed = [{"message": "t", "timestamp": 1.0}]
    merged = merge_breadcrumb_files([timed, untimed])
    assert [crumb["message"] for crumb in merged] == ["t"]  # u first, then the last 1 kept


def test_numeric_and_string_timestamps_compare_as_times():
    merged = merge_breadcrumb_files(
        [[{"message": "late", "timestamp": D2}], [{"message": "early", "timestamp": 1570709410.0}]]
    )
    assert [crumb["message"] for crumb in merged] == ["late"]


def test_event_payload_and_breadcrumbs_make_one_event():
    payload = attachment("event.payload", msgpack.packb({"message": "crash", "breadcrumbs": []}))
    event, notes = event_from_attachments([payload, breadcrumb_file(("c", 1.0))])

    assert event["message"] == "crash"
    assert event["breadcrumbs"] == {"values": [{"message": "c", "timestamp": 1.0}]}
    assert notes == []


def test_empty_breadcrumb_files_are_fine():
    event, notes = event_from_attachments([attachment("event.breadcrumbs", b"")] * 2)
    assert event == {}
    assert notes == []


def test_unreadable_payload_drops_the_event_with_a_note():
    event, notes = event_from_attachments([attachment("event.payload", b"\xc1", "ev.mp")])
    assert event is None
    (note,) = notes
    assert note.startswith(
        "event dropped as Relay drops it: event.payload attachment 'ev.mp' is not valid MessagePack"
    )


def test_cut_off_breadcrumb_stream_drops_the_event():
    data = msgpack.packb({"message": "ok"}) + msgpack.packb({"message": "cut"})[:-2]
    event, notes = event_from_attachments([attachment("event.breadcrumbs", data, "b1")])
    assert event is None
    assert "event.breadcrumbs attachment 'b1' is not a MessagePack stream" in notes[0]


def test_payload_over_max_event_size_drops_the_event():
    item = attachment("event.payload", msgpack.packb({"message": "x" * 100}))
    event, notes = event_from_attachments([item], limits=Limits(max_event_size=50))
    assert event is None
    assert "over max_event_size 50" in notes[0]


def test_an_event_item_wins_over_attachments():
    items = [Item({"type": "event"}, b"{}"), attachment("event.payload", msgpack.packb({}))]
    event, notes = event_from_attachments(items)
    assert event is None
    assert notes == [
        "event.payload/event.breadcrumbs attachments ignored: the `event` item is the event"
    ]


def test_nothing_to_do_without_crash_sources():
    assert event_from_attachments([Item({"type": "event"}, b"{}")]) == (None, [])


def test_form_data_item_alone_becomes_the_event():
    fields = [("sentry", '{"level": "error", "extra": {"a": 1}}'), ("a", "form")]
    event, notes = event_from_attachments([Item({"type": "form_data"}, encode_form_data(fields))])
    assert event == {"level": "error", "extra": {"a": 1}}
    assert notes == []


def test_merge_formdata_rules():
    event = event_from_form_data(
        [
            ("sentry___first", '{"release": "1.0", "tags": {"a": "1"}}'),
            ("sentry", '{"release": "ignored", "tags": {"b": "2"}}'),
            ("sentry__2", '"electron"}'),
            ("sentry__1", '{"platform": '),
            ("sentry[user][id]", "42"),
            ("sentry[user][id]", "43"),
            ("sentry[a]x[b]", "not nested syntax"),
            ("sentry[1][2][3][4][5][6][7][8]", "too deep"),
            ("sentry", "{not json"),
            ("prod", "Electron"),
        ]
    )
    assert event == {
        "release": "1.0",
        "tags": {"a": "1", "b": "2"},
        "user": {"id": "42"},
        "extra": {"sentry[a]x[b]": "not nested syntax", "prod": "Electron"},
        "platform": "electron",
    }
