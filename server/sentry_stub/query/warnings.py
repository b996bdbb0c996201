"""Warnings for searches Sentry answers, but probably not the way their author meant.

Our rule (decisions.md): answer as Sentry does, and say so where that would surprise a test
author. Besides ``key:*`` and ``op`` (noted by the compiler where it resolves them), a search
gets a warning for:

- a bare key that is no field, which Sentry reads as a tag, when a field has a close name:
  ``type:error`` -> did you mean ``event.type:error``? (``tags[type]:error`` means the tag);
- SQL habits, which Sentry searches as free text or as part of a value: ``event.type = 'error'``,
  ``==``, ``LIKE``, ``NOT``, ``&&``, single quotes around a value (``||`` is a syntax error: an
  unquoted ``|`` belongs to the pipe form);
- an aggregate such as ``count()`` written where a search term belongs.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import replace

from sentry_stub.query.aggregates import FUNCTION_NAMES, is_function, split_call
from sentry_stub.query.fields import (
    COMMON_TAGS,
    SPANS,
    Dataset,
    explicit_tag,
    field_names,
    needs_spans,
)
from sentry_stub.query.grammar import Filter, FreeText, Has, Node, leaves, render

_KEY = r"[A-Za-z_][\w.\[\]]*"
_VALUE = r"'[^']*'|\"[^\"]*\"|[^\s'\"()]+"
_COMPARISON = re.compile(rf"({_KEY})\s*(==|!=|<>|=)\s*({_VALUE})?")
_LIKE = re.compile(rf"({_KEY})\s+(NOT\s+)?LIKE\s+({_VALUE})", re.IGNORECASE)
_SIMILARITY = 0.75  # difflib ratio for a typo: "enviroment" ~ "environment" is 0.95


def search_warnings(node: Node | None, dataset: Dataset) -> list[str]:
    """Warnings for one parsed search, left to right, each naming the term it is about."""
    found: list[str] = []
    for leaf in leaves(node):
        if isinstance(leaf, Filter | Has):
            found += _unknown_key(leaf, dataset)
        if isinstance(leaf, Filter):
            found += _odd_value(leaf)
        if isinstance(leaf, FreeText):
            found += _sql_like(leaf.text)
            if is_aggregate_call(leaf.text):
                found.append(
                    f"`{leaf.text}` is searched as text in the message: an aggregate belongs "
                    f"in the fields (query([{leaf.text!r}], ...)) or after a '|' in the pipe form"
                )
    return found


def is_aggregate_call(text: str) -> bool:
    """Whether ``text`` is a call of a known aggregate, such as ``count()``."""
    return is_function(text) and split_call(text)[0] in FUNCTION_NAMES


def _unknown_key(leaf: Filter | Has, dataset: Dataset) -> list[str]:
    key = leaf.key
    names = field_names(dataset)
    known = key in names or key in COMMON_TAGS or explicit_tag(key) is not None
    if known or (dataset is SPANS and needs_spans([key])):
        return []
    suffixed = [name for name in names if name.endswith("." + key)]
    similar = difflib.get_close_matches(key, names, n=3, cutoff=_SIMILARITY)
    candidates = list(dict.fromkeys([*suffixed, *similar]))[:3]
    if not candidates:
        return []
    suggestions = " or ".join(f"`{render(replace(leaf, key=name))}`" for name in candidates)
    return [
        f"`{key}` is not a field, so `{render(leaf)}` searches a tag named {key!r}; did you "
        f"mean {suggestions}? (write `tags[{key}]` to mean the tag)"
    ]


def _odd_value(leaf: Filter) -> list[str]:
    value = leaf.value
    if not isinstance(value, str) or len(value) < 2:
        return []
    written = f"{'!' if leaf.negated else ''}{leaf.key}:{value}"
    if value[0] == value[-1] == "'" and not leaf.quoted:
        plain = replace(leaf, value=value[1:-1])
        return [
            f"`{written}` searches for a value with single quotes in it; Sentry quotes "
            f"with double quotes: did you mean `{render(plain)}`?"
        ]
    if value.startswith("=") and leaf.operator == "=":
        plain = replace(leaf, value=value.lstrip("="))
        return [
            f"`{written}` searches for a value starting with '='; did you mean `{render(plain)}`?"
        ]
    return []


def _sql_like(text: str) -> list[str]:
    """SQL written as a search: Sentry takes it as free text, which matches (almost) nothing."""
    found = []
    for match in _LIKE.finditer(text):
        key, negated, value = match.groups()
        pattern = _unquote(value).replace("%", "*")
        found.append(_sql_warning(match.group(), f"{'!' if negated else ''}{key}:{pattern}"))
    for match in _COMPARISON.finditer(text):
        key, operator, value = match.groups()
        negation = "!" if operator in ("!=", "<>") else ""
        found.append(_sql_warning(match.group(), f"{negation}{key}:{_unquote(value or 'VALUE')}"))
    words = text.split()
    if "NOT" in (word.upper() for word in words):
        found.append(
            "`NOT` is searched as a word in the message; Sentry negates a filter with '!', "
            "e.g. `!level:error`"
        )
    if "&&" in words:
        found.append("`&&` is searched as text in the message; write `AND`")
    if not found and "'" in text:
        found.append(
            f"`{text}` is searched as free text with its single quotes; Sentry quotes with "
            'double quotes ("...")'
        )
    return found


def _sql_warning(written: str, suggestion: str) -> str:
    return (
        f"`{written}` is SQL, not Sentry search syntax, and is searched as free text in the "
        f"message; did you mean `{suggestion}`?"
    )


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return f'"{value}"' if any(c.isspace() for c in value) else value
