"""The sampling check: the exact binomial interval, and what counts as kept, dropped or declared."""

from __future__ import annotations

import math
import uuid

import pytest

from sentry_stub.checks.sampling import (
    Trace,
    beta_quantile,
    check_sampling,
    clopper_pearson,
    regularized_incomplete_beta,
)
from sentry_stub.checks.text import sampling_text
from sentry_stub.client import StubApiError, StubClient
from sentry_stub.view import StubView
from tests.sending import post_envelope


@pytest.mark.parametrize(
    ("successes", "trials", "confidence", "low", "high"),
    [
        (10, 100, 0.95, 0.0490, 0.1762),  # the textbook example
        (0, 10, 0.95, 0.0, 0.3085),  # "rule of three" territory: upper is 1 - 0.025**(1/10)
        (10, 10, 0.95, 0.6915, 1.0),
        (50, 100, 0.95, 0.3983, 0.6017),  # R: binom.test(50, 100)
    ],
)
def test_clopper_pearson_matches_published_values(successes, trials, confidence, low, high):
    assert clopper_pearson(successes, trials, confidence) == pytest.approx((low, high), abs=1e-4)


def test_clopper_pearson_edges_have_closed_forms():
    # With no successes the upper bound solves (1-p)^n = alpha/2; with all, p^n = alpha/2.
    assert clopper_pearson(0, 37, 0.9)[1] == pytest.approx(1 - 0.05 ** (1 / 37), rel=1e-9)
    assert clopper_pearson(37, 37, 0.9)[0] == pytest.approx(0.05 ** (1 / 37), rel=1e-9)


@pytest.mark.parametrize(("successes", "trials"), [(3, 20), (200, 2000), (1, 5000)])
def test_clopper_pearson_bounds_solve_the_binomial_tail_equations(successes, trials):
    """Independent of the beta function: P(X >= k | low) = P(X <= k | high) = alpha/2."""
    low, high = clopper_pearson(successes, trials, 0.95)

    def tail(p: float, ks: range) -> float:
        log_comb = [math.log(math.comb(trials, k)) for k in ks]
        return sum(
            math.exp(c + k * math.log(p) + (trials - k) * math.log1p(-p))
            for c, k in zip(log_comb, ks, strict=True)
        )

    assert tail(low, range(successes, trials + 1)) == pytest.approx(0.025, rel=1e-6)
    assert tail(high, range(0, successes + 1)) == pytest.approx(0.025, rel=1e-6)


@pytest.mark.parametrize("x", [0.01, 0.3, 0.5, 0.77, 0.999])
def test_regularized_incomplete_beta_closed_forms(x):
    assert regularized_incomplete_beta(x, 1, 1) == pytest.approx(x)
    assert regularized_incomplete_beta(x, 4, 1) == pytest.approx(x**4)
    assert regularized_incomplete_beta(x, 1, 3) == pytest.approx(1 - (1 - x) ** 3)
    assert beta_quantile(regularized_incomplete_beta(x, 7, 3), 7, 3) == pytest.approx(x)


def test_clopper_pearson_refuses_impossible_counts():
    with pytest.raises(ValueError, match="0 <= successes <= trials"):
        clopper_pearson(5, 4, 0.95)


def traces(count: int, rate: str = "0.1") -> list[Trace]:
    return [
        Trace(f"{i:032x}", {"sample_rate": rate, "sample_rand": "0.05", "sampled": "true"})
        for i in range(count)
    ]


def test_expected_rate_inside_the_interval_passes():
    report = check_sampling(
        0.1,
        category="transaction",
        kept=200,
        discards={"sample_rate": 1800},
        traces=traces(200),
    )
    assert report["passed"], report["problems"]
    assert (report["successes"], report["trials"], report["observed"]) == (200, 2000, 0.1)
    assert report["declared"] == {"0.1": 200}
    low, high = report["interval"]
    assert low < 0.1 < high


def test_expected_rate_outside_the_interval_fails_and_says_why():
    report = check_sampling(
        0.5, category="transaction", kept=200, discards={"sample_rate": 1800}, traces=traces(200)
    )
    assert not report["passed"]
    assert "expected rate 0.5 is outside the 99% interval" in report["problems"][0]
    assert "declared sample_rate 0.1" in report["problems"][1]


def test_declared_rate_must_equal_the_expected_rate():
    # Observed 0.5 fits 0.5, but the SDK said it was sampling at 0.25.
    report = check_sampling(
        0.5,
        category="transaction",
        kept=500,
        discards={"sample_rate": 500},
        traces=traces(500, "0.25"),
    )
    assert not report["passed"]
    assert report["problems"] == [
        "the SDK declared sample_rate 0.25 in the trace header of 500 transaction(s), "
        "not the expected 0.5"
    ]


def test_trace_headers_that_contradict_the_decision_are_reported():
    contradictions = [
        Trace("a" * 32, {"sample_rate": "0.1", "sample_rand": "0.7", "sampled": "true"}),
        Trace("b" * 32, {"sample_rate": "0.1", "sample_rand": "0.01", "sampled": "false"}),
    ]
    report = check_sampling(
        0.1, category="transaction", kept=2, discards={"sample_rate": 18}, traces=contradictions
    )
    assert any("sample_rand 0.7 is not below sample_rate 0.1" in p for p in report["problems"])
    assert any("says sampled=false" in p for p in report["problems"])


def test_losses_after_sampling_count_as_sampled_in_for_transactions_and_profiles():
    discards = {"sample_rate": 50, "insufficient_data": 30, "before_send": 20}
    report = check_sampling(0.5, category="profile", kept=0, discards=discards)
    assert (report["successes"], report["trials"], report["lost_after_sampling"]) == (50, 100, 50)
    assert report["passed"]


def test_error_losses_for_other_reasons_are_not_counted_but_noted():
    report = check_sampling(
        0.5, category="error", kept=50, discards={"sample_rate": 50, "before_send": 7}
    )
    assert (report["successes"], report["trials"], report["lost_not_counted"]) == (50, 100, 7)
    assert any("before_send=7" in note for note in report["notes"])


def test_missing_client_reports_are_pointed_out():
    report = check_sampling(0.1, category="error", kept=40, discards={})
    assert not report["passed"]
    [note] = [note for note in report["notes"] if "send_client_reports" in note]
    assert "transport_queue_size" in note  # the other way a report goes missing


def test_no_client_report_at_all_blames_the_missing_flush_not_the_option():
    report = check_sampling(0.5, category="transaction", kept=44, discards={}, client_reports=0)
    assert not report["passed"]
    assert "call sentry_sdk.flush() before the assertion" in report["likely_cause"]
    assert not any("transport_queue_size" in note for note in report["notes"])
    text = sampling_text(report)
    assert text.splitlines()[1].startswith("  likely cause: no client report arrived at all")
    flushed = check_sampling(0.5, category="transaction", kept=44, discards={}, client_reports=1)
    assert flushed["likely_cause"] is None  # a report came: flush() was called


def test_nothing_to_measure_fails():
    report = check_sampling(0.1, category="transaction", kept=0, discards={})
    assert not report["passed"]
    assert report["problems"] == [
        "nothing to measure: no transaction was kept or reported as sampled out"
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"expected": 1.5}, "expected must be a number between 0 and 1"),
        ({"confidence": 1.0}, "confidence must be a number strictly between 0 and 1"),
        ({"category": "span"}, "unknown category 'span'"),
    ],
)
def test_bad_arguments_are_named(arguments, message):
    call = {"expected": 0.1, "category": "transaction", "confidence": 0.99, **arguments}
    with pytest.raises(ValueError, match=message):
        check_sampling(
            call["expected"],
            category=call["category"],
            kept=1,
            discards={},
            confidence=call["confidence"],
        )


# --- through the HTTP API ---------------------------------------------------------------------


def test_the_api_combines_kept_transactions_client_reports_and_trace_headers(server):
    view = StubView(StubClient(server.url))
    key = server.dsn.split("//")[1].split("@")[0]
    for _ in range(30):
        event_id = uuid.uuid4().hex
        trace = {
            "trace_id": uuid.uuid4().hex,
            "public_key": key,
            "sample_rate": "0.3",
            "sample_rand": "0.123456",
            "sampled": "true",
        }
        transaction = {
            "event_id": event_id,
            "type": "transaction",
            "transaction": "GET /api/health",
            "start_timestamp": 1718000000.0,
            "timestamp": 1718000000.5,
            "contexts": {"trace": {"trace_id": trace["trace_id"], "span_id": "a" * 16}},
        }
        post_envelope(
            server, {"event_id": event_id, "trace": trace}, ({"type": "transaction"}, transaction)
        )
    report_payload = {
        "discarded_events": [
            {"reason": "sample_rate", "category": "transaction", "quantity": 70},
            {"reason": "sample_rate", "category": "span", "quantity": 70},
        ]
    }
    post_envelope(server, {}, ({"type": "client_report"}, report_payload))

    report = view.assert_sample_rate(0.3)
    assert (report["kept"], report["trials"], report["declared"]) == (30, 100, {"0.3": 30})
    with pytest.raises(AssertionError) as failure:
        view.assert_sample_rate(0.6)
    low, high = clopper_pearson(30, 100, 0.99)
    assert f"expected rate 0.6 is outside the 99% interval [{low:.4f}, {high:.4f}]" in str(
        failure.value
    )
    assert "sample_rate declared in trace headers: 0.3 x30" in str(failure.value)


def test_the_api_names_bad_parameters(server):
    client = StubClient(server.url)
    with pytest.raises(StubApiError, match="'category' must be one of"):
        client.check_sampling(0.1, category="spans")
    with pytest.raises(StubApiError, match="expected must be a number between 0 and 1"):
        client.check_sampling(2)
    with pytest.raises(StubApiError, match=r"'expected'.*is required"):
        client.get("/stub/api/checks/sampling")
