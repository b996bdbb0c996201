"""The settings package: one error type with the key's path, and value types that stand alone."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import sentry_stub
from sentry_stub.config import parse_config
from sentry_stub.ingest.faults import FaultRuleError, parse_fault_rule
from sentry_stub.rules.config import RulesConfigError, parse_rules
from sentry_stub.settings.validation import ConfigError

SETTINGS = Path(sentry_stub.__file__).parent / "settings"


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({"server": {"nope": 1}}, "server.nope", "unknown config key server.'nope'"),
        ({"limits": {"max_event_size": -1}}, "limits.max_event_size", "non-negative integer"),
        ({"scrubbing": {"scrub_data": "yes"}}, "scrubbing.scrub_data", "must be true or false"),
        ({"faults": [{"kind": "drop", "x": 1}]}, "faults[0].x", "unknown fault rule key"),
        ({"alerts": [{"name": "a", "x": 1}]}, "alerts[0].x", "unknown config key alerts[0].'x'"),
    ],
)
def test_every_config_section_raises_one_error_type_naming_the_key(data, path, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as error:
        parse_config(data)
    assert error.value.path == path


def test_section_errors_are_config_errors():
    with pytest.raises(ConfigError) as fault_error:
        parse_fault_rule({"kind": "delay"}, "faults[0].")
    assert isinstance(fault_error.value, FaultRuleError)
    assert fault_error.value.path == "faults[0].seconds"
    with pytest.raises(ConfigError) as rules_error:
        parse_rules({"alerts": "x"})
    assert isinstance(rules_error.value, RulesConfigError)
    assert str(rules_error.value) == "alerts must be a list"


def test_relay_api_payload_limit_is_read_from_the_config():
    """Enforced on API bodies (ingest/decoding.py read_api_body; tests/test_no_stall.py)."""
    assert parse_config({"limits": {"max_api_payload_size": 1}}).limits.max_api_payload_size == 1


def test_public_config_error_is_the_settings_one():
    assert sentry_stub.ConfigError is ConfigError


@pytest.mark.parametrize("module", ["values.py", "validation.py"])
def test_settings_modules_import_nothing_else_of_the_package(module):
    tree = ast.parse((SETTINGS / module).read_text(encoding="utf-8"))
    runtime = [
        node
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and (node.level or "sentry_stub" in (node.module or ""))
    ]
    assert runtime == []  # the rule types in values.py are imported for the type checker only
