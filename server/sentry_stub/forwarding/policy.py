"""What an upstream's answer means for a forwarded envelope: sent, try again later, or give up.

Pure functions of the answer. ``429`` waits as the upstream says (``X-Sentry-Rate-Limits`` for
the envelope's data categories, else ``Retry-After``, else a minute) and tries again however
often it takes; so does an upstream that cannot be reached, with a doubling wait up to a minute.
``5xx`` is tried ``SERVER_ERROR_ATTEMPTS`` times. Any other answer is final: ``2xx`` is sent, a
``4xx`` (the upstream refuses the envelope itself) is dropped with the upstream's reason.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from ..outbound import Answer, backoff

FIRST_RETRY = 1.0  # seconds after the first failed attempt; doubles
MAX_RETRY = 60.0  # seconds between attempts at most (and a 429 that names no wait)
SERVER_ERROR_ATTEMPTS = 8


@dataclass(frozen=True)
class RateLimit:
    """One limit of ``X-Sentry-Rate-Limits``: no categories means every category."""

    seconds: float
    categories: tuple[str, ...]

    def applies_to(self, categories: Collection[str]) -> bool:
        return not self.categories or any(c in self.categories for c in categories)


@dataclass(frozen=True)
class Decision:
    state: str  # "sent", "pending" (try again in ``retry_in`` seconds) or "dropped"
    status: int | None
    reason: str | None = None
    retry_in: float = 0.0
    limits: tuple[RateLimit, ...] = ()  # what the upstream said to hold back, whatever the state


def decide(answer: Answer, attempts: int, categories: Collection[str]) -> Decision:
    """The fate of an envelope with data ``categories`` after attempt number ``attempts``."""
    limits = parse_rate_limits(answer.headers.get("x-sentry-rate-limits", ""))
    status = answer.status
    if answer.ok:
        return Decision("sent", status, limits=limits)
    if status == 429:
        wait = limit_wait(limits, categories) or retry_after(answer.headers) or MAX_RETRY
        reason = f"upstream answered 429 (rate limited); trying again in {wait:g} s"
        return Decision("pending", status, reason, wait, limits)
    if status is None or status >= 500:
        if status is not None and attempts >= SERVER_ERROR_ATTEMPTS:
            reason = f"upstream answered {answer.describe()} to all {attempts} attempts"
            return Decision("dropped", status, reason, limits=limits)
        wait = retry_after(answer.headers) or backoff(attempts, FIRST_RETRY, MAX_RETRY)
        reason = f"{answer.describe()}; trying again in {wait:g} s"
        return Decision("pending", status, reason, wait, limits)
    return Decision("dropped", status, f"upstream refused it: {answer.describe()}", limits=limits)


def parse_rate_limits(value: str) -> tuple[RateLimit, ...]:
    """``X-Sentry-Rate-Limits``: ``seconds:categories:scope[:reason]`` entries, comma-separated.

    An entry that does not parse is skipped, as the SDKs skip it.
    """
    limits = []
    for entry in value.split(","):
        fields = entry.strip().split(":")
        try:
            seconds = float(fields[0])
        except ValueError:
            continue
        categories = fields[1] if len(fields) > 1 else ""
        names = tuple(name for name in categories.split(";") if name)
        limits.append(RateLimit(max(seconds, 0.0), names))
    return tuple(limits)


def limit_wait(limits: Sequence[RateLimit], categories: Collection[str]) -> float:
    """The longest wait among ``limits`` that apply to ``categories`` (0: none applies)."""
    return max((limit.seconds for limit in limits if limit.applies_to(categories)), default=0.0)


def retry_after(headers: dict[str, str]) -> float | None:
    """``Retry-After`` in seconds: a number of seconds or an HTTP date."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)
