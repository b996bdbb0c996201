"""The PII check: Relay's own scrubbers decide, the check reports where and by which rule."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sentry_stub import StubServer
from sentry_stub.checks.pii import (
    SEND_DEFAULT_PII,
    Finding,
    find_leaks,
    is_allowed,
    pii_report,
    redacted_excerpt,
)
from sentry_stub.client import StubApiError, StubClient
from sentry_stub.ingest.normalize import Scrubbing
from sentry_stub.view import StubView
from tests.sending import post_event

PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"


def leaks(event: dict, scrubbing: Scrubbing | None = None) -> dict[str, Finding]:
    return {f.path: f for f in find_leaks("e" * 32, event, scrubbing or Scrubbing())}


@pytest.mark.parametrize(
    ("data", "path", "rule", "secret"),
    [
        ({"password": "hunter2"}, "request.data.password", "@password:filter", "hunter2"),
        ({"card": "4111 1111 1111 1111"}, "request.data.card", "@creditcard:filter", "4111"),
        ({"iban": "DE89370400440532013000"}, "request.data.iban", "@iban:filter", "DE893704"),
        ({"ssn": "078-05-1120"}, "request.data.ssn", "@usssn:filter", "078-05"),
        ({"note": "Bearer abc.def.ghi"}, "request.data.note", "@bearer:filter", "abc.def"),
        ({"key": PEM}, "request.data.key", "@pemkey:filter", "MIIEvQIBADAN"),
        ({"credit_card": "x-1"}, "request.data.credit_card", "strip-fields", "x-1"),
        (
            {"nested": {"api_key": "k-9f8e7d"}},
            "request.data.nested.api_key",
            "@password:filter",
            "9f8e7d",
        ),
    ],
)
def test_relay_default_rules_find_secrets_in_request_data(data, path, rule, secret):
    found = leaks({"request": {"data": data}})
    assert list(found) == [path]
    assert found[path].rule == rule
    assert secret not in found[path].excerpt


def test_url_credentials_keep_the_url_readable():
    [finding] = leaks({"extra": {"db": "postgres://app:s3cretpw@db.internal/app"}}).values()
    assert (finding.path, finding.rule) == ("extra.db", "@urlauth:legacy")
    assert finding.excerpt == "postgres://app:s3*****w@db.internal/app"


def test_headers_cookies_and_query_strings_are_named_not_numbered():
    event = {
        "request": {
            "url": "http://app/api?token=abc123&page=2",
            "headers": {"Authorization": "Bearer abc.def", "Cookie": "sessionid=s3ss; theme=dark"},
        }
    }
    found = leaks(event)
    assert found["request.headers.Authorization"].rule == "@bearer:filter"
    assert found["request.cookies.sessionid"].rule == "@anything:filter"
    assert found["request.query_string.token"].rule == "@password:filter"
    assert "request.cookies.theme" in found  # cookies at all are what send_default_pii adds
    assert found["request.cookies.theme"].rule == SEND_DEFAULT_PII


def test_values_the_app_already_scrubbed_are_not_leaks():
    event = {
        "request": {
            "data": {"password": "[Filtered]", "token": "", "account": {"password": None}},
            "headers": {"Authorization": "", "Cookie": ""},
        },
        "_meta": {"request": {"data": {"password": {"": {"rem": [["!config", "s"]]}}}}},
    }
    assert leaks(event) == {}


def test_emails_are_scrubbed_only_where_relay_scrubs_them():
    event = {"message": "reset link sent to ada@example.com", "user": {"email": "ada@example.com"}}
    found = leaks(event)
    assert list(found) == ["logentry.formatted"]
    assert found["logentry.formatted"].rule == "@email:replace"
    assert found["logentry.formatted"].excerpt.startswith("reset link sent to ad")
    assert "example.com" not in found["logentry.formatted"].excerpt


def test_project_settings_add_sensitive_fields_and_ip_scrubbing():
    event = {"extra": {"internal_ref": "ABC-123"}, "user": {"ip_address": "203.0.113.9"}}
    assert list(leaks(event)) == ["user.ip_address"]  # send_default_pii, not a Relay rule
    scrubbing = Scrubbing(sensitive_fields=("internal_ref",), scrub_ip_addresses=True)
    found = leaks(event, scrubbing)
    assert found["extra.internal_ref"].rule == "strip-fields"
    assert found["user.ip_address"].rule == "@ip:replace"
    assert "user.sentry_user" not in found  # derived by the normalizer, reported at the source


def test_send_default_pii_data_is_reported_once_per_path():
    event = {
        "user": {"ip_address": "{{auto}}"},
        "request": {"env": {"REMOTE_ADDR": "10.0.0.7"}, "headers": {"X-Forwarded-For": "10.0.0.7"}},
    }
    found = leaks(event)
    assert sorted(found) == [
        "request.env.REMOTE_ADDR",
        "request.headers.X-Forwarded-For",
        "user.ip_address",
    ]
    assert {f.rule for f in found.values()} == {SEND_DEFAULT_PII}


@pytest.mark.parametrize(
    ("original", "scrubbed", "excerpt"),
    [
        ("hunter2", "[Filtered]", "hu****2"),
        ("abc", "[Filtered]", "***"),
        ("secret", "[Filtered]", "s*****"),
        ("x" * 100, "[Filtered]", "xx************x"),
        ({"pin": 1234}, "[Filtered]", '{"**********}'),
        ("mail ada@example.com now", "mail [email] now", "mail ad************m now"),
    ],
)
def test_redacted_excerpts_never_show_the_secret(original, scrubbed, excerpt):
    assert redacted_excerpt(original, scrubbed) == excerpt


@pytest.mark.parametrize(
    ("path", "allow", "allowed"),
    [
        ("user.ip_address", ["user.ip_address"], True),
        ("request.headers.Cookie", ["request.headers"], True),
        ("request.cookies.theme", ["request.cookies.*"], True),
        ("request.data.password", ["request.data.pass"], False),
        ("request.data.password", [], False),
    ],
)
def test_allow_list_matches_exact_prefix_and_glob(path, allow, allowed):
    assert is_allowed(path, allow) is allowed


def test_report_separates_allowed_findings():
    findings = [
        Finding("a" * 32, "user.ip_address", SEND_DEFAULT_PII, "20********9"),
        Finding("a" * 32, "request.data.password", "@password:filter", "hu****2"),
    ]
    report = pii_report(findings, checked=1, allow=["user.ip_address"])
    assert not report["passed"]
    assert [f["path"] for f in report["leaks"]] == ["request.data.password"]
    assert [f["path"] for f in report["allowed"]] == ["user.ip_address"]
    assert pii_report(findings[:1], checked=1, allow=["user"])["passed"]


# --- through the HTTP API ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[StubServer]:
    with StubServer() as stub:
        yield stub


def test_assert_no_pii_names_event_path_rule_and_redacted_excerpt(server):
    view = StubView(StubClient(server.url))
    post_event(server, {"event_id": "1" * 32, "request": {"data": {"password": "hunter2"}}})
    post_event(server, {"event_id": "2" * 32, "request": {"data": {"password": "[Filtered]"}}})
    leaking, clean = view.wait_for(count=2)

    with pytest.raises(AssertionError) as failure:
        view.assert_no_pii()
    message = str(failure.value)
    assert "1 leak in 1 event (2 events checked)" in message
    assert f"event {'1' * 32} (default): request.data.password [@password:filter] 'hu****2'" in (
        message
    )
    assert "hunter2" not in message
    assert view.assert_no_pii([clean])["checked"] == 1
    assert view.assert_no_pii(allow=["request.data.password"])["allowed"][0]["event_id"] == (
        leaking.event_id
    )


def test_api_names_bad_parameters(server):
    client = StubClient(server.url)
    with pytest.raises(StubApiError, match="no project with slug 'nope'"):
        client.check_pii(project="nope")
    with pytest.raises(StubApiError, match="'item' must list item ids, got 'x'"):
        client.get("/stub/api/checks/pii", {"item": "1,x"})
