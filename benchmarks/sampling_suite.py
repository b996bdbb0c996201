"""What a sample-rate test costs its author, from the first transaction to a passing assertion.

The real SDK, in this process, starts ``transactions`` transactions of ten child spans each at
``traces_sample_rate=0.5``, then calls ``flush()``. Against the no-op baseline that is the whole
test (nothing can be asserted there); against the stub the test then calls
``assert_sample_rate(0.5)``, which reads only once every envelope's rows are derived. The ratio
of the two times is what the stub adds to such a test.

The stub runs three times over: as ``sentry-stub serve`` (``stub``, as in CI's docker service),
as the pytest plugin's default server (``plugin``, a ``StubProcess`` child of this process) and
in this very process (``inprocess``, ``StubServer``, the plugin's ``--sentry-stub-server=thread``),
where it shares the interpreter, and so the CPU time of one thread at a time, with the SDK and
the code under test.

The test runs a few times, alternating between the servers, and the medians are reported:
on a shared machine one run can differ from the next by a fifth.

Whether the assertion passes is partly chance: the 99% interval misses the true rate in about
one run of a hundred by design. What must hold every time is the accounting: every transaction
started either arrived or was counted as sampled out in a client report, and each one kept
declared the configured rate. That is reported as ``unaccounted`` (transactions missing from,
or counted twice in, kept plus sampled out) and ``declared_rates``.

The SDK's transport queue is made large enough for every envelope: with its default of 100, a
loop this tight overflows it against any server, the baseline included, and the client report
that ``flush()`` queues is dropped with the rest (see the README's sampling check).
"""

from __future__ import annotations

import statistics
import time

import sentry_sdk

from sentry_stub.client import StubClient
from sentry_stub.view import StubView

RATE = 0.5
SPANS = 10


def sample_rate_test(
    baseline_url: str,
    stub_urls: dict[str, str],
    transactions: int,
    repeats: int,
    reference_urls: dict[str, str],
) -> dict:
    """The test ``repeats`` times on the baseline and each stub, alternating; medians and ratios.

    ``stub_urls`` maps a name (``stub``, ``plugin``, ``inprocess``) to the URL of a stub to test.
    ``reference_urls`` are servers that store nothing (``checks``, see ``floors.py``): only
    their sending is timed, against the same baseline, to show what any storage adds.
    """
    baseline_runs, runs, reference_runs = [], [], []
    for _ in range(repeats):
        baseline_seconds = _send(baseline_url, transactions)
        baseline_runs.append(baseline_seconds)
        runs.append(
            {name: _once(url, transactions, baseline_seconds) for name, url in stub_urls.items()}
        )
        reference_runs.append(
            {
                name: _send(url, transactions) / baseline_seconds
                for name, url in reference_urls.items()
            }
        )
    servers = {name: _summary([run[name] for run in runs], transactions) for name in stub_urls}
    return {
        "transactions": transactions,
        "sample_rate": RATE,
        "baseline_seconds": round(statistics.median(baseline_runs), 3),
        "servers": servers,
        "references": {
            name: round(statistics.median(run[name] for run in reference_runs), 2)
            for name in reference_urls
        },
    }


def _summary(runs: list[dict], transactions: int) -> dict:
    return {
        **{
            name: round(statistics.median(run[name] for run in runs), 3)
            for name in ("send_seconds", "assert_seconds")
        },
        "ratio": round(statistics.median(run["ratio"] for run in runs), 2),
        "ratios": [round(run["ratio"], 2) for run in runs],
        "unaccounted": sum(abs(transactions - run["trials"]) for run in runs),
        "declared_rates": sorted({rate for run in runs for rate in run["declared"]}),
        "assertions_failed": sum(not run["passed"] for run in runs),
    }


def _once(stub_url: str, transactions: int, baseline_seconds: float) -> dict:
    view = StubView(StubClient(stub_url))
    view.cursor = view.client.cursor()
    send_seconds = _send(stub_url, transactions)
    started = time.perf_counter()
    # The read assert_sample_rate(RATE) makes; its report tells a chance miss from a lost
    # transaction, where the assertion would only raise.
    report = view.client.check_sampling(RATE, category="transaction", after=view.cursor)
    assert_seconds = time.perf_counter() - started
    return {
        "send_seconds": send_seconds,
        "assert_seconds": assert_seconds,
        "ratio": (send_seconds + assert_seconds) / baseline_seconds,
        "trials": report["trials"],
        "declared": report["declared"],
        "passed": report["passed"],
    }


def _send(url: str, transactions: int) -> float:
    """Seconds from the first transaction to ``flush()`` returning, against ``url``."""
    host = url.removeprefix("http://")
    sentry_sdk.init(
        dsn=f"http://{'0' * 32}@{host}/1",
        traces_sample_rate=RATE,
        default_integrations=False,
        transport_queue_size=transactions + 10,
    )
    try:
        started = time.perf_counter()
        for number in range(transactions):
            with sentry_sdk.start_transaction(name=f"GET /items/{number % 20}", op="http.server"):
                for span in range(SPANS):
                    with sentry_sdk.start_span(op="db.query", name=f"SELECT {span}"):
                        pass
        sentry_sdk.flush(timeout=120)
        return time.perf_counter() - started
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init(dsn=None)
