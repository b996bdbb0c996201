"""Who is sending: the public key and protocol version, from wherever Relay accepts them.

Relay looks in this order and refuses a request that carries two of them: ``X-Sentry-Auth``,
``Authorization: Sentry ...``, ``Authorization: Basic``, the query string (when it mentions
``sentry_``), a key in the URL path, and, for envelopes only, the ``dsn`` in the envelope header.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from .errors import IngestError

MAX_PROTOCOL_VERSION = 7


@dataclass(frozen=True)
class Auth:
    public_key: str
    version: int = MAX_PROTOCOL_VERSION
    client: str | None = None
    # Where the key came from: header, authorization, basic, query, path, envelope.
    source: str = "header"
    # Project id named by the envelope-header DSN (tunnel requests).
    dsn_project_id: str | None = None


def authenticate(
    headers: Mapping[str, str],
    query_string: str,
    *,
    path_key: str | None = None,
) -> Auth | None:
    """The request's auth, or None when it carries none (the envelope header may then have it)."""
    found: list[tuple[str, dict[str, str]]] = []
    sentry_auth = headers.get("x-sentry-auth", "")
    if _has_sentry_prefix(sentry_auth):
        found.append(("header", _parse_auth_header(sentry_auth)))
    authorization = headers.get("authorization", "")
    if _has_sentry_prefix(authorization):
        found.append(("authorization", _parse_auth_header(authorization)))
    elif authorization[:6].lower() == "basic ":
        found.append(("basic", _parse_basic(authorization[6:])))
    if "sentry_" in query_string:
        found.append(("query", dict(parse_qsl(query_string, keep_blank_values=True))))
    if path_key is not None:
        found.append(("path", {"sentry_key": path_key}))
    if not found:
        return None
    if len(found) > 1:
        raise IngestError(401, "multiple authorization payloads detected")
    source, fields = found[0]
    return _auth_from_fields(source, fields)


def auth_from_dsn(dsn: object) -> Auth:
    """Auth taken from an envelope header's ``dsn`` (the browser SDK's ``tunnel`` option)."""
    if not isinstance(dsn, str):
        raise IngestError(401, "bad envelope authentication header", ["missing dsn in header"])
    parts = urlsplit(dsn)
    project_id = parts.path.rstrip("/").rpartition("/")[2]
    if not parts.username or not project_id:
        raise IngestError(401, "bad envelope authentication header", [f"invalid dsn {dsn!r}"])
    auth = _auth_from_fields("envelope", {"sentry_key": parts.username})
    return Auth(auth.public_key, auth.version, None, "envelope", project_id)


def _has_sentry_prefix(value: str) -> bool:
    return value[:7].lower() == "sentry "


def _parse_auth_header(value: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for pair in value[7:].split(","):
        key, _, rest = pair.partition("=")
        fields[key.strip()] = rest.split("=", 1)[0].strip()
    return fields


def _parse_basic(encoded: str) -> dict[str, str]:
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise IngestError(
            401, "bad x-sentry-auth header", ["invalid base64 in basic authorization"]
        ) from None
    return {"sentry_key": decoded.partition(":")[0]}


def _auth_from_fields(source: str, fields: dict[str, str]) -> Auth:
    key = fields.get("sentry_key", "")
    if not key:
        raise IngestError(401, "bad x-sentry-auth header", ["missing public key in auth header"])
    key = key.split(".", 1)[0]  # "<key>.no-cache": what follows the dot is flags
    version = _version(fields.get("sentry_version"))
    return Auth(public_key=key, version=version, client=fields.get("sentry_client"), source=source)


def _version(value: str | None) -> int:
    if value in (None, ""):
        return MAX_PROTOCOL_VERSION
    try:
        version = int(value.split(".", 1)[0])
    except ValueError:
        raise IngestError(401, "bad x-sentry-auth header", ["invalid value for version"]) from None
    if version > MAX_PROTOCOL_VERSION:
        raise IngestError(400, f"unsupported protocol version ({version})")
    return version
