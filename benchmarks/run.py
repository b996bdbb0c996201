"""The benchmark harness: ``python -m benchmarks.run [--quick | --tiny] [--out results.json]``.

In one run on one machine it captures a corpus from the real sentry-sdk, drives the no-op
baseline, the two reference servers of ``floors.py``, ``sentry-stub serve`` and the plugin's
in-process server with the same load, times the reads a test makes over growing stores, and
prints a table (plus JSON for comparing runs).
Targets are reported next to the figures; nothing here fails on a slow machine.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sentry_stub import StubProcess, StubServer
from sentry_stub.storage.packing import unpack

from . import compare, corpus, feel, queries, sampling_suite
from .procfs import memory_kib
from .servers import ROOT, STORING, BenchmarkServer, database_bytes

SERVERS = ("baseline", "http", "checks", *STORING)
# The sample-rate test at most this many times the baseline's: the stub as its own process
# (the docker service) and as the pytest plugin's default server (a child process).
SAMPLE_RATE_TEST_GOALS = {"stub": 1.15, "plugin": 1.25}


@dataclass(frozen=True)
class Profile:
    corpus_rounds: int
    warmup: float
    duration: float
    runs: tuple[tuple[str, int], ...]  # (content encoding, concurrency)
    query_sizes: tuple[int, ...]
    repeats: int
    felt_samples: int  # flush() to wait_for(): enough that its p99 is not just the slowest one
    sampled_transactions: int  # for the sample-rate test (sampling_suite.py) ...
    sampled_repeats: int  # ... run this many times on each server


BASE_RUNS = (("identity", 1), ("identity", 16), ("identity", 64), ("gzip", 16), ("br", 16))
PROFILES = {
    # Long enough that a loaded CI machine still completes requests inside the window.
    "tiny": Profile(6, 0.3, 1.5, BASE_RUNS, (10_000,), 3, 10, 100, 1),
    "quick": Profile(40, 0.5, 2.0, BASE_RUNS, (10_000, 100_000), 10, 100, 1_000, 1),
    "full": Profile(
        40,
        1.0,
        6.0,
        (*BASE_RUNS, ("gzip", 64), ("br", 64)),
        (10_000, 100_000, 1_000_000),
        30,
        300,
        2_000,
        3,
    ),
}


def machine() -> dict:
    model = ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model or platform.processor(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def ingest(kind: str, profile: Profile, workdir: Path, bodies: dict[str, Path]) -> dict:
    """Every load run against one fresh server of ``kind``, plus its memory and storage."""
    db = workdir / f"{kind}.sqlite3"
    server = BenchmarkServer(kind, db).start()
    runs = {}
    try:
        for encoding, concurrency in profile.runs:
            before = server.committed_envelopes()
            result = _load(server, bodies[encoding], encoding, concurrency, profile, workdir)
            if kind in STORING:
                result["committed"] = server.committed_envelopes() - before
            runs[f"{encoding}/c{concurrency}"] = result
        peak = memory_kib(server.pid)["peak"]
    finally:
        server.stop()
    report = {
        "startup_seconds": round(server.startup_seconds or 0, 3),
        "peak_rss_mb": round(peak / 1024, 1),
        "runs": runs,
    }
    if kind in STORING:
        report["storage"] = _storage(db)
    return report


def _load(
    server: BenchmarkServer,
    bodies: Path,
    encoding: str,
    concurrency: int,
    profile: Profile,
    workdir: Path,
) -> dict:
    spec = workdir / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "port": server.port,
                "pid": server.pid,
                "bodies": str(bodies),
                "encoding": encoding,
                "concurrency": concurrency,
                "warmup": profile.warmup,
                "duration": profile.duration,
                # the stub's database, for the catch-up read after the load (none: the references)
                "db": str(server.db) if server.kind in STORING else None,
            }
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.load", str(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120 + profile.duration * 2,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def _storage(db: Path) -> dict:
    """The database's size against the envelopes it holds, as received and decompressed."""
    size = database_bytes(db)
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as connection:
        stored = connection.execute("SELECT raw, raw_encoding FROM envelopes")
        count, received = 0, 0
        for raw, encoding in stored:  # raw is kept packed: see sentry_stub/storage/packing.py
            count, received = count + 1, received + len(unpack(raw, encoding))
    return {
        "envelopes": count,
        "database_bytes": size,
        "bytes_per_envelope": round(size / count) if count else None,
        "ratio_to_uncompressed_json": round(size / received, 2) if received else None,
    }


def ratios(servers: dict) -> dict:
    """Each server's figures over the baseline's in the same run: what the targets are about."""
    base = servers["baseline"]["runs"]
    out = {}
    for kind in SERVERS[1:]:
        out[kind] = {}
        for name, run in servers[kind]["runs"].items():
            reference = base[name]
            out[kind][name] = {
                "throughput": _ratio(run["rps"], reference["rps"]),
                "p99": _ratio(run["p99_ms"], reference["p99_ms"]),
                "cpu_per_request": _ratio(
                    run["server_cpu_ms_per_request"], reference["server_cpu_ms_per_request"]
                ),
                "burst_throughput": _ratio(run["burst_eps"], reference["burst_eps"]),
                # the same two with every envelope's rows derived (see load.py)
                "all_in_throughput": _ratio(run["sustained_eps"], reference["sustained_eps"]),
                "all_in_cpu_per_envelope": _ratio(
                    run["total_cpu_ms_per_envelope"], reference["total_cpu_ms_per_envelope"]
                ),
            }
    return out


def _ratio(value: float | None, reference: float | None) -> float | None:
    return round(value / reference, 2) if value and reference else None


def targets(results: dict) -> list[dict]:
    """The issue's goals, each with the measured value and whether it was met."""
    checks = []

    def goal(name: str, value: float | None, limit: float, at_least: bool = False) -> None:
        met = value is not None and (value >= limit if at_least else value <= limit)
        checks.append(
            {
                "target": name,
                "value": value,
                "goal": f"{'>=' if at_least else '<='} {limit}",
                "met": met,
            }
        )

    for kind in STORING:
        server, ratio = results["servers"][kind], results["ratios"][kind]
        # The throughput and CPU goals are set at identity c16, a test suite's usual load.
        c16 = ratio["identity/c16"]
        goal(
            f"{kind} identity/c16 all-in throughput / baseline",
            c16["all_in_throughput"],
            0.15,
            True,
        )
        goal(
            f"{kind} identity/c16 burst throughput / baseline", c16["burst_throughput"], 0.35, True
        )
        goal(
            f"{kind} identity/c16 all-in CPU per envelope / baseline",
            c16["all_in_cpu_per_envelope"],
            8.0,
        )
        for name, run in server["runs"].items():
            goal(f"{kind} {name} non-2xx", run["non_2xx"] + run["connection_errors"], 0)
            goal(
                f"{kind} {name} acknowledged but not committed",
                run["acknowledged"] - run["committed"],
                0,
            )
        goal(f"{kind} peak RSS (MB)", server["peak_rss_mb"], 80)
        goal(f"{kind} answers its first request after (s)", server["startup_seconds"], 0.5)
        goal(
            f"{kind} storage / uncompressed JSON",
            server["storage"]["ratio_to_uncompressed_json"],
            1.5,
        )
    goal("flush() to wait_for() p99 (ms)", results["flush_to_wait_for"]["p99_ms"], 15)
    largest = results["queries"][max(results["queries"], key=int)]
    goal(
        "filtered list first page (ms, largest store)",
        largest["filtered_list_first_page"]["median_ms"],
        20,
    )
    goal(
        "grouped p95 (ms, largest store)", largest["grouped_p95_by_transaction"]["median_ms"], 1000
    )
    goal(
        "wait_for fresh event (ms, largest store)", largest["wait_for_fresh_event"]["median_ms"], 10
    )
    # What a test suite feels: the sample-rate test's time against the baseline's.
    for kind, limit in SAMPLE_RATE_TEST_GOALS.items():
        sampled = results["sample_rate_test"]["servers"].get(kind)
        goal(f"{kind} sample-rate test / baseline", sampled and sampled["ratio"], limit)
    for kind, sampled in results["sample_rate_test"]["servers"].items():
        goal(
            f"{kind} sample-rate test: transactions neither kept nor reported",
            sampled["unaccounted"],
            0,
        )
        goal(
            f"{kind} sample-rate test: kept transactions declaring another rate",
            len(set(sampled["declared_rates"]) - {str(sampling_suite.RATE)}),
            0,
        )
    return checks


def table(results: dict) -> str:
    lines = [f"machine: {results['machine']}", f"corpus: {results['corpus']}", ""]
    lines.append(
        f"{'server':<10} {'run':<13} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'cpu ms/req':>10} {'x rps':>6} {'x p99':>6} {'x cpu':>6} {'non2xx':>6} "
        f"{'burst/s':>8} {'all-in/s':>8} {'all-in cpu ms':>13}"
    )
    for kind, server in results["servers"].items():
        for name, run in server["runs"].items():
            ratio = results["ratios"].get(kind, {}).get(name, {})
            lines.append(
                f"{kind:<10} {name:<13} {run['rps']:>8} {run['p50_ms']:>8} {run['p99_ms']:>8} "
                f"{run['server_cpu_ms_per_request']!s:>10} {ratio.get('throughput', '')!s:>6} "
                f"{ratio.get('p99', '')!s:>6} {ratio.get('cpu_per_request', '')!s:>6} "
                f"{run['non_2xx'] + run['connection_errors']:>6} "
                f"{run['burst_eps']:>8} {run['sustained_eps']:>8} "
                f"{run['total_cpu_ms_per_envelope']!s:>13}"
            )
    lines.append(
        "(references: http = HTTP alone, no framework; checks = the stub's own checks, "
        "acknowledged without storing: the most any storage design could reach)"
    )
    lines.append("")
    for kind, server in results["servers"].items():
        lines.append(
            f"{kind:<10} startup {server['startup_seconds']} s, peak RSS "
            f"{server['peak_rss_mb']} MB, storage {server.get('storage', '-')}"
        )
    lines.append("")
    lines.append(
        f"{'events':>9} {'list ms':>8} {'p95 ms':>8} {'wait_for ms':>11} "
        f"{'spans: recent 1st/again ms':>26} {'all 1st/again ms':>18}"
    )
    for size, query in results["queries"].items():
        spans = [
            query[f"span_search_{scope}_{when}"]["median_ms"]
            for scope in ("recent", "all")
            for when in ("first", "repeated")
        ]
        lines.append(
            f"{size:>9} {query['filtered_list_first_page']['median_ms']:>8} "
            f"{query['grouped_p95_by_transaction']['median_ms']:>8} "
            f"{query['wait_for_fresh_event']['median_ms']:>11} "
            f"{f'{spans[0]} / {spans[1]}':>26} {f'{spans[2]} / {spans[3]}':>18}"
        )
    lines.append("")
    felt = results["flush_to_wait_for"]
    lines.append(f"flush() -> wait_for(): median {felt['median_ms']} ms, p99 {felt['p99_ms']} ms")
    test = results["sample_rate_test"]
    lines.append(
        f"sample-rate test, {test['transactions']} transactions (medians): baseline "
        f"{test['baseline_seconds']} s; the 99% interval misses the true rate in 1 run of 100"
    )
    for kind, sampled in test["servers"].items():
        lines.append(
            f"  {kind:<10} {sampled['send_seconds']} s to flush() + {sampled['assert_seconds']} s "
            f"to assert = {sampled['ratio']}x (ratios {sampled['ratios']}); assertion failed "
            f"in {sampled['assertions_failed']} of {len(sampled['ratios'])} runs"
        )
    for kind, ratio in test["references"].items():
        lines.append(f"  {kind:<10} (stores nothing: sending only) {ratio}x")
    lines.append("")
    for check in results["targets"]:
        mark = "ok  " if check["met"] else "MISS"
        lines.append(f"{mark} {check['target']}: {check['value']} (goal {check['goal']})")
    return "\n".join(lines)


def run(profile_name: str, workdir: Path) -> dict:
    profile = PROFILES[profile_name]
    started = time.perf_counter()
    captured = corpus.capture(rounds=profile.corpus_rounds)
    bodies = {}
    for encoding in {encoding for encoding, _ in profile.runs}:
        bodies[encoding] = workdir / f"bodies-{encoding}.pickle"
        bodies[encoding].write_bytes(pickle.dumps(captured.encoded(encoding)))
    servers = {kind: ingest(kind, profile, workdir, bodies) for kind in SERVERS}
    with BenchmarkServer("stub", workdir / "feel.sqlite3") as stub:
        felt = feel.flush_to_wait_for(stub.url, profile.felt_samples)
    with (
        BenchmarkServer("baseline", workdir / "unused") as baseline,
        BenchmarkServer("checks", workdir / "sampled-checks.sqlite3") as checks,
        BenchmarkServer("stub", workdir / "sampled.sqlite3") as stub,
        StubProcess(db=workdir / "sampled-plugin.sqlite3") as plugin,  # the plugin's default
        StubServer(db=workdir / "sampled-inprocess.sqlite3") as inprocess,  # in this process
    ):
        sampled = sampling_suite.sample_rate_test(
            baseline.url,
            {"stub": stub.url, "plugin": plugin.url, "inprocess": inprocess.url},
            profile.sampled_transactions,
            profile.sampled_repeats,
            reference_urls={"checks": checks.url},
        )
    results = {
        "profile": profile_name,
        "machine": machine(),
        "corpus": captured.describe(),
        "servers": servers,
        "queries": queries.run(list(profile.query_sizes), workdir, profile.repeats),
        "flush_to_wait_for": felt,
        "sample_rate_test": sampled,
    }
    results["ratios"] = ratios(servers)
    results["targets"] = targets(results)
    results["seconds"] = round(time.perf_counter() - started, 1)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smoke-test sizes (about 2-3 minutes)")
    size.add_argument("--tiny", action="store_true", help="the smallest run (the test suite's)")
    parser.add_argument("--out", type=Path, help="write the results as JSON to this file")
    parser.add_argument(
        "--compare", type=Path, metavar="JSON", help="then compare the targets with this run's"
    )
    args = parser.parse_args(argv)
    earlier = json.loads(args.compare.read_text()) if args.compare else None
    profile = "tiny" if args.tiny else "quick" if args.quick else "full"
    with tempfile.TemporaryDirectory(prefix="sentry-stub-bench-") as workdir:
        results = run(profile, Path(workdir))
    print(table(results))
    if earlier is not None:
        rows = compare.compare(earlier, results)
        print("\n" + compare.table(rows, args.compare.stem, "this run"))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
