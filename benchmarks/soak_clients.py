"""One process of the soak's clients: several real sentry-sdk ``Client`` objects, one thread each.

sentry-sdk keeps its scopes per thread (context variables) and a ``Client`` per DSN, each with
its own HTTP transport and background worker; a thread that binds a client to its isolation
scope sends through that client alone. So one process holds several independent SDK clients,
each with its own DSN key, as several apps in one machine would.

Each client sends in batches: ``batch`` events (errors raised and caught, and transactions of
a few spans, alternating), then ``flush()``; a real app's SDK likewise sends while the app
runs and drains at the end. The counting transport tells which event items the server
acknowledged (a 2xx answer) apart from those handed to the transport.

Run as ``python -m benchmarks.soak_clients SPEC.json``; it prints per-key counts as JSON.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import HttpTransport

EVENT_TYPES = ("event", "transaction")
FLUSH_TIMEOUT = 120.0


class CountingTransport(HttpTransport):
    """The SDK's own HTTP transport, counting event items sent and acknowledged."""

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options)
        self.lock = threading.Lock()
        self.sent = 0
        self.acknowledged = 0

    def capture_envelope(self, envelope: Envelope) -> None:
        with self.lock:
            self.sent += _events(envelope)
        super().capture_envelope(envelope)

    def _handle_response(self, response: Any, envelope: Envelope | None) -> None:
        if envelope is not None and 200 <= response.status < 300:
            with self.lock:
                self.acknowledged += _events(envelope)
        super()._handle_response(response=response, envelope=envelope)


def _events(envelope: Envelope) -> int:
    return sum(item.type in EVENT_TYPES for item in envelope.items)


def drive(client: sentry_sdk.Client, deadline: float, batch: int, counts: dict[str, int]) -> None:
    """Send through ``client`` until ``deadline``: ``batch`` events, then a flush."""
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        scope.set_tag("soak", "yes")
        number = 0
        while time.monotonic() < deadline:
            for _ in range(batch):
                number += 1
                if number % 2:
                    try:
                        raise ValueError(f"soak error {number % 50}")
                    except ValueError as error:
                        sentry_sdk.capture_exception(error)
                    counts["errors"] += 1
                else:
                    with sentry_sdk.start_transaction(name=f"GET /soak/{number % 20}", op="http"):
                        for span in range(3):
                            with sentry_sdk.start_span(op="db.query", name=f"SELECT {span}"):
                                pass
                    counts["transactions"] += 1
            client.flush(timeout=FLUSH_TIMEOUT)


def main(spec_path: str) -> None:
    with open(spec_path) as file:
        spec = json.load(file)
    deadline = time.monotonic() + spec["duration"]
    clients, threads, counts = {}, [], {}
    for key in spec["keys"]:
        clients[key] = sentry_sdk.Client(
            dsn=f"http://{key}@127.0.0.1:{spec['port']}/{spec['project']}",
            transport=CountingTransport,
            traces_sample_rate=1.0,
            default_integrations=False,
            release="soak@1.0",
        )
        counts[key] = {"errors": 0, "transactions": 0}
        threads.append(
            threading.Thread(
                target=drive, args=(clients[key], deadline, spec["batch"], counts[key])
            )
        )
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = {}
    for key, client in clients.items():
        transport = client.transport
        assert isinstance(transport, CountingTransport)
        client.close(timeout=FLUSH_TIMEOUT)  # drains the queue; the counts are then final
        report[key] = {
            **counts[key],
            "sent": transport.sent,
            "acknowledged": transport.acknowledged,
        }
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
