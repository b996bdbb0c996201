"""Typed filter values: numbers, durations, percentages, booleans and dates, read Sentry's way.

Each parser takes the text after ``key:[operator]`` and raises ``ValueError`` with a message meant
for the query's author; the compiler adds the column. Durations come back in milliseconds and
dates as Unix timestamps (seconds, UTC), which is how the events table stores them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

DURATION_UNITS_MS = {
    "ms": 1.0,
    "s": 1_000.0,
    "min": 60_000.0,
    "m": 60_000.0,
    "hr": 3_600_000.0,
    "h": 3_600_000.0,
    "day": 86_400_000.0,
    "d": 86_400_000.0,
    "wk": 604_800_000.0,
    "w": 604_800_000.0,
}
NUMBER_SUFFIXES = {"k": 1e3, "m": 1e6, "b": 1e9}
RELATIVE_DATE_UNITS_S = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60}
STATS_PERIOD_UNITS_S = {**RELATIVE_DATE_UNITS_S, "s": 1}

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_DURATION = re.compile(rf"({_NUMBER})(ms|s|min|m|hr|h|day|d|wk|w)?", re.IGNORECASE)
_SUFFIXED_NUMBER = re.compile(rf"({_NUMBER})([kmb])?", re.IGNORECASE)
_PERCENTAGE = re.compile(rf"({_NUMBER})%")
_RELATIVE_DATE = re.compile(r"([-+])(\d+)([wdhm])")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_STATS_PERIOD = re.compile(r"(\d+)([wdhms])")


def parse_number(text: str) -> float:
    """``1500``, ``-2.5``, ``10k`` (k=1e3, m=1e6, b=1e9, any case)."""
    match = _SUFFIXED_NUMBER.fullmatch(text)
    if match is None:
        raise ValueError(f"Invalid number: {text!r}")
    number, suffix = match.groups()
    return float(number) * (NUMBER_SUFFIXES[suffix.lower()] if suffix else 1.0)


def parse_duration(text: str) -> float:
    """Milliseconds from ``1500``, ``1.5s``, ``2m`` (minutes), ``1h``...; a bare number is ms."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError(f"Invalid duration: {text!r} (expected a number with ms, s, m, h, d or w)")
    number, unit = match.groups()
    return float(number) * (DURATION_UNITS_MS[unit.lower()] if unit else 1.0)


def parse_percentage(text: str) -> float:
    """``5%`` is 0.05; a bare number is taken as the ratio itself."""
    match = _PERCENTAGE.fullmatch(text)
    if match is not None:
        return float(match.group(1)) / 100
    try:
        return parse_number(text)
    except ValueError:
        raise ValueError(f"Invalid percentage: {text!r} (expected e.g. 5% or 0.05)") from None


def parse_boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValueError(f"Invalid boolean: {text!r} (expected true, false, 1 or 0)")


def parse_relative_date(text: str) -> tuple[str, float] | None:
    """``-24h`` -> (">=", seconds ago); ``+7d`` -> ("<=", seconds ago); ``None`` if not relative."""
    match = _RELATIVE_DATE.fullmatch(text)
    if match is None:
        return None
    sign, amount, unit = match.groups()
    return (">=" if sign == "-" else "<="), int(amount) * RELATIVE_DATE_UNITS_S[unit]


def parse_stats_period(text: str) -> float:
    """Seconds in a Discover ``statsPeriod`` such as ``24h``, ``14d``, ``30m``."""
    match = _STATS_PERIOD.fullmatch(text)
    if match is None:
        raise ValueError(f"Invalid statsPeriod: {text!r} (expected e.g. 24h, 14d, 30m)")
    amount, unit = match.groups()
    return float(int(amount) * STATS_PERIOD_UNITS_S[unit])


def parse_date(text: str) -> float:
    """A Unix timestamp from ISO 8601 (``2024-05-01``, ``2024-05-01T10:00:00Z``, offsets) or digits.

    A date-time without a zone is UTC, as in Sentry.
    """
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"Invalid date: {text!r} (expected ISO 8601, e.g. 2024-05-01)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def specific_date_range(text: str) -> tuple[float, float]:
    """``key:DATE`` without an operator: the whole day, or a date-time's [-5 min, +6 min) window."""
    start = parse_date(text)
    if _DATE_ONLY.fullmatch(text):
        return start, start + timedelta(days=1).total_seconds()
    return start - 5 * 60, start + 6 * 60
