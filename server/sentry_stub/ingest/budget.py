"""The bytes of request bodies held at once, shared by every request: past the budget, 503.

Each request reads its body, decompresses it and parses it in memory; four concurrent 190 MiB
envelopes once took 1.5 GiB. Every byte received and every byte decompressed is taken from one
budget (``[limits] max_in_flight_size``, 256 MiB by default) and given back when the request
is answered. A request that would pass it is refused with 503 and ``Retry-After``, as Relay
refuses envelopes while its buffer is full; a request alone in flight is always let through, so
a body larger than the budget but within its route's size limit is not refused forever.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from ..protocol.errors import IngestError

RETRY_AFTER_SECONDS = 1


class BodyBudget:
    def __init__(self, limit: int):
        self.limit = limit
        self.in_use = 0
        self._lock = threading.Lock()  # decompression takes from it in worker threads

    @contextlib.contextmanager
    def reserve(self) -> Iterator[Reservation]:
        """A request's share, given back when the block ends."""
        reservation = Reservation(self)
        try:
            yield reservation
        finally:
            with self._lock:
                self.in_use -= reservation.held

    def over_budget(self) -> IngestError:
        return IngestError(
            503,
            "the server is busy: request bodies in flight would exceed "
            f"{self.limit} bytes (limits.max_in_flight_size)",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


class Reservation:
    def __init__(self, budget: BodyBudget):
        self.budget = budget
        self.held = 0

    def take(self, size: int) -> None:
        """Take ``size`` more bytes, or raise 503 when that passes the budget."""
        with self.budget._lock:
            self._check(size)
            self.budget.in_use += size
            self.held += size

    def fits(self, size: int) -> None:
        """Refuse at once a body whose announced size (``Content-Length``) cannot fit."""
        with self.budget._lock:
            self._check(size)

    def _check(self, size: int) -> None:
        budget = self.budget
        held_by_others = budget.in_use - self.held
        if held_by_others and budget.in_use + size > budget.limit:
            raise budget.over_budget()
