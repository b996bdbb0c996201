"""sentry-stub: a local, Sentry-compatible ingest server for testing Sentry set-ups."""

__version__ = "0.1.0"

from .query.errors import QuerySyntaxError, SentryStubQueryWarning
from .server import StubServer

__all__ = ["QuerySyntaxError", "SentryStubQueryWarning", "StubServer", "__version__"]
