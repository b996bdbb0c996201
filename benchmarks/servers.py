"""The servers under test, each a process of its own so it gets a core to itself.

``stub`` is ``sentry-stub serve`` as users run it; ``inprocess`` is the pytest plugin's
``StubServer``; ``baseline`` is the no-op endpoint; ``http`` and ``checks`` are the reference
servers of ``floors.py``. Starting one records how long it took to answer its first HTTP request.
"""

from __future__ import annotations

import http.client
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # where ``python -m benchmarks...`` resolves
COMMANDS = {
    "stub": lambda port, db: [
        sys.executable,
        "-m",
        "sentry_stub",
        "serve",
        "--port",
        str(port),
        "--db",
        str(db),
        "--log-level",
        "warning",
    ],
    "inprocess": lambda port, db: [
        sys.executable,
        "-m",
        "benchmarks.inprocess",
        str(port),
        str(db),
    ],
    "baseline": lambda port, db: [sys.executable, "-m", "benchmarks.baseline", str(port)],
    "http": lambda port, db: [sys.executable, "-m", "benchmarks.floors", "http", str(port)],
    "checks": lambda port, db: [
        sys.executable,
        "-m",
        "benchmarks.floors",
        "checks",
        str(port),
        str(db),
    ],
}
STORING = ("stub", "inprocess")  # the servers that keep what they acknowledge


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BenchmarkServer:
    """One server of ``COMMANDS`` in a process of its own, with the time it took to answer.

    Not the test suites' ``client_tests.support.ServerProcess`` (the console script configured
    as the container configures it): this one starts the reference servers too, from the
    repository root, and measures start-up.
    """

    def __init__(self, kind: str, db: Path):
        if kind not in COMMANDS:
            raise ValueError(f"unknown server {kind!r}; expected one of {', '.join(COMMANDS)}")
        self.kind = kind
        self.db = db
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.startup_seconds: float | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, "start the server first"
        return self.process.pid

    def start(self, timeout: float = 20.0) -> BenchmarkServer:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_STUB_")}
        started = time.perf_counter()
        self.process = subprocess.Popen(
            COMMANDS[self.kind](self.port, self.db), env=env, cwd=ROOT, stdout=subprocess.DEVNULL
        )
        while time.perf_counter() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited with {self.process.returncode}")
            if self._answers():
                self.startup_seconds = time.perf_counter() - started
                return self
            time.sleep(0.005)
        self.stop()
        raise RuntimeError(f"{self.kind} server did not answer a request in {timeout} s")

    def _answers(self) -> bool:
        """Whether the server answers HTTP at all, whatever the status.

        An open port is not enough: the listening socket exists before the app's start-up
        (which creates the schema) has run, and connections wait in its backlog meanwhile.
        """
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1.0)
        try:
            connection.request("GET", "/api/relay/healthcheck/ready/")
            connection.getresponse().read()
            return True
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def committed_envelopes(self) -> int:
        """Envelope rows on disk, read through a connection of our own (0 for the references)."""
        if self.kind not in STORING or not self.db.exists():
            return 0
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as connection:
            return connection.execute("SELECT COUNT(*) FROM envelopes").fetchone()[0]

    def __enter__(self) -> BenchmarkServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def database_bytes(db: Path) -> int:
    """The database's size on disk, write-ahead log included."""
    return sum(path.stat().st_size for path in (db, Path(f"{db}-wal")) if path.exists())
