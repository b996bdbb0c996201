"""Ownership rules: Sentry's syntax, Relay's globs and current Sentry's precedence (spec §6)."""

from __future__ import annotations

import re

import pytest

from sentry_stub.config import ConfigError, parse_config
from sentry_stub.rules.ownership import (
    Owner,
    OwnershipSyntaxError,
    codeowners_match,
    glob_match,
    matching_rules,
    owners_of,
    parse_ownership,
)

MISSION_RULES = """
# Issue Assignment Rules of the mission guide
path:**/backend/** #backend-team
tags.auth_error:* #security-team
tags.websocket:* #realtime-team
"""


def frames_event(*filenames: str, tags: dict | None = None) -> dict:
    frames = [{"filename": name, "function": "f", "in_app": True} for name in filenames]
    event: dict = {"exception": {"values": [{"type": "E", "stacktrace": {"frames": frames}}]}}
    if tags is not None:
        event["tags"] = tags
    return event


def owners(rules: str, event: dict) -> list[str]:
    return [str(owner) for owner in owners_of(matching_rules(parse_ownership(rules), event))]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("backend/x.py", True),
        ("src/backend/db.py", True),
        ("/srv/app/backend/x.py", True),
        ("src/Backend/x.py", True),  # paths compare case-insensitively
        ("src/mybackend/x.py", False),  # no "/" before backend
        ("src/backend", False),  # nothing below backend/
    ],
)
def test_double_star_directories(value: str, expected: bool) -> None:
    assert glob_match("**/backend/**", value) is expected


def test_single_star_crosses_slashes_and_the_whole_value_must_match() -> None:
    assert glob_match("*.py", "a/b/c.py")
    assert glob_match("src/*", "src/a/b.js")
    assert not glob_match("*.py", "a/b/c.pyc")
    assert glob_match("a/**/b", "a/b") and glob_match("a/**/b", "a/x/y/b")
    assert glob_match("{api,web}/*.ts", "web/x.ts") and glob_match("[!x]y", "zy")
    assert not glob_match("[!x]y", "xy")


def test_codeowners_patterns_are_gitignore_style() -> None:
    assert codeowners_match("*.js", "src/a.js")
    assert codeowners_match("src/", "src/deep/a.js")
    assert codeowners_match("/src/*.js", "src/a.js")
    assert not codeowners_match("/src/*.js", "src/deep/a.js")  # * stays in one directory
    assert not codeowners_match("docs/*", "x/docs/a")  # a "/" in the pattern anchors it


def test_parse_the_mission_rules() -> None:
    rules = parse_ownership(MISSION_RULES)
    assert [(r.type, r.pattern, r.owners) for r in rules] == [
        ("path", "**/backend/**", (Owner("team", "backend-team"),)),
        ("tags.auth_error", "*", (Owner("team", "security-team"),)),
        ("tags.websocket", "*", (Owner("team", "realtime-team"),)),
    ]


def test_parse_defaults_users_quotes_and_errors() -> None:
    [rule] = parse_ownership('"src/my app/*" Ann@Example.com #web')
    assert rule.type == "path" and rule.pattern == "src/my app/*"
    assert rule.owners == (Owner("user", "ann@example.com"), Owner("team", "web"))
    with pytest.raises(OwnershipSyntaxError, match="line 2: rule 'url:/x' names no owner"):
        parse_ownership("path:a #t\nurl:/x")
    assert parse_ownership("codeowners:docs/")[0].owners == ()  # explicitly unowned


def test_backend_path_anywhere_in_the_stack_assigns_backend_team() -> None:
    event = frames_event("app/backend/db.py", "app/main.py")
    assert owners(MISSION_RULES, event) == ["#backend-team"]
    assert owners(MISSION_RULES, frames_event("app/frontend/x.py")) == []


def test_tag_rules_match_any_value_of_a_present_tag_only() -> None:
    assert owners(MISSION_RULES, frames_event("a.py", tags={"auth_error": "expired"})) == [
        "#security-team"
    ]
    assert owners(MISSION_RULES, frames_event("a.py", tags=[["websocket", "true"]])) == [
        "#realtime-team"
    ]
    assert owners(MISSION_RULES, frames_event("a.py", tags={"other": "x"})) == []


def test_tag_values_compare_case_sensitively_and_urls_do_not() -> None:
    assert owners("tags.area:Auth #a", {"tags": {"area": "Auth"}}) == ["#a"]
    assert owners("tags.area:Auth #a", {"tags": {"area": "auth"}}) == []
    assert owners("url:*/API/* #a", {"request": {"url": "http://x/api/v1"}}) == ["#a"]


def test_frame_matches_rank_before_tag_matches() -> None:
    event = frames_event("app/backend/auth.py", tags={"auth_error": "bad"})
    assert owners(MISSION_RULES, event) == ["#backend-team", "#security-team"]


def test_among_non_frame_matches_the_last_rule_wins() -> None:
    event = {"tags": {"auth_error": "x", "websocket": "y"}}
    assert owners(MISSION_RULES, event) == ["#realtime-team", "#security-team"]


def test_frame_nearest_to_the_crash_wins_then_the_later_rule() -> None:
    # Frames are oldest first: the crashing frame is the last one.
    event = frames_event("lib/shared/util.py", "app/backend/db.py")
    rules = "path:**/backend/** #backend\npath:lib/** #platform"
    assert owners(rules, event) == ["#backend", "#platform"]
    same_frame = "path:**/backend/** #first\npath:*.py #second"
    assert owners(same_frame, event) == ["#second", "#first"]


def test_module_rules_and_backslashes() -> None:
    frame = {"module": "App.Payments.charge", "filename": "C:\\srv\\payments\\charge.py"}
    event = {"stacktrace": {"frames": [frame]}}
    assert owners("module:app.payments.* #pay", event) == ["#pay"]
    assert owners("path:*/payments/* #pay", event) == ["#pay"]


def test_config_sections_parse_and_errors_name_the_key() -> None:
    settings = parse_config(
        {
            "projects": [{"slug": "web", "id": 1, "keys": ["0" * 32]}],
            "ownership": {"web": {"rules": MISSION_RULES, "fallthrough": False}},
        }
    )
    ownership = settings.projects[0].rules.ownership
    assert len(ownership.rules) == 3 and ownership.fallthrough is False
    with pytest.raises(ConfigError, match=re.escape("unknown config key ownership.web.'owners'")):
        parse_config({"ownership": {"web": {"owners": "x"}}})
    with pytest.raises(ConfigError, match="ownership: project 'api' is not in"):
        parse_config(
            {
                "projects": [{"slug": "web", "id": 1, "keys": ["0" * 32]}],
                "ownership": {"api": {"rules": ""}},
            }
        )
