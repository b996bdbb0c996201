"""Settings: the value types every layer reads (``values``) and the one TOML validation helper.

Nothing here imports another part of the package, so ingest, storage and rules can all depend
on it; the loader that assembles a whole config file (``sentry_stub.config``) sits above them.
"""
