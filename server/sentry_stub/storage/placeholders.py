"""The ``?`` placeholders of SQL the code builds: values always go as parameters, never as text."""

from __future__ import annotations

from collections.abc import Sized


def placeholders(values: Sized) -> str:
    """``?, ?, ?`` for an ``IN (...)`` list or a ``VALUES (...)`` row of ``values``."""
    return ", ".join("?" * len(values))
