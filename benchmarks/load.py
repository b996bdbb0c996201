"""The load generator: keep-alive HTTP/1.1 over raw asyncio streams, in a process of its own.

Each of ``concurrency`` connections posts envelopes back to back (a closed loop, as SDK
workers and test processes do) for ``warmup + duration`` seconds; only the last ``duration``
seconds count. Raw streams rather than an HTTP library keep the client cheap enough that the
server, not the generator, is what gets measured. The server's CPU time and memory are read
from ``/proc``. When the spec names the server's database, the load is followed by its
catch-up (``catchup.py``): one API read, which returns once every acknowledged envelope has
its rows.

What each figure covers:

- ``requests``, ``ok``, ``rps``, ``p50_ms``, ``p99_ms``: the requests sent inside the measured
  window (the last to be answered may finish just after it); ``rps`` is ``requests`` over
  ``duration``. This is what the senders see: the acknowledgement path alone while the stub's
  backlog is short, and the deriving its backpressure makes them wait for once it is full.
- ``server_cpu_ms_per_request``, ``server_cpu_utilization``: the server's CPU time during the
  measured window (whatever it did in it, deriving included), over its requests and over
  ``duration``.
- ``acknowledged``, ``load_seconds``: every 2xx answer of the run (warm-up, window and the
  requests in flight when it closed), and the time from opening the first connection to the
  last answer.
- ``burst_eps``: the first ``BURST`` acknowledgements of the run over the time from the first
  to the last of them (all of the run's, if fewer), so that opening the connections is left
  out. The stub answers that many at full speed before its backpressure starts
  (``WritePolicy.max_backlog`` in ``sentry_stub/storage/writer.py``): this is what a test
  suite's burst sees, where the measured window of a long run sees a flood.
- ``backlog``, ``derive_seconds``, ``derive_cpu_ms_per_envelope`` (stub servers only): the
  catch-up, which starts as the last answer arrives. ``backlog`` is the number of envelopes it
  derived (those without rows when the load ended: few when the load left the writer gaps
  to derive in, as at concurrency 1); ``derive_seconds`` is its wall time; the CPU figure is the
  server's CPU time during it over ``backlog`` (None when the backlog was empty).
- ``total_cpu_ms_per_envelope``: the server's CPU time from the first connection until the
  catch-up finished, over ``acknowledged``. That interval holds the acknowledgement and the
  derivation of exactly those envelopes and nothing else, so this is the all-in cost of one.
- ``sustained_eps``: ``acknowledged`` over ``load_seconds + derive_seconds``, the rate at
  which envelopes are both acknowledged and derived when the load never lets up. For the
  baseline, which derives nothing, it is its acknowledgement rate over the whole run.

Run as ``python -m benchmarks.load SPEC.json``; it prints its result as JSON.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sentry_stub.storage.writer import DEFAULT_POLICY

from .catchup import CatchUp, catch_up
from .procfs import cpu_seconds, memory_kib

KEY = "0123456789abcdef0123456789abcdef"
BURST = (
    DEFAULT_POLICY.max_backlog
)  # envelopes the stub acknowledges at full speed from an empty backlog
AUTH = f"Sentry sentry_version=7, sentry_key={KEY}, sentry_client=sentry.python/2.0.0"


@dataclass
class Window:
    """The measured part of a run: its end, and what was seen inside it (and in the whole run)."""

    start: float
    end: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    acknowledged: int = 0  # 2xx answers over the whole run, warm-up included
    first_ack: float | None = None  # when the first of them arrived
    burst_end: float | None = None  # when the BURST-th of them arrived


def request_head(port: int, encoding: str, length: int) -> bytes:
    lines = [
        "POST /api/1/envelope/ HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/x-sentry-envelope",
        f"X-Sentry-Auth: {AUTH}",
        f"Content-Length: {length}",
    ]
    if encoding != "identity":
        lines.append(f"Content-Encoding: {encoding}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _connection(port: int, requests: list[bytes], offset: int, window: Window) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = offset
    try:
        while (now := time.perf_counter()) < window.end:
            writer.write(requests[n % len(requests)])
            n += 1
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            status = int(status_line.split(b" ", 2)[1])
            if 200 <= status < 300:
                window.acknowledged += 1
                if window.acknowledged == 1:
                    window.first_ack = time.perf_counter()
                elif window.acknowledged == BURST:
                    window.burst_end = time.perf_counter()
            if now >= window.start:
                window.latencies.append(time.perf_counter() - now)
                window.statuses[status] = window.statuses.get(status, 0) + 1
    except (OSError, asyncio.IncompleteReadError, IndexError, ValueError):
        window.errors += 1
    finally:
        writer.close()


async def run(spec: dict) -> dict:
    with open(spec["bodies"], "rb") as file:
        bodies: list[bytes] = pickle.load(file)
    requests = [request_head(spec["port"], spec["encoding"], len(b)) + b for b in bodies]
    pid = spec["pid"]
    cpu_at_start, started = cpu_seconds(pid), time.perf_counter()
    window = Window(started + spec["warmup"], started + spec["warmup"] + spec["duration"])
    tasks = [
        asyncio.create_task(_connection(spec["port"], requests, i * 7, window))
        for i in range(spec["concurrency"])
    ]
    await asyncio.sleep(max(0.0, window.start - time.perf_counter()))
    cpu_before = cpu_seconds(pid)
    peak_rss = 0
    while time.perf_counter() < window.end:
        peak_rss = max(peak_rss, memory_kib(pid)["rss"])
        await asyncio.sleep(0.05)
    cpu_used = cpu_seconds(pid) - cpu_before
    await asyncio.gather(*tasks)
    load_seconds, load_cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu_at_start
    caught = None
    if spec.get("db"):  # a stub: every connection is done, so nothing waits on this blocking read
        caught = catch_up(f"http://127.0.0.1:{spec['port']}", pid, Path(spec["db"]))
    return (
        summarize(window, spec["duration"], cpu_used, peak_rss)
        | all_in(window.acknowledged, load_seconds, load_cpu, caught)
        | {"burst_eps": burst_rate(window, started + load_seconds)}
    )


def summarize(window: Window, duration: float, cpu_used: float, peak_rss_kib: int) -> dict:
    latencies = sorted(window.latencies)
    count = len(latencies)
    ok = sum(n for status, n in window.statuses.items() if 200 <= status < 300)
    return {
        "requests": count,
        "ok": ok,
        "non_2xx": count - ok,
        "connection_errors": window.errors,
        "rps": round(count / duration, 1),
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 3),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 3),
        "server_cpu_ms_per_request": round(cpu_used * 1000 / count, 4) if count else None,
        "server_cpu_utilization": round(cpu_used / duration, 3),
        "server_peak_rss_mb": round(peak_rss_kib / 1024, 1),
    }


def burst_rate(window: Window, last_answer: float) -> float | None:
    """Acknowledgements per second from the first to the BURST-th (or the last) of them."""
    if window.first_ack is None:
        return None
    end, count = (
        (window.burst_end, BURST) if window.burst_end else (last_answer, window.acknowledged)
    )
    return round((count - 1) / (end - window.first_ack), 1) if end > window.first_ack else None


def all_in(acknowledged: int, load_seconds: float, load_cpu: float, caught: CatchUp | None) -> dict:
    """The figures over the whole run and its catch-up, when every envelope has its rows."""
    seconds = load_seconds + (caught.seconds if caught else 0.0)
    cpu = load_cpu + (caught.cpu_seconds if caught else 0.0)
    figures = {
        "acknowledged": acknowledged,
        "load_seconds": round(load_seconds, 3),
        "total_cpu_ms_per_envelope": _per_envelope(cpu, acknowledged),
        "sustained_eps": round(acknowledged / seconds, 1),
    }
    if caught:
        figures["backlog"] = caught.backlog
        figures["derive_seconds"] = round(caught.seconds, 3)
        figures["derive_cpu_ms_per_envelope"] = _per_envelope(caught.cpu_seconds, caught.backlog)
    return figures


def _per_envelope(cpu: float, envelopes: int) -> float | None:
    return round(cpu * 1000 / envelopes, 4) if envelopes else None


def _percentile(ordered: list[float], level: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(level * len(ordered)))]


def main() -> None:
    with open(sys.argv[1]) as file:
        spec = json.load(file)
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(run(spec))
    else:
        result = uvloop.run(run(spec))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
