"""Default grouping: which events land in the same issue."""

from __future__ import annotations

from sentry_stub.processing.grouping import (
    culprit,
    fingerprint,
    grouping_components,
    issue_title,
    parameterize,
)


def error(kind: str, value: str, frames: list[dict]) -> dict:
    return {
        "exception": {"values": [{"type": kind, "value": value, "stacktrace": {"frames": frames}}]}
    }


APP_FRAME = {"module": "app.backend.db", "function": "connect", "in_app": True, "lineno": 10}
LIB_FRAME = {"module": "psycopg.conn", "function": "open", "in_app": False, "lineno": 99}


def test_same_type_and_in_app_frames_group_together_whatever_the_value_and_line() -> None:
    first = error("ConnectionError", "connection failed to 10.0.0.1", [LIB_FRAME, APP_FRAME])
    moved = {**APP_FRAME, "lineno": 42}
    second = error("ConnectionError", "timeout after 30s", [{**LIB_FRAME, "lineno": 1}, moved])
    assert fingerprint(first) == fingerprint(second)


def test_system_frames_do_not_count_when_there_are_in_app_frames() -> None:
    other_lib = {"module": "asyncpg.conn", "function": "open", "in_app": False}
    assert fingerprint(error("E", "x", [LIB_FRAME, APP_FRAME])) == fingerprint(
        error("E", "x", [other_lib, APP_FRAME])
    )


def test_other_type_or_other_function_is_another_issue() -> None:
    base = error("ConnectionError", "x", [APP_FRAME])
    assert fingerprint(base) != fingerprint(error("TimeoutError", "x", [APP_FRAME]))
    other_function = {**APP_FRAME, "function": "query"}
    assert fingerprint(base) != fingerprint(error("ConnectionError", "x", [other_function]))


def test_frames_without_module_use_the_filename() -> None:
    frame = {"filename": "src\\backend\\db.py", "function": "connect", "in_app": True}
    assert grouping_components(error("E", "v", [frame])) == ["E", "src/backend/db.py:connect"]


def test_all_frames_count_when_none_is_in_app() -> None:
    assert grouping_components(error("E", "v", [LIB_FRAME])) == ["E", "psycopg.conn:open"]


def test_exception_without_frames_groups_by_type_and_parameterized_value() -> None:
    one = {"exception": {"values": [{"type": "KeyError", "value": "user 42 missing"}]}}
    two = {"exception": {"values": [{"type": "KeyError", "value": "user 7 missing"}]}}
    three = {"exception": {"values": [{"type": "KeyError", "value": "team 7 missing"}]}}
    assert fingerprint(one) == fingerprint(two) != fingerprint(three)


def test_messages_group_by_template_not_by_filled_in_parameters() -> None:
    one = {"logentry": {"message": "login failed for %s", "formatted": "login failed for ann"}}
    two = {"logentry": {"message": "login failed for %s", "formatted": "login failed for bob"}}
    other = {"logentry": {"message": "logout for %s", "formatted": "logout for ann"}}
    assert fingerprint(one) == fingerprint(two) != fingerprint(other)
    assert fingerprint({"message": "order 1234 failed"}) == fingerprint(
        {"message": "order 9 failed"}
    )


def test_parameterize_replaces_what_sentry_replaces() -> None:
    text = "user a.b@example.com from 192.168.0.1 id 3f2b8c1e-1111-4a4a-9b9b-0123456789ab n=12"
    assert parameterize(text) == "user <email> from <ip> id <uuid> n=<int>"
    assert parameterize("hash deadbeef42 at 0x1f") == "hash <hex> at <hex>"


def test_custom_fingerprint_replaces_default_grouping() -> None:
    one = {**error("A", "x", [APP_FRAME]), "fingerprint": ["database-outage"]}
    two = {"message": "something else", "fingerprint": ["database-outage"]}
    assert fingerprint(one) == fingerprint(two)


def test_default_variable_extends_default_grouping() -> None:
    base = error("A", "x", [APP_FRAME])
    east = {**base, "fingerprint": ["{{ default }}", "east"]}
    west = {**base, "fingerprint": ["{{default}}", "west"]}
    assert fingerprint(east) != fingerprint(west)
    assert fingerprint(east) != fingerprint(base)
    assert fingerprint({**base, "fingerprint": ["{{ default }}"]}) == fingerprint(base)


def test_fingerprint_is_a_hex_hash() -> None:
    value = fingerprint({"message": "hi"})
    assert len(value) == 32
    int(value, 16)


def test_title_and_culprit() -> None:
    event = error("ValueError", "bad", [LIB_FRAME, APP_FRAME])
    assert issue_title(event) == "ValueError: bad"
    assert culprit(event) == "app.backend.db in connect"
    assert culprit({**event, "transaction": "/api/users"}) == "/api/users"
    assert issue_title({"logentry": {"message": "a %s", "formatted": "a b"}}) == "a b"


def test_parameterize_reads_at_most_relays_message_length():
    # A long unbroken word: each pattern must only start matching at word starts.
    assert parameterize("x" * 1_000_000) == "x" * 8192
    assert parameterize("a" * 5000 + " ann@example.com") == "a" * 5000 + " <email>"
