"""The benchmark harness runs end to end in its tiniest mode and reports every metric.

No timing is asserted: the figures depend on the machine. What must hold is the shape of the
results, that the stub acknowledged nothing it did not commit, and that the table prints.
"""

from __future__ import annotations

import json
import math

import pytest

from benchmarks import run
from benchmarks.servers import STORING

pytestmark = pytest.mark.timeout(600)

RUN_METRICS = {
    "requests",
    "ok",
    "non_2xx",
    "connection_errors",
    "rps",
    "p50_ms",
    "p99_ms",
    "server_cpu_ms_per_request",
    "server_cpu_utilization",
    "server_peak_rss_mb",
    "acknowledged",
    "load_seconds",
    "total_cpu_ms_per_envelope",
    "sustained_eps",
    "burst_eps",
}
CATCH_UP_METRICS = {"backlog", "derive_seconds", "derive_cpu_ms_per_envelope"}
QUERY_METRICS = {
    "filtered_list_first_page",
    "grouped_p95_by_transaction",
    "span_search_recent_first",
    "span_search_recent_repeated",
    "span_search_all_first",
    "span_search_all_repeated",
    "wait_for_fresh_event",
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "results.json"
    run.main(["--tiny", "--out", str(out)])
    return json.loads(out.read_text())


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def test_every_server_reports_every_run(results):
    expected_runs = {f"{encoding}/c{c}" for encoding, c in run.PROFILES["tiny"].runs}
    assert set(results["servers"]) == set(run.SERVERS)
    for kind, server in results["servers"].items():
        assert set(server["runs"]) == expected_runs, kind
        assert _number(server["startup_seconds"]) and _number(server["peak_rss_mb"])
        for name, figures in server["runs"].items():
            assert set(figures) >= RUN_METRICS, (kind, name)
            assert all(_number(figures[m]) for m in RUN_METRICS), (kind, name, figures)
            assert figures["requests"] > 0, (kind, name)


def test_the_stub_acknowledges_only_what_it_committed(results):
    for kind in ("stub", "inprocess"):
        for name, figures in results["servers"][kind]["runs"].items():
            assert figures["non_2xx"] == 0, (kind, name)
            assert figures["committed"] >= figures["acknowledged"] >= figures["ok"], (kind, name)


def test_the_stub_runs_include_deriving_every_acknowledged_envelope(results):
    for kind in ("stub", "inprocess"):
        for name, figures in results["servers"][kind]["runs"].items():
            # A catch-up with nothing left to derive has no cost per envelope to report.
            expected = CATCH_UP_METRICS if figures["backlog"] else {"backlog", "derive_seconds"}
            assert all(_number(figures[m]) for m in expected), (kind, name, figures)
            if not figures["backlog"]:
                assert figures["derive_cpu_ms_per_envelope"] is None, (kind, name, figures)
            # Everything acknowledged during the run still had its rows to make when it ended,
            # unless the writer found an idle moment; the catch-up never derives more than that.
            assert 0 <= figures["backlog"] <= figures["acknowledged"], (kind, name, figures)
            assert figures["sustained_eps"] * figures["load_seconds"] < figures["acknowledged"]
    for kind in set(run.SERVERS) - set(STORING):  # the references store nothing to catch up on
        assert not CATCH_UP_METRICS & set(results["servers"][kind]["runs"]["identity/c1"]), kind
        assert "committed" not in results["servers"][kind]["runs"]["identity/c1"], kind


def test_storage_ratios_and_targets_are_reported(results):
    for kind in STORING:
        storage = results["servers"][kind]["storage"]
        assert storage["envelopes"] > 0
        assert _number(storage["bytes_per_envelope"])
        assert _number(storage["ratio_to_uncompressed_json"])
    for kind in run.SERVERS[1:]:
        for figures in results["ratios"][kind].values():
            assert all(_number(v) for v in figures.values()), (kind, figures)
    assert results["targets"] and all(isinstance(t["met"], bool) for t in results["targets"])


def test_queries_and_felt_latency_are_measured(results):
    assert set(results["queries"]) == {"10000"}
    for name in QUERY_METRICS:
        assert _number(results["queries"]["10000"][name]["median_ms"])
    assert _number(results["flush_to_wait_for"]["median_ms"])
    assert results["flush_to_wait_for"]["samples"] == run.PROFILES["tiny"].felt_samples
    assert results["machine"]["nproc"] >= 1 and results["machine"]["python"]
    assert results["corpus"]["envelopes"] > 0
    assert {"event", "transaction", "session"} <= set(results["corpus"]["items"])


def test_the_sample_rate_test_runs_on_every_stub_and_accounts_for_every_transaction(results):
    test = results["sample_rate_test"]
    assert test["transactions"] == run.PROFILES["tiny"].sampled_transactions
    assert _number(test["baseline_seconds"]) and test["baseline_seconds"] > 0
    assert set(test["servers"]) == {"stub", "plugin", "inprocess"}
    for sampled in test["servers"].values():
        assert sampled["unaccounted"] == 0
        assert sampled["declared_rates"] == ["0.5"]
        assert 0 <= sampled["assertions_failed"] <= len(sampled["ratios"])
        seconds = ("send_seconds", "assert_seconds")
        assert all(_number(sampled[name]) and sampled[name] > 0 for name in seconds), sampled
        assert len(sampled["ratios"]) == run.PROFILES["tiny"].sampled_repeats
        assert _number(sampled["ratio"]) and sampled["ratio"] in sampled["ratios"]
    # The reference that stores nothing is timed beside them, sending only.
    assert set(test["references"]) == {"checks"}
    assert _number(test["references"]["checks"]) and test["references"]["checks"] > 0


def test_the_table_names_every_server(results):
    text = run.table(results)
    for kind in run.SERVERS:
        assert kind in text
    assert "flush() -> wait_for()" in text
