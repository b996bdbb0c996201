"""Who may call the web API: bearer tokens, and org auth tokens (``sntrys_``) in particular.

sentry-cli sends ``Authorization: Bearer <token>`` on every web-API call. A local server has no
users, so any token is accepted, but org auth tokens are read the way Sentry reads them. Their
payload names an organization and a URL, and sentry-cli obeys both over ``SENTRY_ORG`` and
``SENTRY_URL``: a CI secret minted by sentry.io would send the CLI to sentry.io. ``mint_org_token``
makes one whose payload points at the stub instead (``sentry-stub token``).

Format: ``sntrys_<base64 JSON payload, padded>_<base64 of 32 secret bytes, unpadded>``.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from dataclasses import dataclass

import orjson

ORG_TOKEN_PREFIX = "sntrys_"
SECRET_BYTES = 32


class TokenError(ValueError):
    """A missing or malformed token; the message says what is wrong with it."""


@dataclass(frozen=True)
class OrgToken:
    org: str
    url: str
    region_url: str
    issued_at: float | None


def mint_org_token(url: str, org: str, *, issued_at: float | None = None) -> str:
    """An org auth token that sends sentry-cli to ``url`` and organization ``org``."""
    url = url.rstrip("/")
    payload = {
        "iat": time.time() if issued_at is None else issued_at,
        "url": url,
        "region_url": url,
        "org": org,
    }
    encoded = base64.b64encode(orjson.dumps(payload)).decode("ascii")
    secret = base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")
    return f"{ORG_TOKEN_PREFIX}{encoded}_{secret}"


def parse_org_token(token: str) -> OrgToken:
    """The payload of an ``sntrys_`` token, checked as strictly as sentry-cli checks it."""
    if not token.startswith(ORG_TOKEN_PREFIX):
        raise TokenError(f"an org auth token starts with {ORG_TOKEN_PREFIX!r}")
    segments = token[len(ORG_TOKEN_PREFIX) :].split("_")
    if len(segments) != 2:
        raise TokenError("an org auth token has exactly two segments after 'sntrys_'")
    encoded_payload, secret = segments
    try:
        payload = orjson.loads(base64.b64decode(encoded_payload, validate=True))
    except (binascii.Error, orjson.JSONDecodeError):
        raise TokenError("the org auth token's payload is not base64-encoded JSON") from None
    if not isinstance(payload, dict):
        raise TokenError("the org auth token's payload is not a JSON object")
    for field in ("org", "region_url"):
        if not isinstance(payload.get(field), str):
            raise TokenError(f"the org auth token's payload has no string {field!r}")
    if _secret_length(secret) != SECRET_BYTES:
        raise TokenError(f"the org auth token's secret is not {SECRET_BYTES} base64-encoded bytes")
    issued_at = payload.get("iat")
    return OrgToken(
        org=payload["org"],
        url=payload.get("url") or "",
        region_url=payload["region_url"],
        issued_at=float(issued_at) if isinstance(issued_at, int | float) else None,
    )


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not authorization:
        raise TokenError(
            "Authentication credentials were not provided "
            "(send 'Authorization: Bearer <token>'; sentry-cli reads SENTRY_AUTH_TOKEN)"
        )
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError(f"expected 'Authorization: Bearer <token>', got a {scheme!r} header")
    return token.strip()


def token_org(token: str) -> str | None:
    """The organization an org auth token is bound to; ``None`` for any other kind of token."""
    if not token.startswith(ORG_TOKEN_PREFIX):
        return None
    return parse_org_token(token).org


def _secret_length(secret: str) -> int:
    try:
        return len(base64.b64decode(secret + "=" * (-len(secret) % 4), validate=True))
    except binascii.Error:
        return -1
