"""Fault rules: Relay's rate-limit header format, rule matching and lifetimes, and every kind of
fault as an HTTP client sees it from a real in-process server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from sentry_stub import StubServer
from sentry_stub.config import ConfigError, parse_config
from sentry_stub.ingest.faults import (
    RATE_LIMITED_DETAIL,
    FaultRuleError,
    FaultRules,
    RateLimit,
    format_rate_limits,
    item_categories,
    limited_items,
    merge_rate_limits,
    parse_fault_rule,
)
from sentry_stub.protocol.envelope import Item, ParsedEnvelope, parse_envelope
from sentry_stub.settings.values import Project
from sentry_stub.view import StubView

KEY = "0123456789abcdef0123456789abcdef"
EVENT_ID = "9ec79c33ec9942ab8353589fcb2e04dc"
PROJECT = Project(id=1, slug="backend", keys=(KEY,))


def item(type_: str, payload: bytes = b"{}", **headers) -> Item:
    return Item({"type": type_, **headers}, payload)


def envelope(*types: str) -> ParsedEnvelope:
    return ParsedEnvelope({"event_id": EVENT_ID}, [item(t) for t in types])


# --- the header, byte for byte ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("limits", "header"),
    [
        ([RateLimit(60, ("transaction",), "key")], "60:transaction:key"),
        (
            [RateLimit(2700, ("default", "error", "security"), "organization")],
            "2700:default;error;security:organization",
        ),
        (
            [RateLimit(60, (), "organization"), RateLimit(2700, (), "project")],
            "60::organization, 2700::project",
        ),
        # Relay's own formatting test vector (relay-server utils/rate_limits.rs).
        (
            [
                RateLimit(42, (), "organization", "my_limit"),
                RateLimit(4711, ("transaction", "security"), "project"),
            ],
            "42::organization:my_limit, 4711:transaction;security:project",
        ),
    ],
)
def test_header_is_formatted_as_relay_writes_it(limits, header):
    assert format_rate_limits(limits) == header


def test_limits_with_the_same_categories_and_scope_merge_to_the_longest():
    merged = merge_rate_limits(
        [RateLimit(10, ("error",), "key"), RateLimit(30, ("error",), "key"), RateLimit(5, ())]
    )
    assert format_rate_limits(merged) == "30:error:key, 5::key"


# --- which items count against which categories ---------------------------------------------


@pytest.mark.parametrize(
    ("an_item", "categories"),
    [
        (item("event"), ("error",)),
        (item("transaction"), ("transaction", "transaction_indexed", "span", "span_indexed")),
        (item("attachment"), ("attachment", "attachment_item")),
        (
            item("attachment", attachment_type="event.minidump"),
            ("attachment", "attachment_item", "error"),
        ),
        (item("sessions"), ("session",)),
        (item("check_in"), ("monitor",)),
        (item("log"), ("log_byte", "log_item")),
        (item("profile_chunk", platform="javascript"), ("profile_chunk_ui",)),
        (item("profile_chunk", platform="python"), ("profile_chunk",)),
        (item("profile_chunk"), ()),
        (item("client_report"), ()),
        (item("some_future_type"), ()),
    ],
)
def test_item_categories_follow_the_spec_table(an_item, categories):
    assert item_categories(an_item) == categories


def test_a_limited_event_takes_its_attachments_along():
    limits = [RateLimit(60, ("error",))]
    assert limited_items(envelope("event", "attachment", "session"), limits) == {0, 1}


def test_an_attachment_limit_leaves_the_event():
    limits = [RateLimit(60, ("attachment",))]
    assert limited_items(envelope("event", "attachment"), limits) == {1}


def test_a_limit_for_all_categories_never_limits_client_reports():
    limits = [RateLimit(60, ())]
    assert limited_items(envelope("event", "client_report", "foo"), limits) == {0}


# --- reading rules ----------------------------------------------------------------------------


def test_rule_from_json_keeps_every_setting():
    rule = parse_fault_rule(
        {
            "kind": "rate_limit",
            "project": 1,
            "categories": ["error", "transaction"],
            "retry_after": 2,
            "scope": "organization",
            "reason_code": "my_limit",
            "count": 3,
            "duration": 1.5,
        }
    )
    assert rule.to_json() == {
        "kind": "rate_limit",
        "project": "1",
        "key": None,
        "categories": ["error", "transaction"],
        "count": 3,
        "duration": 1.5,
        "retry_after": 2,
        "scope": "organization",
        "reason_code": "my_limit",
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "explode"}, "kind must be one of rate_limit, status, delay, drop"),
        ({"kind": "drop", "bogus": 1}, "unknown fault rule key 'bogus'"),
        ({"kind": "status", "status": 500, "seconds": 1}, "'seconds' for kind 'status'"),
        ({"kind": "status"}, "status is required"),
        ({"kind": "status", "status": 302}, "status must be an HTTP error status"),
        ({"kind": "delay"}, "seconds is required"),
        ({"kind": "delay", "seconds": -1}, "seconds must be a number"),
        ({"kind": "rate_limit", "categories": ["errors"]}, "unknown data category 'errors'"),
        ({"kind": "rate_limit", "categories": ["internal"]}, "never rate limited"),
        ({"kind": "rate_limit", "retry_after": 1.5}, "retry_after must be a positive integer"),
        ({"kind": "rate_limit", "scope": "team"}, "scope must be one of"),
        ({"kind": "drop", "count": 0}, "count must be a positive integer"),
        ({"kind": "drop", "duration": 0}, "duration must be more than 0"),
        ({"kind": "drop", "project": True}, "project must be a project slug"),
    ],
)
def test_bad_rules_are_refused_naming_the_key(data, message):
    with pytest.raises(FaultRuleError, match=message.replace("(", r"\(")):
        parse_fault_rule(data)


def test_config_faults_become_settings():
    settings = parse_config(
        {
            "projects": [{"slug": "backend", "id": 1, "keys": [KEY]}],
            "faults": [{"kind": "status", "status": 503, "project": "backend"}],
        }
    )
    [rule] = settings.faults
    assert (rule.kind, rule.status, rule.project) == ("status", 503, "backend")


@pytest.mark.parametrize(
    ("faults", "message"),
    [
        ([{"kind": "drop", "colour": "red"}], "unknown fault rule key faults\\[0\\].'colour'"),
        ([{"kind": "drop", "project": "frontend"}], "faults\\[0\\].project 'frontend'"),
        ({"kind": "drop"}, "faults must be an array of tables"),
    ],
)
def test_config_fault_errors_name_the_key(faults, message):
    config = {"projects": [{"slug": "backend", "id": 1, "keys": [KEY]}], "faults": faults}
    with pytest.raises(ConfigError, match=message):
        parse_config(config)


# --- matching and lifetimes -------------------------------------------------------------------


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def rules(*data: dict, clock: Clock | None = None) -> FaultRules:
    return FaultRules([parse_fault_rule(d) for d in data], clock=clock or Clock())


def judge(faults: FaultRules, *types: str, project: Project = PROJECT, key: str = KEY):
    return faults.judge(project, "envelope", envelope(*types), key)


def test_count_limits_the_rule_to_the_next_matching_requests():
    faults = rules({"kind": "status", "status": 500, "categories": ["error"], "count": 2})
    assert judge(faults, "transaction").failure is None  # not matching: not counted
    assert judge(faults, "event").failure is not None
    assert judge(faults, "event").failure is not None
    assert judge(faults, "event").failure is None
    [listed] = faults.listing()
    assert (listed["hits"], listed["active"]) == (2, False)


def test_duration_counts_from_activation():
    clock = Clock()
    faults = rules({"kind": "drop", "duration": 5}, clock=clock)
    clock.now += 4.9
    assert judge(faults, "event").failure is not None
    assert faults.listing()[0]["expires_in"] == pytest.approx(0.1)
    clock.now += 0.1
    assert judge(faults, "event").failure is None


def test_count_and_duration_end_at_whichever_comes_first():
    clock = Clock()
    faults = rules({"kind": "drop", "count": 5, "duration": 1}, clock=clock)
    assert judge(faults, "event").failure is not None
    clock.now += 1
    assert judge(faults, "event").failure is None


def test_rules_match_project_by_slug_or_id_and_key():
    faults = rules({"kind": "drop", "project": "backend"}, {"kind": "drop", "project": 2})
    other = Project(id=2, slug="frontend", keys=(KEY,))
    third = Project(id=3, slug="mobile", keys=(KEY,))
    assert judge(faults, "event").failure.id == 1
    assert judge(faults, "event", project=other).failure.id == 2
    assert judge(faults, "event", project=third).failure is None
    keyed = rules({"kind": "drop", "key": "f" * 32})
    assert judge(keyed, "event").failure is None
    assert judge(keyed, "event", key="f" * 32).failure is not None


def test_first_failure_wins_and_later_ones_are_not_used_up():
    faults = rules(
        {"kind": "delay", "seconds": 1},
        {"kind": "delay", "seconds": 3},
        {"kind": "status", "status": 503, "count": 1},
        {"kind": "drop", "count": 1},
        {"kind": "rate_limit", "count": 1},
    )
    first = judge(faults, "event")
    assert (first.delay, first.failure.rule.kind, first.limits) == (3, "status", [])
    second = judge(faults, "event")
    assert (second.failure.rule.kind, second.limits) == ("drop", [])
    third = judge(faults, "event")
    assert third.failure is None
    assert third.limits == [RateLimit(60, (), "key")]
    assert [f["hits"] for f in faults.listing()] == [3, 3, 1, 1, 1]


def test_a_rate_limit_counts_only_requests_it_limits():
    faults = rules({"kind": "rate_limit", "categories": ["error"], "count": 1})
    assert judge(faults, "transaction", "client_report").limits == []
    assert judge(faults, "event").limited == {0}
    assert judge(faults, "event").limited == set()


# --- at the HTTP level ------------------------------------------------------------------------


@pytest.fixture
def view(view: StubView) -> Iterator[StubView]:
    """The shared view; the faults a test added are cleared after it."""
    yield view
    view.client.clear_faults()


def event_envelope(*extra: Item) -> bytes:
    event = item("event", json.dumps({"message": "boom", "level": "error"}).encode())
    return serialize(ParsedEnvelope({"event_id": EVENT_ID}, [event, *extra]))


def serialize(env: ParsedEnvelope) -> bytes:
    parts = [json.dumps(env.headers).encode()]
    for it in env.items:
        parts += [json.dumps({**it.headers, "length": len(it.payload)}).encode(), it.payload]
    return b"\n".join(parts) + b"\n"


SESSION = item(
    "session",
    json.dumps({"sid": "6a9b6d1a3b4c4e6f8a9b6d1a3b4c4e6f", "init": True, "status": "ok",
                "started": "2024-06-10T06:13:20Z", "attrs": {"release": "app@1.0"}}).encode(),
)  # fmt: skip
CLIENT_REPORT = item(
    "client_report",
    json.dumps({"discarded_events": [{"reason": "sample_rate", "category": "transaction",
                                      "quantity": 3}]}).encode(),
)  # fmt: skip


def post(server: StubServer, body: bytes, path: str = "/api/1/envelope/") -> httpx.Response:
    headers = {"x-sentry-auth": f"Sentry sentry_key={KEY}, sentry_version=7"}
    return httpx.post(server.url + path, content=body, headers=headers)


def test_429_when_nothing_was_accepted(server, view):
    view.fault("rate_limit", categories="error", retry_after=2, reason_code="my_limit")
    response = post(server, event_envelope())
    assert response.status_code == 429
    assert response.headers["x-sentry-rate-limits"] == "2:error:key:my_limit"
    assert response.headers["retry-after"] == "2"
    assert response.json() == {"detail": RATE_LIMITED_DETAIL}
    assert view.envelopes() == []


def test_retry_after_is_the_longest_limit(server, view):
    view.fault("rate_limit", categories="error", retry_after=5, scope="project")
    view.fault("rate_limit", retry_after=90, scope="organization")
    response = post(server, event_envelope())
    assert response.headers["x-sentry-rate-limits"] == "5:error:project, 90::organization"
    assert response.headers["retry-after"] == "90"


def test_partial_limit_answers_200_with_the_header_and_stores_the_rest(server, view):
    view.fault("rate_limit", categories=["error"], retry_after=60)
    response = post(server, event_envelope(SESSION))
    assert response.status_code == 200
    assert response.json() == {"id": EVENT_ID}
    assert response.headers["x-sentry-rate-limits"] == "60:error:key"
    assert "retry-after" not in response.headers
    [stored] = view.envelopes()
    assert [i.type for i in stored.items] == ["session"]
    assert parse_envelope(stored.raw).items[0].type == "event"  # raw: as received
    assert view.events() == []


def test_client_reports_are_never_limited_and_do_not_count_as_accepted(server, view):
    view.fault("rate_limit", retry_after=60)
    response = post(server, event_envelope(CLIENT_REPORT))
    assert response.status_code == 429
    [report] = view.client_reports()
    assert report.payload["discarded_events"][0]["reason"] == "sample_rate"
    only_report = post(server, serialize(ParsedEnvelope({}, [CLIENT_REPORT])))
    assert only_report.status_code == 200
    assert "x-sentry-rate-limits" not in only_report.headers


def test_cron_never_answers_429_but_drops_the_check_in(server, view):
    view.fault("rate_limit", categories="monitor")
    response = httpx.get(f"{server.url}/api/1/cron/nightly/{KEY}/?status=ok")
    assert response.status_code == 202
    assert "x-sentry-rate-limits" not in response.headers
    assert view.check_ins() == []


def test_status_fault_answers_with_a_json_detail_and_stores_nothing(server, view):
    view.fault("status", status=503, detail="the service is overloaded", count=1)
    response = post(server, event_envelope())
    assert response.status_code == 503
    assert response.json() == {"detail": "the service is overloaded"}
    assert view.envelopes() == []
    assert post(server, event_envelope()).status_code == 200


def test_delay_stores_then_answers_late(server, view):
    fault = view.fault("delay", seconds=0.5)
    started = time.monotonic()
    response = post(server, event_envelope())
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.5
    assert len(view.envelopes()) == 1
    assert fault.hits == 1


def test_drop_closes_the_connection_without_an_answer(server, view):
    view.fault("drop", count=1)
    with pytest.raises(httpx.RemoteProtocolError, match="without sending"):
        post(server, event_envelope())
    assert view.envelopes() == []
    assert post(server, event_envelope()).status_code == 200


def test_store_endpoint_is_limited_too(server, view):
    view.fault("rate_limit", categories="error", retry_after=7)
    response = post(server, b'{"message": "legacy"}', "/api/1/store/")
    assert response.status_code == 429
    assert response.headers["x-sentry-rate-limits"] == "7:error:key"


def test_api_lists_adds_and_removes_rules(server, view):
    client = view.client
    created = client.add_fault({"kind": "drop", "project": "default", "count": 2})
    assert created["id"] > 0
    assert created["hits"] == 0 and created["active"] is True
    assert [f["id"] for f in client.faults()] == [created["id"]]
    client.remove_fault(created["id"])
    assert client.faults() == []
    response = httpx.delete(f"{server.url}/stub/api/faults/{created['id']}")
    assert response.status_code == 404
    bad = httpx.post(f"{server.url}/stub/api/faults", json={"kind": "drop", "when": "now"})
    assert bad.status_code == 400
    assert "'when'" in bad.json()["detail"]
    client.add_fault({"kind": "drop"})
    client.clear_faults()
    assert client.faults() == []


def test_fault_handle_removes_its_rule_at_exit(server, view):
    with view.fault("status", status=500) as fault:
        assert post(server, event_envelope()).status_code == 500
        assert fault.hits == 1
    assert view.client.faults() == []
    assert post(server, event_envelope()).status_code == 200


def test_rules_from_the_config_file_are_active_from_the_start(tmp_path):
    config = tmp_path / "stub.toml"
    config.write_text(
        f"""
[[projects]]
slug = "backend"
id = 1
keys = ["{KEY}"]

[[faults]]
kind = "rate_limit"
categories = ["error"]
retry_after = 30
count = 1
"""
    )
    with StubServer(config=config) as stub:
        first, second = post(stub, event_envelope()), post(stub, event_envelope())
    assert first.status_code == 429
    assert first.headers["x-sentry-rate-limits"] == "30:error:key"
    assert second.status_code == 200


@pytest.mark.parametrize(
    ("data", "keys"),
    [
        ({"kind": "rate_limit"}, ["retry_after", "scope", "reason_code"]),
        ({"kind": "status", "status": 503}, ["status", "detail"]),
        ({"kind": "delay", "seconds": 1}, ["seconds"]),
        ({"kind": "drop"}, []),
    ],
)
def test_each_kind_of_rule_carries_only_its_own_keys(data: dict, keys: list[str]) -> None:
    rule = parse_fault_rule(data)
    common = ["kind", "project", "key", "categories", "count", "duration"]
    assert list(rule.to_json()) == common + keys
    assert rule.to_json().items() >= data.items()
