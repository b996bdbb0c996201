"""The database checked before the server starts, so a bad ``--db`` is one line, not a traceback.

``sentry-stub serve`` opens the database the way the writer will (WAL, a write transaction) and
runs ``PRAGMA quick_check`` before it binds its port or prints its banner: a file that is not
SQLite, a corrupt one, a missing folder or a read-only file or folder each stop the start with a
message naming the path and the cause.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from .schema import connect


class UnusableDatabase(ValueError):
    """The database cannot be served; the message names the path and why."""


def check_database(path: str) -> None:
    """Raise ``UnusableDatabase`` unless ``path`` is (or can become) a sound, writable database."""
    file = Path(path)
    if not file.parent.is_dir():
        raise UnusableDatabase(f"database {path}: folder {file.parent} does not exist")
    if file.is_dir():
        raise UnusableDatabase(f"database {path}: is a folder, not a file")
    try:
        connection = connect(path)
    except sqlite3.Error as error:
        raise UnusableDatabase(f"database {path}: {_cause(error, file)}") from None
    with contextlib.closing(connection):
        try:
            problems = [row[0] for row in connection.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise UnusableDatabase(
                    f"database {path}: is corrupt (quick_check: {'; '.join(problems[:3])})"
                )
            # A write the server would make anyway, undone: a read-only file or folder shows here.
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("CREATE TABLE IF NOT EXISTS preflight_check (x)")
            connection.execute("ROLLBACK")
        except sqlite3.Error as error:
            raise UnusableDatabase(f"database {path}: {_cause(error, file)}") from None


def _cause(error: sqlite3.Error, file: Path) -> str:
    """SQLite's error in the words of someone who has to fix it."""
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF
    if code == sqlite3.SQLITE_NOTADB:
        return "is not an SQLite database"
    if code == sqlite3.SQLITE_CORRUPT:
        return f"is corrupt ({error})"
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
        where = "file" if file.exists() else "folder"
        return f"is read-only ({where} not writable: {error})"
    return f"cannot be opened: {error}"
