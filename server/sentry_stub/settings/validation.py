"""The one TOML validation helper: the error type and the checks every config section shares.

``config.py`` (server, limits, projects), ``rules/config.py`` (alerts, ownership) and
``ingest/faults.py`` (fault rules) read their sections with these, so an unknown key or a value
of the wrong type is reported the same way wherever it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class ConfigError(ValueError):
    """A config file or value that cannot be used: ``path`` names where, the message says what."""

    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path = path.rstrip(".")
        self.message = message


def check_keys(
    data: dict,
    allowed: Iterable[str],
    where: str,
    *,
    error: type[ConfigError] = ConfigError,
    label: str = "config key",
    qualifier: str = "",
) -> None:
    """Refuse the first key of ``data`` not in ``allowed``, naming it and the keys expected."""
    allowed = set(allowed)
    for key in data:
        if key not in allowed:
            expected = ", ".join(sorted(allowed)) or "nothing"
            raise error(
                f"{where}{key}",
                f"unknown {label} {where}{key!r}{qualifier}; expected one of: {expected}",
            )


def table(value: Any, where: str, *, error: type[ConfigError] = ConfigError) -> dict:
    """``value`` if it is a TOML table (``where`` ends with the dot that leads to its keys)."""
    if not isinstance(value, dict):
        raise error(where, f"{where.rstrip('.')} must be a table")
    return value


def strings(value: Any, where: str, *, error: type[ConfigError] = ConfigError) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise error(where, f"{where} must be a list of strings")
    return tuple(value)


def boolean(value: Any, where: str, *, error: type[ConfigError] = ConfigError) -> bool:
    if not isinstance(value, bool):
        raise error(where, f"{where} must be true or false")
    return value
