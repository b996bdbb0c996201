"""The PII check: Relay's own scrubbers decide, the check reports where and by which rule."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sentry_stub.checks.pii import (
    SEND_DEFAULT_PII,
    Finding,
    find_leaks,
    is_allowed,
    pii_report,
    redacted_excerpt,
)
from sentry_stub.checks.text import pii_text
from sentry_stub.client import StubApiError, StubClient
from sentry_stub.settings.values import Scrubbing
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


# --- what triggered a finding, per-event counts, allow suggestions, scope -------------------


def frame(vars: dict, *, in_app: bool) -> dict:
    return {"function": "f", "module": "m", "in_app": in_app, "vars": vars}


def error_with_frames(*frames: dict) -> dict:
    return {
        "exception": {
            "values": [{"type": "E", "value": "x", "stacktrace": {"frames": list(frames)}}]
        }
    }


@pytest.mark.parametrize(
    ("data", "trigger"),
    [
        ({"password": "hunter2"}, "the key 'password'"),
        ({"db_password_hash": "x1"}, "the key 'db_password_hash' (it contains 'password')"),
        ({"scopes": "own_oauth_scopes=None"}, "the value contains 'auth' (in 'own_oauth_scopes')"),
        # A secret that follows the word is not printed: only the word and its snake_case name.
        ({"header": "token.eyJhbGciOiJIUzI1NiJ9"}, "the value contains 'token' (in 'token')"),
        (
            {"line": "my_api_key-AKIAIOSFODNN7EXAMPLE"},
            "the value contains 'api_key' (in 'my_api_key')",
        ),
        ({"card": "4111 1111 1111 1111"}, "the value looks like a credit card number (41…11, 19"),
        ({"credit_card": "x-1"}, "the key 'credit_card'"),
    ],
)
def test_a_finding_names_its_trigger_without_the_secret(data: dict, trigger: str) -> None:
    [finding] = leaks({"request": {"data": data}}).values()
    assert finding.trigger.startswith(trigger)
    for secret in ("hunter2", "1111 1111", "eyJ", "AKIA"):
        assert secret not in finding.trigger


def test_leaks_are_counted_per_event_with_the_allow_entry_to_pass() -> None:
    findings = find_leaks(
        "1" * 32, {"request": {"data": {"password": "a1b2c3d4", "token": "t0k3n"}}}, Scrubbing()
    )
    report = pii_report(findings, checked=2)
    text = pii_text(report)
    assert text.splitlines()[0] == "sentry-stub PII check: 2 leaks in 1 event (2 events checked)."
    assert 'assert_no_pii(allow=["request.data.password", "request.data.token"])' in text
    framed = find_leaks(
        "2" * 32, error_with_frames(frame({"api_key": "k-1"}, in_app=True)), Scrubbing()
    )
    [leak] = pii_report(framed, checked=1)["leaks"]
    assert leak["allow"] == "exception.values.*.stacktrace.frames.*.vars.api_key"
    assert pii_report(framed, checked=1, allow=[leak["allow"]])["passed"]


def test_app_scope_skips_library_frames_and_says_so() -> None:
    event = error_with_frames(
        frame({"dependant": "Dependant(own_oauth_scopes=None)"}, in_app=False),
        frame({"body": {"password": "hunter2"}}, in_app=True),
    )
    findings = find_leaks("3" * 32, event, Scrubbing())
    app = pii_report(findings, checked=1)
    assert [leak["path"] for leak in app["leaks"]] == [
        "exception.values.0.stacktrace.frames.1.vars.body.password"
    ]
    assert [f["path"] for f in app["skipped"]] == [
        "exception.values.0.stacktrace.frames.0.vars.dependant"
    ]
    assert "Not counted: 1 finding" in pii_text(app)
    everything = pii_report(findings, checked=1, scope="all")
    assert len(everything["leaks"]) == 2
    with pytest.raises(ValueError, match="scope must be one of app, all"):
        pii_report(findings, checked=1, scope="most")


def test_include_limits_the_check_to_the_parts_the_app_controls() -> None:
    event = {
        "request": {"data": {"password": "hunter2"}},
        "extra": {"token": "t-1"},
        **error_with_frames(frame({"password": "x9"}, in_app=True)),
    }
    findings = find_leaks("4" * 32, event, Scrubbing())
    report = pii_report(findings, checked=1, include=["request", "user", "tags", "extra"])
    assert sorted(leak["path"] for leak in report["leaks"]) == [
        "extra.token",
        "request.data.password",
    ]


def test_assert_no_pii_takes_scope_and_include_over_http(server):
    view = StubView(StubClient(server.url))
    library = frame({"dependant": "Dependant(own_oauth_scopes=None)"}, in_app=False)
    post_event(server, {"event_id": "5" * 32, **error_with_frames(library)})
    view.wait_for()
    report = view.assert_no_pii()
    assert (report["scope"], len(report["skipped"])) == ("app", 1)
    with pytest.raises(AssertionError) as failure:
        view.assert_no_pii(scope="all")
    message = str(failure.value)
    assert "1 leak in 1 event (1 event checked)" in message
    assert "trigger: the value contains 'auth' (in 'own_oauth_scopes')" in message
    assert view.assert_no_pii(scope="all", include=["request"])["passed"]
    with pytest.raises(StubApiError, match="'scope' must be one of app, all"):
        view.client.check_pii(scope="most")


def test_cli_check_pii_takes_scope_and_include(server):
    after = StubClient(server.url).cursor()
    library = frame({"dependant": "Dependant(own_oauth_scopes=None)"}, in_app=False)
    post_event(server, {"event_id": "6" * 32, **error_with_frames(library)})
    StubView(StubClient(server.url), cursor=after).wait_for()
    command = [sys.executable, "-m", "sentry_stub", "check", "pii", "--url", server.url]
    command += ["--after", str(after)]
    default = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert default.returncode == 0, default.stdout
    assert "Not counted: 1 finding" in default.stdout
    everything = subprocess.run([*command, "--scope", "all"], capture_output=True, text=True)
    assert everything.returncode == 1
    assert "trigger: the value contains 'auth'" in everything.stdout
    limited = [*command, "--scope", "all", "--include", "request"]
    assert subprocess.run(limited, capture_output=True, text=True).returncode == 0
