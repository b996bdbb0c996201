"""sentry-stub: a local, Sentry-compatible ingest server for testing Sentry set-ups.

This module is the public API: every name in ``__all__`` is supported, everything else is
internal. Importing it (or the client, or the pytest plugin) stays light: the server stack
(starlette, uvicorn, sqlite-utils, the storage and ingest packages) loads only when
``StubServer`` or ``ConfigError`` is first used (PEP 562), so a test process that talks to a
remote server (the docker service) never imports it.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

# pyproject.toml holds the one version; the installed package's metadata carries it here.
# (Set before the imports below: the server's modules read it.)
try:
    __version__ = version("sentry-stub")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

from .client import StubApiError, StubClient, StubConnectionError
from .process import StubProcess
from .query.errors import QuerySyntaxError, SentryStubQueryWarning
from .records import Attachment, Envelope, EnvelopeItem, Event, Record, Row
from .view import Fault, StubView, Trace

if TYPE_CHECKING:
    from .server import StubServer
    from .settings.validation import ConfigError

__all__ = [
    "Attachment",
    "ConfigError",
    "Envelope",
    "EnvelopeItem",
    "Event",
    "Fault",
    "QuerySyntaxError",
    "Record",
    "Row",
    "SentryStubQueryWarning",
    "StubApiError",
    "StubClient",
    "StubConnectionError",
    "StubProcess",
    "StubServer",
    "StubView",
    "Trace",
    "__version__",
]

# Public names that live with the server stack, imported on first use: name -> module.
_LAZY = {"StubServer": ".server", "ConfigError": ".settings.validation"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
