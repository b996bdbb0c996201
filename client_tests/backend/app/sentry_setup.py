"""Sentry for the backend, configured from the six ``SENTRY_*`` variables of the mission guide.

The same code reports to sentry.io in production and to sentry-stub in tests: only
``SENTRY_DSN`` changes. Values are checked here, so that a typo such as ``SENTRY_ENVIRONMENT=prod``
(which no alert rule would match) stops the app at start-up instead of silently going unseen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sentry_sdk

ENVIRONMENTS = ("development", "staging", "production")
# The fields the guide's "PII Filtering and Data Scrubbing" section names.
SENSITIVE_KEYS = ("password", "token", "api_key", "credit_card")
FILTERED = "[Filtered]"
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")

EventProcessor = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any] | None]


class SentryConfigError(ValueError):
    """A ``SENTRY_*`` variable holds a value the app cannot use; the message names it."""


def scrub_event(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """``before_send``: mask every sensitive field, however deep, anywhere in the event.

    sentry-python's own scrubber looks only at the top level of the request body, while
    secrets often sit deeper (``{"payment": {"credit_card": ...}}``), in ``extra`` or in
    breadcrumbs.
    """
    return _scrub(event)


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: FILTERED if is_sensitive(key) else _scrub(v) for key, v in value.items()}
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    return value


def is_sensitive(key: object) -> bool:
    """``X-Api-Key``, ``access_token`` and ``credit_card_number`` count as well."""
    normalized = str(key).lower().replace("-", "_")
    return any(word in normalized for word in SENSITIVE_KEYS)


def sentry_options(
    environ: Mapping[str, str], *, before_send: EventProcessor = scrub_event
) -> dict[str, Any]:
    """The ``sentry_sdk.init`` options the environment asks for.

    ``SENTRY_ENABLE_TRACING=false`` turns tracing (and with it profiling) off altogether; an
    unset ``SENTRY_DSN`` keeps the SDK off. sentry-sdk's defaults already leave out IP
    addresses, cookies and auth headers; the user context is set by id only (``main.py``).
    """
    environment = environ.get("SENTRY_ENVIRONMENT", "development")
    if environment not in ENVIRONMENTS:
        raise SentryConfigError(
            f"SENTRY_ENVIRONMENT={environment!r}: expected one of {', '.join(ENVIRONMENTS)}"
        )
    tracing = _flag(environ, "SENTRY_ENABLE_TRACING", default=True)
    return {
        "dsn": environ.get("SENTRY_DSN") or None,
        "environment": environment,
        "release": environ.get("SENTRY_RELEASE") or None,
        "traces_sample_rate": _rate(environ, "SENTRY_TRACES_SAMPLE_RATE", 0.1) if tracing else None,
        "profiles_sample_rate": (
            _rate(environ, "SENTRY_PROFILES_SAMPLE_RATE", 0.1) if tracing else None
        ),
        # Local variables hold copies of request bodies and secrets under any name, where no
        # key-based scrubber finds them (Sentry's scrubbers would filter many of them).
        "include_local_variables": False,
        "before_send": before_send,
        "before_send_transaction": before_send,  # transactions carry the request too
    }


def init_sentry(environ: Mapping[str, str], *, before_send: EventProcessor = scrub_event) -> None:
    """Start sentry-sdk (with its FastAPI integration) as ``environ`` configures it."""
    sentry_sdk.init(**sentry_options(environ, before_send=before_send))


def _rate(environ: Mapping[str, str], name: str, default: float) -> float:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        rate = float(text)
    except ValueError:
        raise SentryConfigError(f"{name}={text!r}: expected a number from 0.0 to 1.0") from None
    if not 0.0 <= rate <= 1.0:
        raise SentryConfigError(f"{name}={text!r}: a sample rate lies between 0.0 and 1.0")
    return rate


def _flag(environ: Mapping[str, str], name: str, *, default: bool) -> bool:
    text = environ.get(name, "").strip().lower()
    if not text:
        return default
    if text in TRUE or text in FALSE:
        return text in TRUE
    raise SentryConfigError(f"{name}={text!r}: expected true or false")
