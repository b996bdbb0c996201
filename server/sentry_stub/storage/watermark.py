"""How far rows have been derived: the ``meta.derived_through`` watermark (an envelope id).

The envelopes table is the queue of derivation; the watermark moves in the same transaction as
the rows it covers, so a crash loses nothing and repeats nothing.
"""

from __future__ import annotations

import sqlite3

from .schema import DERIVED_THROUGH


def catch_up_target(connection: sqlite3.Connection) -> int | None:
    """The newest committed envelope when rows are still to be derived up to it, else None."""
    latest, watermark = connection.execute(
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM envelopes), "
        "(SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?)",
        (DERIVED_THROUGH,),
    ).fetchone()
    return latest if latest > (watermark or 0) else None


def derived_through(connection: sqlite3.Connection) -> int:
    query = "SELECT value FROM meta WHERE key = ?"
    found = connection.execute(query, (DERIVED_THROUGH,)).fetchone()
    return int(found[0]) if found else 0


def latest_envelope(connection: sqlite3.Connection) -> int:
    return connection.execute("SELECT COALESCE(MAX(id), 0) FROM envelopes").fetchone()[0]


def move_watermark(connection: sqlite3.Connection, envelope_id: int) -> None:
    """Rows now exist up to envelope ``envelope_id``."""
    connection.execute(
        "UPDATE meta SET value = ? WHERE key = ?", (str(envelope_id), DERIVED_THROUGH)
    )
