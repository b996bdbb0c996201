"""Does the observed sampling agree with the rate an app was configured with?

An SDK that samples tells us about both sides of each coin flip: what it kept arrives as events
(or profiles), and what it dropped is counted in its client reports under the reason
``sample_rate``. Kept plus dropped is the number of trials, kept the number of successes, so the
true rate lies in a binomial confidence interval around ``kept / trials``. Transactions also carry
the rate the SDK declared, in the ``sample_rate`` of their dynamic sampling context (the
envelope's ``trace`` header), together with the ``sample_rand`` it drew and the ``sampled``
decision; those must agree with each other and with the expected rate.

The interval is the exact Clopper-Pearson interval: its bounds are quantiles of beta
distributions, found here by bisection on the regularized incomplete beta function (evaluated
with its continued fraction), so no statistics library is needed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

CATEGORIES = ("transaction", "profile", "error")
# Discard reasons that are a sampling decision rather than a loss after it.
SAMPLING_REASONS = frozenset({"sample_rate", "backpressure"})
# Sampling of transactions and profiles is decided when they start, so whatever was lost later
# (before_send, network errors, rate limits, too few profile samples) had been sampled in.
# sentry-python samples errors after before_send while JS samples them first, so for errors
# such losses cannot be placed on either side of the coin and are only reported.
DECIDED_AT_START = frozenset({"transaction", "profile"})
RATE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Trace:
    """The dynamic sampling context of one kept item (strings, as they come from baggage)."""

    event_id: str
    context: Mapping[str, object]


def check_sampling(
    expected: float,
    *,
    category: str,
    kept: int,
    discards: Mapping[str, int],
    traces: Iterable[Trace] = (),
    confidence: float = 0.99,
    client_reports: int | None = None,
) -> dict:
    """A JSON-ready report on whether ``expected`` fits what was kept and discarded.

    ``discards`` maps client-report reasons to quantities for ``category``; ``traces`` are the
    sampling contexts of the kept items (used for transactions); ``client_reports`` is how many
    client reports arrived at all (``None``: unknown), which tells an unflushed SDK apart.
    """
    _check_probability("expected", expected, closed=True)
    _check_probability("confidence", confidence, closed=False)
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}; expected one of {', '.join(CATEGORIES)}")
    sampled_out = sum(q for reason, q in discards.items() if reason in SAMPLING_REASONS)
    lost = sum(q for reason, q in discards.items() if reason not in SAMPLING_REASONS)
    successes = kept + (lost if category in DECIDED_AT_START else 0)
    trials = successes + sampled_out
    problems: list[str] = []
    notes: list[str] = []
    report: dict[str, Any] = {
        "category": category,
        "expected": expected,
        "confidence": confidence,
        "kept": kept,
        "discarded_by_sampling": sampled_out,
        "lost_after_sampling" if category in DECIDED_AT_START else "lost_not_counted": lost,
        "successes": successes,
        "trials": trials,
        "observed": None,
        "interval": None,
        "declared": {},
        "problems": problems,
        "notes": notes,
        "likely_cause": None,
    }
    if trials == 0:
        problems.append(f"nothing to measure: no {category} was kept or reported as sampled out")
        report["passed"] = False
        return report
    low, high = clopper_pearson(successes, trials, confidence)
    report["observed"] = successes / trials
    report["interval"] = [low, high]
    if not low <= expected <= high:
        problems.append(
            f"expected rate {expected:g} is outside the {confidence:.0%} interval "
            f"[{low:.4f}, {high:.4f}] of the observed {successes}/{trials} = "
            f"{successes / trials:.4f}"
        )
    if discards.get("backpressure"):
        notes.append(
            f"{discards['backpressure']} {category}(s) were dropped by the SDK's backpressure "
            "handling, which lowers the effective rate below the configured one"
        )
    if sampled_out == 0 and expected < 1 and kept > 0 and client_reports == 0:
        # sentry-python sends the sampled-out count in a client report when it flushes (and
        # every 30 s): without sentry_sdk.flush() before the check, only the kept side is here.
        report["likely_cause"] = (
            f"no client report arrived at all, so the {category}s the SDK sampled out are not "
            "counted yet: call sentry_sdk.flush() before the assertion (or the SDK has "
            "send_client_reports=False)"
        )
    elif sampled_out == 0 and expected < 1 and kept > 0:
        notes.append(
            "no client report counted a `sample_rate` discard: if the rate is below 1, the SDK "
            "may have client reports turned off (send_client_reports), or its transport queue "
            "overflowed and dropped the report flush() queued (raise transport_queue_size), "
            "which makes the observed rate look like 1"
        )
    if lost and category not in DECIDED_AT_START:
        notes.append(
            f"{lost} {category}(s) lost for other reasons ({_reasons(discards)}) are not counted"
        )
    if category == "transaction":
        declared = _declared_rates(traces, problems)
        report["declared"] = dict(declared)
        if "(none)" in declared:
            notes.append(
                f"{declared['(none)']} kept transaction(s) carried no sample_rate in their trace "
                "header (no dynamic sampling context, or sampling deferred to a parent)"
            )
        for rate_text in declared:
            rate = _rate(rate_text)
            if rate is not None and abs(rate - expected) > RATE_TOLERANCE:
                problems.append(
                    f"the SDK declared sample_rate {rate_text} in the trace header of "
                    f"{declared[rate_text]} transaction(s), not the expected {expected:g}"
                )
    report["passed"] = not problems
    return report


def clopper_pearson(successes: int, trials: int, confidence: float) -> tuple[float, float]:
    """The exact (Clopper-Pearson) binomial interval for ``successes`` out of ``trials``.

    Its bounds are the ``alpha/2`` quantile of Beta(k, n-k+1) and the ``1-alpha/2`` quantile
    of Beta(k+1, n-k); they are 0 and 1 where ``k`` is 0 or ``n``.
    """
    if trials <= 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials > 0, got {successes}/{trials}")
    alpha = 1 - confidence
    failures = trials - successes
    low = 0.0 if successes == 0 else beta_quantile(alpha / 2, successes, failures + 1)
    high = 1.0 if failures == 0 else beta_quantile(1 - alpha / 2, successes + 1, failures)
    return low, high


def beta_quantile(probability: float, a: float, b: float) -> float:
    """The ``x`` with ``I_x(a, b) = probability``, by bisection (the CDF is increasing in x)."""
    low, high = 0.0, 1.0
    for _ in range(100):  # halves the bracket to well below float precision
        middle = (low + high) / 2
        if regularized_incomplete_beta(middle, a, b) < probability:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def regularized_incomplete_beta(x: float, a: float, b: float) -> float:
    """``I_x(a, b)``, the CDF of Beta(a, b) at ``x``.

    The continued fraction converges fast for ``x < (a+1)/(a+b+2)``; beyond that the symmetry
    ``I_x(a, b) = 1 - I_{1-x}(b, a)`` brings ``x`` back into that region.
    """
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_continued_fraction(x, a, b) / a
    return 1 - math.exp(log_front) * _beta_continued_fraction(1 - x, b, a) / b


def _beta_continued_fraction(x: float, a: float, b: float) -> float:
    """The continued fraction of the incomplete beta function, by the modified Lentz method."""
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 10000):
        # Each step applies the even term d_{2m}, then the odd term d_{2m+1}.
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1) < 1e-15:
            break
    return result


def _declared_rates(traces: Iterable[Trace], problems: list[str]) -> Counter[str]:
    """Count the declared ``sample_rate`` values and note contexts that contradict themselves."""
    declared: Counter[str] = Counter()
    missing = 0
    for trace in traces:
        rate_text = trace.context.get("sample_rate")
        if rate_text is None:
            missing += 1
            continue
        rate_text = str(rate_text)
        declared[rate_text] += 1
        rate, rand = _rate(rate_text), _rate(trace.context.get("sample_rand"))
        sampled = str(trace.context.get("sampled", "")).lower()
        if sampled == "false":
            problems.append(
                f"transaction {trace.event_id} was sent although its trace header says "
                "sampled=false"
            )
        elif rate is not None and rand is not None and not rand < rate:
            problems.append(
                f"transaction {trace.event_id}: sample_rand {rand} is not below sample_rate "
                f"{rate_text}, so the SDK should not have kept it"
            )
    if missing:
        declared["(none)"] = missing
    return declared


def _rate(value: object) -> float | None:
    try:
        return float(str(value))
    except ValueError:
        return None


def _reasons(discards: Mapping[str, int]) -> str:
    return ", ".join(f"{r}={q}" for r, q in sorted(discards.items()) if r not in SAMPLING_REASONS)


def _check_probability(name: str, value: float, *, closed: bool) -> None:
    inside = 0 <= value <= 1 if closed else 0 < value < 1
    if not isinstance(value, int | float) or not inside:
        bounds = "between 0 and 1" if closed else "strictly between 0 and 1"
        raise ValueError(f"{name} must be a number {bounds}, got {value!r}")
