"""Browser security reports (vector 30) and NEL reports, and the CSP events Relay makes of them."""

from __future__ import annotations

import json

import pytest

from sentry_stub.ingest.security import envelope_from_nel, envelope_from_security_report
from sentry_stub.processing.security_event import normalize_uri, security_event
from sentry_stub.protocol.errors import IngestError

CSP_REPORT = {
    "csp-report": {
        "document-uri": "https://example.com/foo/bar",
        "referrer": "https://www.google.com/",
        "violated-directive": "default-src self",
        "original-policy": "default-src self; report-uri /csp-hotline.php",
        "blocked-uri": "http://evilhackerscripts.com",
    }
}


def report_envelope(content_type, body=None, **options):
    options = {"release": None, "environment": None, "origin": None, **options}
    data = json.dumps(CSP_REPORT).encode() if body is None else body
    return envelope_from_security_report(content_type, data, **options)


def test_vector_30_csp_report_content_type_is_accepted():
    body = json.dumps(CSP_REPORT).encode()
    envelope = report_envelope(
        "application/csp-report", body, release="1.0", environment="prod", origin="https://a.io"
    )

    (item,) = envelope.items
    assert item.headers == {
        "type": "raw_security",
        "content_type": "application/json",
        "sentry_release": "1.0",
        "sentry_environment": "prod",
    }
    assert item.payload == body
    assert envelope.headers["origin"] == "https://a.io"
    assert len(envelope.event_id) == 32


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/expect-ct-report",
        "application/expect-ct-report+json",
        "application/expect-staple-report",
    ],
)
def test_other_accepted_content_types(content_type):
    assert report_envelope(content_type).items[0].type == "raw_security"


@pytest.mark.parametrize("content_type", ["text/plain", "application/reports+json", None])
def test_vector_30_other_content_types_are_415(content_type):
    with pytest.raises(IngestError) as caught:
        report_envelope(content_type)
    assert (caught.value.status, caught.value.detail) == (415, "unsupported media type")


def test_empty_report_is_400():
    with pytest.raises(IngestError) as caught:
        report_envelope("application/csp-report", b"")
    assert (caught.value.status, caught.value.detail) == (400, "empty request body")


def test_csp_event_as_relay_builds_it():
    event, notes = security_event(
        CSP_REPORT,
        release="1.0",
        environment="prod",
        origin="https://example.com",
        user_agent="Mozilla/5.0",
    )

    assert notes == []
    assert event == {
        "type": "csp",
        "logentry": {"formatted": "Blocked 'default-src' from 'evilhackerscripts.com'"},
        "culprit": "default-src self",
        "tags": [
            ["effective-directive", "default-src"],
            ["blocked-uri", "http://evilhackerscripts.com"],
            ["blocked-host", "evilhackerscripts.com"],
        ],
        "request": {
            "url": "https://example.com/foo/bar",
            "headers": [
                ["Referer", "https://www.google.com/"],
                ["Origin", "https://example.com"],
                ["User-Agent", "Mozilla/5.0"],
            ],
        },
        "csp": {
            "effective_directive": "default-src",
            "blocked_uri": "http://evilhackerscripts.com",
            "document_uri": "https://example.com/foo/bar",
            "original_policy": "default-src self; report-uri /csp-hotline.php",
            "referrer": "https://www.google.com/",
            "violated_directive": "default-src self",
        },
        "release": "1.0",
        "environment": "prod",
    }


def test_reporting_api_csp_violation():
    report = {
        "type": "csp-violation",
        "age": 0,
        "url": "https://example.com/page",
        "body": {
            "blockedURL": "https://evil.com:8443/x.js",
            "documentURL": "https://example.com/page",
            "effectiveDirective": "script-src-elem",
            "statusCode": "200",
            "sample": "alert(1)",
            "disposition": "enforce",
            "lineNumber": 9,
        },
    }
    event, _ = security_event(report)

    assert event["logentry"]["formatted"] == "Blocked 'script' from 'evil.com:8443'"
    assert event["csp"]["status_code"] == 200
    assert event["csp"]["script_sample"] == "alert(1)"
    assert event["csp"]["line_number"] == 9
    assert event["culprit"] == ""
    assert event["request"] == {"url": "https://example.com/page"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"effective-directive": "style-src", "blocked-uri": "http://example.com/lol.css"},
            "Blocked 'style' from 'example.com'",
        ),
        ({"effective-directive": "script-src"}, "Blocked unsafe (eval() or inline) 'script'"),
        (
            {"effective-directive": "script-src", "blocked-uri": "inline"},
            "Blocked unsafe inline 'script'",
        ),
        (
            {"effective-directive": "script-src", "blocked-uri": "eval"},
            "Blocked unsafe eval() 'script'",
        ),
        ({"effective-directive": "style-src", "blocked-uri": ""}, "Blocked inline 'style'"),
        (
            {"effective-directive": "img-src", "blocked-uri": "http://google.com/foo"},
            "Blocked 'image' from 'google.com'",
        ),
        (
            {"effective-directive": "script-src", "blocked-uri": "data:text/plain;base64,SGk="},
            "Blocked 'script' from 'data:'",
        ),
        (
            {"effective-directive": "script-src", "blocked-uri": "data"},
            "Blocked 'script' from 'data:'",
        ),
        (
            {"effective-directive": "style-src-elem", "blocked-uri": "self"},
            "Blocked 'style' or 'link' element",
        ),
        (
            {"effective-directive": "script-src-attr", "blocked-uri": "eval"},
            "Blocked inline script attribute from 'eval:'",
        ),
        (
            {"effective-directive": "form-action", "blocked-uri": "https://x.org/post"},
            "Blocked 'form' action to 'x.org'",
        ),
        (
            {"violated-directive": "script-src 'unsafe-inline'", "blocked-uri": "eval"},
            "Blocked unsafe eval() 'script'",
        ),
    ],
)
def test_messages_follow_relay(raw, message):
    event, _ = security_event({"csp-report": {"document-uri": "http://example.com/foo", **raw}})
    assert event["logentry"]["formatted"] == message


@pytest.mark.parametrize(
    ("document", "violated", "culprit"),
    [
        (
            "http://example.com/foo",
            "style-src http://cdn.example.com",
            "style-src http://cdn.example.com",
        ),
        ("http://example.com/foo", "style-src http://example.com", "style-src 'self'"),
        (
            "http://example.com/foo",
            "style-src http://example2.com example.com",
            "style-src http://example2.com 'self'",
        ),
        ("example.com", "style-src example2.com", "style-src example2.com"),
    ],
)
def test_culprit_normalizes_the_documents_own_origin(document, violated, culprit):
    raw = {"document-uri": document, "violated-directive": violated}
    event, _ = security_event({"csp-report": raw})
    assert event["culprit"] == culprit


def test_stripe_query_strings_are_cut_from_the_tag():
    raw = {
        "blocked-uri": "https://api.stripe.com/v1/tokens?card[number]=xxx",
        "effective-directive": "script-src",
    }
    event, _ = security_event({"csp-report": raw})
    assert ["blocked-uri", "https://api.stripe.com/v1/tokens"] in event["tags"]


@pytest.mark.parametrize(
    ("value", "normalized"),
    [
        ("", "'self'"),
        ("self", "'self'"),
        ("data", "data:"),
        ("http", "http://"),
        ("http://notlocalhost/", "notlocalhost"),
        ("data://notlocalhost/", "data://notlocalhost"),
        ("http://notlocalhost:8000/lol.css", "notlocalhost:8000"),
        ("https://example.com:443/", "example.com"),
        ("xyz://notlocalhost/", "xyz://notlocalhost"),
    ],
)
def test_normalize_uri_matches_relays_table(value, normalized):
    assert normalize_uri(value) == normalized


@pytest.mark.parametrize(
    ("report", "reason"),
    [
        ({"expect-ct-report": {"hostname": "www.example.com"}}, "Expect-CT reports are no longer"),
        ({"expect-staple-report": {"hostname": "x"}}, "Expect-Staple reports are no longer"),
        ({"hostname": "x", "known-pins": []}, "HPKP reports are no longer"),
        ({"type": "deprecation", "body": {}}, "unsupported Reporting API report type"),
        ({"csp-report": {"document-uri": "http://x"}}, "invalid security report"),
        (
            {"csp-report": {"blocked-uri": 5, "effective-directive": "img-src"}},
            "invalid CSP report",
        ),
        ([CSP_REPORT], "the report is not a JSON object"),
    ],
)
def test_reports_relay_drops(report, reason):
    event, notes = security_event(report)
    assert event is None
    (note,) = notes
    assert note.startswith("security report dropped as Relay drops it: ")
    assert reason in note


def test_nel_reports_become_one_item_each():
    reports = [{"type": "network-error", "url": "https://a.io/", "body": {"type": "dns"}}] * 2
    envelope = envelope_from_nel("application/reports+json", json.dumps(reports).encode())
    assert [item.type for item in envelope.items] == ["nel", "nel"]
    assert json.loads(envelope.items[0].payload) == reports[0]


def test_nel_body_that_is_not_a_list_has_no_items():
    assert envelope_from_nel("application/json", b'{"type": "network-error"}').items == []


def test_nel_refusals():
    with pytest.raises(IngestError) as caught:
        envelope_from_nel("text/plain", b"[]")
    assert (caught.value.status, caught.value.detail) == (415, "unsupported media type")
    with pytest.raises(IngestError) as caught:
        envelope_from_nel("application/json", b"[")
    assert caught.value.status == 400
    assert caught.value.detail.startswith('invalid JSON data: Error("Expecting value", line: 1')
