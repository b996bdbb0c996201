"""The latency a test author feels: from ``sentry_sdk.flush()`` returning to ``wait_for`` returning.

The real SDK, in this process, sends an error to the server under test; the clock starts when
``flush`` returns (the SDK has had its answer) and stops when ``wait_for`` hands the event back.
"""

from __future__ import annotations

import statistics
import time

import sentry_sdk

from sentry_stub.client import StubClient
from sentry_stub.view import StubView


def flush_to_wait_for(url: str, repeats: int) -> dict:
    view = StubView(StubClient(url))
    sentry_sdk.init(dsn=view.dsn, default_integrations=False, send_client_reports=False)
    samples = []
    try:
        for n in range(repeats):
            view.cursor = view.client.cursor()
            event_id = sentry_sdk.capture_message(f"felt latency {n}")
            sentry_sdk.flush()
            started = time.perf_counter()
            view.wait_for(f"id:{event_id}", timeout=5)
            samples.append(time.perf_counter() - started)
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init(dsn=None)
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000, 2),
        "samples": len(ordered),
    }
