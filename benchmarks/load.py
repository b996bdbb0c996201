"""The load generator: keep-alive HTTP/1.1 over raw asyncio streams, in a process of its own.

Each of ``concurrency`` connections posts envelopes back to back (a closed loop, as SDK
workers and test processes do) for ``warmup + duration`` seconds; only the last ``duration``
seconds count. Raw streams rather than an HTTP library keep the client cheap enough that the
server, not the generator, is what gets measured. The server's CPU time and memory are read
from ``/proc`` at the edges of the measured window.

Run as ``python -m benchmarks.load SPEC.json``; it prints its result as JSON.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import sys
import time
from dataclasses import dataclass, field

from .procfs import cpu_seconds, memory_kib

KEY = "0123456789abcdef0123456789abcdef"
AUTH = f"Sentry sentry_version=7, sentry_key={KEY}, sentry_client=sentry.python/2.0.0"


@dataclass
class Window:
    """The measured part of a run: its end, and what was seen inside it."""

    start: float
    end: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0


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
            if now >= window.start:
                window.latencies.append(time.perf_counter() - now)
                status = int(status_line.split(b" ", 2)[1])
                window.statuses[status] = window.statuses.get(status, 0) + 1
    except (OSError, asyncio.IncompleteReadError, IndexError, ValueError):
        window.errors += 1
    finally:
        writer.close()


async def run(spec: dict) -> dict:
    with open(spec["bodies"], "rb") as file:
        bodies: list[bytes] = pickle.load(file)
    requests = [request_head(spec["port"], spec["encoding"], len(b)) + b for b in bodies]
    pid = spec.get("pid")
    started = time.perf_counter()
    window = Window(started + spec["warmup"], started + spec["warmup"] + spec["duration"])
    tasks = [
        asyncio.create_task(_connection(spec["port"], requests, i * 7, window))
        for i in range(spec["concurrency"])
    ]
    await asyncio.sleep(max(0.0, window.start - time.perf_counter()))
    cpu_before = cpu_seconds(pid) if pid else 0.0
    peak_rss = 0
    while time.perf_counter() < window.end:
        if pid:
            peak_rss = max(peak_rss, memory_kib(pid)["rss"])
        await asyncio.sleep(0.05)
    cpu_used = cpu_seconds(pid) - cpu_before if pid else 0.0
    await asyncio.gather(*tasks)
    return summarize(window, spec["duration"], cpu_used, peak_rss)


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
