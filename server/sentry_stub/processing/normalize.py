"""An event "as Sentry would store it": Relay's own normalization and data scrubbing applied.

The work is done by the ``sentry-relay`` package, which wraps Relay's Rust code (the same code
Sentry runs), so defaults, remarks and ``_meta`` come out exactly as Sentry writes them. That
package ships wheels for Linux x86-64/arm64 and macOS only; elsewhere ingest goes on without
it and every stored event says why its normalized form is missing.
"""

from __future__ import annotations

import copy
import ipaddress
import platform
from functools import lru_cache
from typing import Any

from ..settings.values import Scrubbing

try:
    # The submodules, typed; the package's top level re-exports their names only at run time.
    from sentry_relay import processing as relay
    from sentry_relay.exceptions import RelayError
except ImportError as error:  # no wheel for this platform, or not installed
    RELAY_AVAILABLE = False
    RELAY_MISSING_REASON: str | None = (
        f"the `sentry-relay` package is not importable on {platform.system()} "
        f"{platform.machine()} ({error}); it has wheels for Linux x86-64/arm64 and macOS only, "
        "so events are kept as sent but not normalized or scrubbed as Sentry would"
    )
else:
    RELAY_AVAILABLE = True
    RELAY_MISSING_REASON = None

# What Sentry passes to Relay's store normalizer (sentry/constants.py): events older than
# 30 days or more than a minute in the future get their timestamp reset, as in Sentry.
NORMALIZER_CONFIG = {
    "max_secs_in_future": 60,
    "max_secs_in_past": 30 * 24 * 3600,
    "enable_trimming": True,
    "normalize_user_agent": True,
}
# Platforms whose SDKs never send an IP, so Relay takes the client's (legacy backfilling).
IP_BACKFILL_PLATFORMS = frozenset({"javascript", "cocoa", "objc"})


def stored_event(
    event: dict, scrubbing: Scrubbing, *, client_ip: str | None = None
) -> tuple[dict | None, str | None]:
    """``(event as Sentry stores it, None)``, or ``(None, why it could not be produced)``."""
    if not RELAY_AVAILABLE:
        return None, RELAY_MISSING_REASON
    if not isinstance(event, dict):
        return None, "the event is not a JSON object"
    try:
        normalized = _normalizer().normalize_event(_with_client_ip(event, client_ip))
        config = pii_config(scrubbing)
        return (relay.pii_strip_event(config, normalized) if config else normalized), None
    except RelayError as error:
        return None, f"Relay refused the event: {str(error).splitlines()[0]}"


def pii_config(scrubbing: Scrubbing) -> dict:
    """Relay's PII config for the settings (``{}`` when scrubbing is off); cached per settings."""
    return copy.deepcopy(_converted_pii_config(scrubbing))


@lru_cache(maxsize=64)
def _converted_pii_config(scrubbing: Scrubbing) -> dict:
    # Relay's `DataScrubbingConfig` is camelCase; snake_case keys would be silently ignored.
    return relay.convert_datascrubbing_config(
        {
            "scrubData": scrubbing.scrub_data,
            "scrubDefaults": scrubbing.scrub_defaults,
            "sensitiveFields": list(scrubbing.sensitive_fields),
            "excludeFields": list(scrubbing.exclude_fields),
            "scrubIpAddresses": scrubbing.scrub_ip_addresses,
        }
    )


@lru_cache(maxsize=1)
def _normalizer() -> Any:
    return relay.StoreNormalizer(**NORMALIZER_CONFIG)


def _with_client_ip(event: dict, client_ip: str | None) -> dict:
    """Resolve ``{{auto}}`` IPs to the sender's address as Relay does before Sentry normalizes.

    The store normalizer in ``sentry-relay`` leaves this step to Relay's ingest side, so it is
    repeated here: ``request.env.REMOTE_ADDR`` and ``user.ip_address`` of ``{{auto}}`` become the
    client IP; a missing user IP is taken from ``REMOTE_ADDR``, or from the client for the
    browser and Apple platforms.
    """
    if not _is_ip(client_ip):
        return event
    event = dict(event)  # copies of the parts changed below; the rest is only read
    request = event.get("request")
    env = request.get("env") if isinstance(request, dict) else None
    if isinstance(request, dict) and isinstance(env, dict) and env.get("REMOTE_ADDR") == "{{auto}}":
        env = {**env, "REMOTE_ADDR": client_ip}
        event["request"] = {**request, "env": env}
    user = event.get("user")
    if isinstance(user, dict) and user.get("ip_address") == "{{auto}}":
        user = event["user"] = {**user, "ip_address": client_ip}
    if user is not None and not isinstance(user, dict):
        return event
    if user is None or user.get("ip_address") is None:
        remote_addr = env.get("REMOTE_ADDR") if isinstance(env, dict) else None
        if _is_ip(remote_addr):
            event["user"] = {**(user or {}), "ip_address": remote_addr}
        elif event.get("platform") in IP_BACKFILL_PLATFORMS:
            event["user"] = {**(user or {}), "ip_address": client_ip}
    return event


def _is_ip(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
