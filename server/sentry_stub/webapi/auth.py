"""Who may call the web API: bearer tokens, and org auth tokens (``sntrys_``) in particular.

sentry-cli sends ``Authorization: Bearer <token>`` on every web-API call. A local server has no
users: in open mode any token is accepted; in strict mode (the config lists projects) only the
configured ones and org auth tokens made for this server, as Sentry answers 401 to tokens it did
not issue. Either way a token must be sent, and that header is what keeps web pages from writing
here: no page can send it to another origin without a CORS preflight, which the web API never
grants. Org auth tokens are read the way Sentry reads them. Their
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

from ..ingest.guard import HostAllowList

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


@dataclass(frozen=True)
class TokenPolicy:
    """Which bearer tokens the web API takes (see the module's docstring)."""

    strict: bool
    configured: frozenset[str]
    hosts: HostAllowList  # the names of this server, which a token made for it points at

    def organization(self, authorization: str | None) -> str | None:
        """The organization the accepted token is bound to (``None``: any); else ``TokenError``."""
        token = bearer_token(authorization)
        org_token = parse_org_token(token) if token.startswith(ORG_TOKEN_PREFIX) else None
        if self.strict and token not in self.configured:
            if org_token is None:
                raise TokenError(f"Invalid token: {STRICT_TOKENS}")
            url = org_token.url or org_token.region_url
            if not self.hosts.allows_url(url):
                raise TokenError(
                    f"Invalid token: this org auth token was made for {url!r}, not for this "
                    f"server; {STRICT_TOKENS}"
                )
        return org_token.org if org_token is not None else None


STRICT_TOKENS = (
    "in strict mode the web API takes the tokens of [server] auth_tokens in the config (env "
    "SENTRY_STUB_AUTH_TOKENS) and org auth tokens made for this server "
    "(`sentry-stub token --url URL-OF-THIS-SERVER`)"
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


def _secret_length(secret: str) -> int:
    try:
        return len(base64.b64decode(secret + "=" * (-len(secret) % 4), validate=True))
    except binascii.Error:
        return -1
