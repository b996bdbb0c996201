"""Storage faults: a full disk or a database another process holds, answered and recovered from.

Relay answers 503 while it cannot accept envelopes (its buffer full, its upstream away) and
reports not ready on ``/api/relay/healthcheck/ready/``. The stub does the same when SQLite cannot
commit: every request of the failed commit gets 503 with ``Retry-After`` and a body naming the
cause, nothing of that commit is stored, and the next commit that succeeds ends the fault.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3

from ..protocol.errors import IngestError

RETRY_AFTER_SECONDS = 5
ROOM_BYTES = 1024 * 1024  # free disk space readiness asks for after a fault

# SQLite's primary result codes (the low byte of an extended code) that mean "not now".
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_IOERR, _SQLITE_FULL = 5, 6, 10, 13
_SQLITE_READONLY = 8
_CAUSES = {
    _SQLITE_FULL: "the disk is full",
    _SQLITE_BUSY: "the database is locked by another process",
    _SQLITE_LOCKED: "the database is locked by another process",
    _SQLITE_IOERR: "the disk failed to read or write",
    _SQLITE_READONLY: "the database is read-only",
}


class StorageUnavailable(IngestError):
    """A commit that could not happen for a reason outside the request: 503, try again later."""

    def __init__(self, cause: str, error: BaseException):
        self.cause = cause
        super().__init__(
            503,
            f"storage unavailable: {cause}",
            [f"{type(error).__name__}: {error}"],
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


def storage_fault(error: BaseException) -> StorageUnavailable | None:
    """``error`` as a storage fault, or None when it is a fault of the request itself."""
    if isinstance(error, StorageUnavailable):
        return error
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        cause = _CAUSES.get(code & 0xFF) if isinstance(code, int) else None
        if cause is None and "database is locked" in str(error):
            cause = _CAUSES[_SQLITE_BUSY]
        return StorageUnavailable(cause, error) if cause else None
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageUnavailable(_CAUSES[_SQLITE_FULL], error)
    return None


class Health:
    """The writer's last storage fault, until a commit succeeds again (``None``: healthy)."""

    def __init__(self) -> None:
        self.fault: StorageUnavailable | None = None

    def failed(self, fault: StorageUnavailable) -> bool:
        """Record ``fault``; True when it starts a fault (worth one log line, not one per try)."""
        started = self.fault is None or self.fault.cause != fault.cause
        self.fault = fault
        return started

    def committed(self) -> bool:
        """Record a commit; True when it ends a fault."""
        ended = self.fault is not None
        self.fault = None
        return ended


def check(path: str, lock_wait: float) -> StorageUnavailable | None:
    """Whether a commit would succeed now, found without writing (readiness after a fault).

    Free room for a large envelope (``ROOM_BYTES``; a commit of a few bytes can fit in the last
    free pages while every envelope fails), and the write lock taken and given back at once.
    """
    stats = os.statvfs(os.path.dirname(os.path.abspath(path)))
    if stats.f_bavail * stats.f_frsize < ROOM_BYTES:
        room = OSError(errno.ENOSPC, f"less than {ROOM_BYTES} bytes free")
        return StorageUnavailable(_CAUSES[_SQLITE_FULL], room)
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=lock_wait)) as connection:
            connection.isolation_level = None
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
    except sqlite3.Error as error:
        fault = storage_fault(error)
        if fault is None:
            raise
        return fault
    return None
