"""sentry-stub: a local, Sentry-compatible ingest server for testing Sentry set-ups."""

from importlib.metadata import version

# pyproject.toml holds the one version; the installed package's metadata carries it here.
# (Set before the import below: the server's modules read it.)
__version__ = version("sentry-stub")

from .query.errors import QuerySyntaxError, SentryStubQueryWarning
from .server import StubServer

__all__ = ["QuerySyntaxError", "SentryStubQueryWarning", "StubServer", "__version__"]
