"""The soak: many real sentry-sdk clients, each with its own DSN key, against ``sentry-stub
serve`` for a while; nothing acknowledged may be missing afterwards.

``python -m benchmarks.soak [--clients 64] [--processes 4] [--duration 60] [--out FILE]``
(``--smoke`` for a few seconds with a few clients) prints JSON:

- ``sent``: event items (errors and transactions) the clients' transports were handed;
- ``acknowledged``: those in envelopes the server answered with a 2xx, as the SDK saw it;
- ``stored``: events in the server's database once every acknowledged envelope has its rows
  (the read a test makes, then a count per DSN key);
- ``lost``: acknowledged but not stored, summed per key; it must be 0;
- ``unacknowledged``: sent but not acknowledged (the SDK dropped or failed to send them);
- ``server_peak_rss_mb``: the server process's peak resident memory (``VmHWM``);
- ``server_cpu_utilization``: the server's CPU seconds over the sending time (1.0: one core
  busy all along, the server was the bottleneck), and ``load_average_1m`` at the end.

The clients run in ``processes`` processes of their own (``soak_clients.py``), each holding
``clients / processes`` SDK clients, one thread each. One process per client would be 64
interpreters competing for two cores with the server they measure; one process for all
would serialize every client's event building and compression on one GIL. A few processes
keep the clients busy without starving the server.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from .catchup import catch_up
from .procfs import cpu_seconds, memory_kib
from .run import machine
from .servers import ROOT, BenchmarkServer

PROJECT = 1
SMOKE = {"clients": 4, "processes": 2, "duration": 3.0}


def soak(clients: int, processes: int, duration: float, batch: int, workdir: Path) -> dict:
    """One soak against a fresh ``sentry-stub serve``; the figures described above."""
    keys = [secrets.token_hex(16) for _ in range(clients)]
    server = BenchmarkServer("stub", workdir / "soak.sqlite3").start()
    try:
        started, cpu_before = time.perf_counter(), cpu_seconds(server.pid)
        per_key = _run_clients(server.port, keys, processes, duration, batch, workdir)
        load_seconds = time.perf_counter() - started
        server_cpu = cpu_seconds(server.pid) - cpu_before
        catch_up(server.url, server.pid, server.db)
        peak_kib = memory_kib(server.pid)["peak"]
    finally:
        server.stop()
    stored = _stored_per_key(server.db)
    totals = {
        name: sum(counts[name] for counts in per_key.values())
        for name in ("errors", "transactions", "sent", "acknowledged")
    }
    lost = {key: counts["acknowledged"] - stored.get(key, 0) for key, counts in per_key.items()}
    return {
        "clients": clients,
        "processes": processes,
        "duration_seconds": duration,
        "load_seconds": round(load_seconds, 1),
        **totals,
        "stored": sum(stored.get(key, 0) for key in keys),
        "lost": sum(max(0, n) for n in lost.values()),
        "unacknowledged": totals["sent"] - totals["acknowledged"],
        "keys_with_losses": sum(n > 0 for n in lost.values()),
        "acknowledged_per_second": round(totals["acknowledged"] / load_seconds, 1),
        "server_peak_rss_mb": round(peak_kib / 1024, 1),
        # How busy the server was while the clients sent: near 1.0, it was the bottleneck.
        "server_cpu_utilization": round(server_cpu / load_seconds, 2),
        # Other work on the machine competes with both sides; a loaded machine sends less.
        "load_average_1m": round(os.getloadavg()[0], 1),
        "machine": machine(),
    }


def _run_clients(
    port: int, keys: list[str], processes: int, duration: float, batch: int, workdir: Path
) -> dict[str, dict[str, int]]:
    """Start every client process at once; their per-key counts, merged."""
    running = []
    for index in range(processes):
        spec = workdir / f"soak-clients-{index}.json"
        spec.write_text(
            json.dumps(
                {
                    "port": port,
                    "project": PROJECT,
                    "keys": keys[index::processes],
                    "duration": duration,
                    "batch": batch,
                }
            )
        )
        command = [sys.executable, "-m", "benchmarks.soak_clients", str(spec)]
        running.append(
            subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        )
    per_key: dict[str, dict[str, int]] = {}
    for process in running:
        out, err = process.communicate(timeout=duration + 600)
        if process.returncode != 0:
            raise RuntimeError(f"soak client process failed: {err.decode().strip()}")
        per_key.update(json.loads(out))
    return per_key


def _stored_per_key(db: Path) -> dict[str, int]:
    """Events stored, per DSN key (the key travels on each item row)."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as connection:
        rows = connection.execute(
            "SELECT i.public_key, COUNT(*) FROM events AS e JOIN items AS i ON i.id = e.item_id"
            " GROUP BY i.public_key"
        ).fetchall()
    return dict(rows)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__)
    parser.add_argument("--clients", type=int, default=64, help="SDK clients, one key each")
    parser.add_argument("--processes", type=int, default=4, help="processes sharing the clients")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of sending")
    parser.add_argument("--batch", type=int, default=10, help="events per client between flushes")
    parser.add_argument("--smoke", action="store_true", help="4 clients, 2 processes, 3 s")
    parser.add_argument("--out", type=Path, help="also write the JSON to this file")
    args = parser.parse_args(argv)
    size = SMOKE if args.smoke else vars(args)
    processes = max(1, min(size["processes"], size["clients"]))
    with tempfile.TemporaryDirectory(prefix="sentry-stub-soak-") as workdir:
        results = soak(size["clients"], processes, size["duration"], args.batch, Path(workdir))
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return results


if __name__ == "__main__":
    main()
