"""Values in and out of the web API: checked request fields and timestamps.

Every checker raises ``BodyError`` with a message naming the field, which the routes answer
with ``400 {"detail": ...}`` as Sentry's serializers do.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any


class BodyError(ValueError):
    """A request field that cannot be used; the message names it."""


def now_iso() -> str:
    """The current time as Sentry writes it: RFC 3339, microseconds, ``Z``."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def optional_string(body: Mapping[str, Any], field: str, *, max_length: int = 200) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BodyError(f"{field!r} must be a string, got {type(value).__name__}")
    if len(value) > max_length:
        raise BodyError(f"{field!r} must be at most {max_length} characters")
    return value


def optional_timestamp(body: Mapping[str, Any], field: str) -> str | None:
    """An RFC 3339 timestamp such as sentry-cli sends (``2026-11-29T08:35:33.871374610Z``)."""
    value = optional_string(body, field, max_length=64)
    if value is None:
        return None
    try:
        datetime.datetime.fromisoformat(value)
    except ValueError:
        raise BodyError(f"{field!r} must be an RFC 3339 timestamp, got {value!r}") from None
    return value


def object_list(body: Mapping[str, Any], field: str) -> list[dict] | None:
    """A list of JSON objects, or ``None`` when the field is absent."""
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
        raise BodyError(f"{field!r} must be a list of objects")
    return value


def project_list(body: Mapping[str, Any], field: str = "projects") -> list[str | int]:
    """Project slugs, or numeric ids (sentry-cli sends an all-digit project as a number)."""
    value = body.get(field) or []
    if not isinstance(value, list) or not all(
        isinstance(p, str | int) and not isinstance(p, bool) for p in value
    ):
        raise BodyError(f"{field!r} must be a list of project slugs or ids")
    return value
