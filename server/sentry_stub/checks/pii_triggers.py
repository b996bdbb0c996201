"""Why a scrubber rule fired on a value, said so a test author can recognise what to fix.

Relay's remark names the rule only (``@password:filter``). Its password rule (and the
``strip-fields`` rule made of the sensitive fields) fires on a *key* or on a *value* that
contains one of its words, so a frame variable whose repr mentions ``own_oauth_scopes`` is
filtered for the ``auth`` in it; the other rules fire on a value pattern (a card number, an
email). The trigger says which: the key, or the word with the identifier around it, or the
pattern with the first and last characters of what matched. Never the secret itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

# The words of Relay's `@password` rule (relay-pii's PASSWORD_KEY_REGEX and TOKEN_KEY_REGEX),
# as Sentry's "Data Scrubbing" documentation lists them, longest first so the report names
# `api_key` rather than a shorter word inside it.
PASSWORD_WORDS = (
    "private_key",
    "private-key",
    "credentials",
    "privatekey",
    "mysql_pwd",
    "password",
    "api_key",
    "api-key",
    "apikey",
    "passwd",
    "secret",
    "token",
    "auth",
)
# What each value-pattern rule of Relay looks for.
PATTERNS = {
    "@creditcard": "a credit card number",
    "@email": "an email address",
    "@ip": "an IP address",
    "@iban": "an IBAN",
    "@usssn": "a US social security number",
    "@bearer": "a bearer token",
    "@pemkey": "a PEM key",
    "@urlauth": "credentials in a URL",
    "@userpath": "a user's home directory",
    "@mac": "a MAC address",
    "@imei": "an IMEI",
    "@uuid": "a UUID",
}
# The snake_case name around a word found in a value (``own_oauth_scopes``), enough to tell a
# name from a secret; it stops at digits, capitals and punctuation, where secrets begin.
_IDENTIFIER = r"[a-z_]{0,20}"


def describe(
    rule: str, path: str, original: Any, scrubbed: Any, sensitive_fields: Sequence[str]
) -> str:
    """What made ``rule`` fire at ``path``: the key, a word in the value, or a pattern."""
    name = rule.split(":")[0]
    key = path.rsplit(".", 1)[-1]
    if name in ("@password", "strip-fields"):
        words = PASSWORD_WORDS if name == "@password" else tuple(sensitive_fields)
        return _word_trigger(key, original, words)
    if name == "@anything" and ".cookies." in f".{path}":
        return f"the cookie {key!r} is one Sentry always scrubs"
    if name in PATTERNS:
        matched = _changed_part(original, scrubbed)
        return f"the value looks like {PATTERNS[name]} ({_ends(matched)})"
    return f"Relay's rule {rule}"


def allow_entry(path: str) -> str:
    """The ``allow=`` entry for a finding, with list indexes as ``*`` (frames move about)."""
    return ".".join("*" if segment.isdigit() else segment for segment in path.split("."))


def _word_trigger(key: str, value: Any, words: Sequence[str]) -> str:
    lowered = key.lower()
    for word in words:
        if word.lower() == lowered:
            return f"the key {key!r}"
        if word.lower() in lowered:
            return f"the key {key!r} (it contains {word!r})"
    text = value if isinstance(value, str) else repr(value)
    for word in words:
        found = re.search(f"{_IDENTIFIER}(?i:{re.escape(word)}){_IDENTIFIER}", text)
        if found:
            return f"the value contains {word!r} (in {found.group()!r})"
    return "a sensitive key or word in the value"


def _changed_part(original: Any, scrubbed: Any) -> str:
    """The part of ``original`` a scrubber replaced (all of it if not a string pair)."""
    if not isinstance(original, str):
        return repr(original)
    if not isinstance(scrubbed, str):
        return original
    start = 0
    while start < min(len(original), len(scrubbed)) and original[start] == scrubbed[start]:
        start += 1
    end = 0
    while end < min(len(original), len(scrubbed)) - start and (
        original[-1 - end] == scrubbed[-1 - end]
    ):
        end += 1
    return original[start : len(original) - end]


def _ends(text: str) -> str:
    """First and last two characters and the length: enough to recognise, not to reuse."""
    if len(text) <= 6:
        return f"{len(text)} characters"
    return f"{text[:2]}…{text[-2:]}, {len(text)} characters"
