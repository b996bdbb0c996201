"""The event "as Sentry would store it", through Relay's own normalizer and scrubber."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from sentry_stub.processing import normalize
from sentry_stub.processing.normalize import pii_config, stored_event
from sentry_stub.settings.values import Scrubbing

FIXTURES = Path(__file__).parent / "fixtures"

pytestmark = pytest.mark.skipif(
    not normalize.RELAY_AVAILABLE, reason=normalize.RELAY_MISSING_REASON or ""
)


def load_event(name: str) -> dict:
    return json.loads((FIXTURES / "events" / name).read_text())


def test_real_event_is_normalized():
    stored, error = stored_event(load_event("python-django__zero-division.json"), Scrubbing())
    assert error is None
    assert stored["event_id"] == "dd9e1afb828a44d5b4df0183adaee5d8"
    assert stored["type"] == "error"
    # Relay turns the header object into its list-of-pairs form.
    assert ["Host", "localhost:8001"] in stored["request"]["headers"]
    # The capture is years old: Sentry resets timestamps older than 30 days, with a meta error.
    assert stored["_meta"]["timestamp"][""]["err"][0][0] == "past_timestamp"


def test_spec_vectors_as_relay_stores_them():
    event = {
        "level": "warn",
        "timestamp": 1718000000000,
        "tags": [["foo bar", " baz "], ["n", 1], ["b", True]],
        "message": "hello",
    }
    stored, _ = stored_event(event, Scrubbing())
    assert stored["level"] == "error"
    assert stored["_meta"]["level"][""] == {
        "err": [["invalid_data", {"reason": "invalid level"}]],
        "val": "warn",
    }
    assert stored["_meta"]["timestamp"][""]["err"] == [
        ["invalid_data", {"reason": "timestamp out of range"}]
    ]
    assert stored["tags"] == [["foo-bar", "baz"], ["n", "1"], ["b", "True"]]
    assert stored["logentry"] == {"formatted": "hello"}


def test_default_scrubbers_filter_passwords_and_sensitive_fields():
    event = {
        "extra": {"password": "hunter2", "favourite_colour": "teal", "note": "fine"},
        "request": {"cookies": {"sessionid": "abc123"}},
    }
    scrubbing = Scrubbing(sensitive_fields=("favourite_colour",))
    stored, _ = stored_event(event, scrubbing)
    assert stored["extra"] == {
        "favourite_colour": "[Filtered]",
        "note": "fine",
        "password": "[Filtered]",
    }
    assert stored["_meta"]["extra"]["favourite_colour"][""]["rem"] == [["strip-fields", "s", 0, 10]]
    assert stored["_meta"]["extra"]["password"][""]["rem"] == [["@password:filter", "s", 0, 10]]
    assert stored["request"]["cookies"] == [["sessionid", "[Filtered]"]]


def test_exclude_fields_and_scrubbing_off():
    event = {"extra": {"password": "hunter2", "api_key": "k"}}
    stored, _ = stored_event(event, Scrubbing(exclude_fields=("password",)))
    assert stored["extra"] == {"api_key": "[Filtered]", "password": "hunter2"}
    stored, _ = stored_event(event, Scrubbing(scrub_data=False))
    assert stored["extra"] == {"api_key": "k", "password": "hunter2"}
    assert pii_config(Scrubbing(scrub_data=False)) == {}


def test_auto_ip_becomes_the_client_ip():
    stored, _ = stored_event(
        load_event("sentry-cli__send-event-no-level.json"), Scrubbing(), client_ip="10.1.2.3"
    )
    assert stored["user"]["ip_address"] == "10.1.2.3"


def test_browser_events_get_the_client_ip_and_ip_scrubbing_removes_it():
    event = {"platform": "javascript", "message": "x"}
    stored, _ = stored_event(event, Scrubbing(), client_ip="10.1.2.3")
    assert stored["user"]["ip_address"] == "10.1.2.3"
    stored, _ = stored_event(event, Scrubbing(scrub_ip_addresses=True), client_ip="10.1.2.3")
    assert stored["user"]["ip_address"] is None
    assert event == {"platform": "javascript", "message": "x"}  # the input is left alone


def test_converted_config_uses_the_project_settings():
    config = pii_config(Scrubbing(sensitive_fields=("iban_no",)))
    assert config["rules"]["strip-fields"]["keyPattern"] == "iban_no"
    assert any("@common:filter" in rules for rules in config["applications"].values())


def test_refused_events_say_why():
    stored, error = stored_event({"type": "transaction", "timestamp": 1718000000}, Scrubbing())
    assert stored is None
    assert error.startswith("Relay refused the event: ")
    assert "start_timestamp" in error
    assert stored_event([], Scrubbing()) == (None, "the event is not a JSON object")


def test_without_sentry_relay_ingest_still_works():
    script = (
        "import sys; sys.modules['sentry_relay'] = None\n"
        "from sentry_stub.processing import normalize as n\n"
        "from sentry_stub.settings.values import Scrubbing\n"
        "print(n.RELAY_AVAILABLE); print(n.RELAY_MISSING_REASON)\n"
        "print(n.stored_event({'message': 'x'}, Scrubbing()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    available, reason, outcome = result.stdout.splitlines()
    assert available == "False"
    assert "`sentry-relay` package is not importable" in reason
    assert f"{platform.system()} {platform.machine()}" in reason
    assert outcome == f"(None, {reason!r})"
