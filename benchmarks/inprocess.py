"""The pytest plugin's server (``StubServer``: uvicorn in a thread) in a process of its own.

The plugin starts exactly this in the test process; running it alone lets the benchmark
measure it apart from the load it receives. Run as ``python -m benchmarks.inprocess PORT DB``.
"""

from __future__ import annotations

import signal
import sys
import threading

from sentry_stub import StubServer


def main() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with StubServer(port=int(sys.argv[1]), db=sys.argv[2]):
        stop.wait()


if __name__ == "__main__":
    main()
