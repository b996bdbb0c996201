"""HTTP the server sends on its own, after a commit: alert actions and forwarded envelopes.

Both follow one pattern: a background thread, woken after each commit (and when a retry falls
due), reads what is pending, sends it with ``post`` and records the outcome through the writer.
Ingest never waits for it. ``Sender`` is that thread; ``post`` one attempt; ``backoff`` the
doubling wait between attempts.
"""

from __future__ import annotations

import http.client
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

logger = logging.getLogger("sentry_stub")


@dataclass(frozen=True)
class Answer:
    """One attempt's outcome: the status and headers (lower-case names), or the error."""

    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        if self.status is None:
            return self.error or "no answer"
        detail = self.body[:200].decode("utf-8", "replace").strip()
        return f"HTTP {self.status}" + (f": {detail}" if detail else "")


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """One POST of ``body`` to ``url`` (http or https); never raises for the network's faults."""
    parts = urlsplit(url)
    if not parts.hostname:
        return Answer(None, error=f"no host in the URL {url!r}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        content = response.read()
        names = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, names, content)
    except (OSError, http.client.HTTPException) as failure:
        return Answer(None, error=f"{type(failure).__name__}: {failure}")
    finally:
        connection.close()


def backoff(attempt: int, first: float, cap: float) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): doubling, capped."""
    return min(cap, first * 2 ** (attempt - 1))


class Sender:
    """A thread that runs ``work`` when woken (after a commit) or when its next retry is due.

    ``work`` returns the seconds until it wants to run again unasked (None: only when woken).
    """

    def __init__(self, name: str, work: Callable[[], float | None], join_timeout: float):
        self.name = name
        self.work = work
        self.join_timeout = join_timeout
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    @property
    def stopping(self) -> bool:
        return self._stopping

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        self._wake.set()  # send what a previous run left pending

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        if self._thread is not None:
            self._stopping = True
            self._wake.set()
            self._thread.join(self.join_timeout)
            self._thread = None

    def _run(self) -> None:
        timeout: float | None = None
        while True:
            self._wake.wait(timeout)
            self._wake.clear()
            if self._stopping:
                return
            try:
                timeout = self.work()
            except Exception:  # keep sending later work whatever one piece of it did
                logger.exception("%s failed", self.name)
                timeout = 1.0
            if timeout is not None:
                timeout = max(timeout, 0.0)
