"""What a failure message tells a test author when what they waited for never arrived.

The usual causes are on the app's side: ``sentry_sdk.init`` without this test's DSN (the SDK
then drops everything without a word), a DSN for another server or key, or a missing
``sentry_sdk.flush()`` before the assertion while the SDK still holds the events in its queue.
The server can tell these apart from what it did receive: nothing at all, something with
another DSN key, or client reports and sessions (which the SDK sends when it flushes).
"""

from __future__ import annotations

from .protocol.item_types import SENT_ON_FLUSH


def arrival_hints(dsn: str, arrived: dict, everywhere: dict) -> list[str]:
    """Lines for a failure message; ``arrived`` and ``everywhere`` are query-API summaries of
    this test's view and of every DSN key, both since the test began."""
    items: dict[str, int] = arrived["items"]
    if items:
        flushed = [kind for kind in SENT_ON_FLUSH if items.get(kind)]
        if arrived["events"] or not flushed:
            return []
        return [
            f"No event arrived, but the SDK did flush ({', '.join(flushed)} arrived): the events "
            "were dropped before sending (see the client reports) or never captured."
        ]
    lines = ["Nothing arrived with this test's DSN. The app must send to:", f"  {dsn}"]
    others: dict[str, int] = everywhere["items"]
    if others:
        counts = ", ".join(f"{kind}={count}" for kind, count in others.items())
        lines.append(
            f"The server did receive {counts} since the test began, with another DSN key or "
            "project (or from a test running in parallel): check the DSN the app was given "
            "(SENTRY_DSN, sentry_sdk.init(dsn=...))."
        )
    else:
        lines.append(
            "No request reached the server at all since the test began: was sentry_sdk.init "
            "given this DSN, before the code under test ran? Without a DSN the SDK drops "
            "everything silently."
        )
    lines.append(
        "No client report or session arrived either, which the SDK sends when it flushes: if "
        "the app sends from a background thread, call sentry_sdk.flush() before asserting."
    )
    return lines
