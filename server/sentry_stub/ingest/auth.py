"""Who is sending: the public key and protocol version, from wherever Relay accepts them.

Relay looks in this order and refuses a request that carries two of them: ``X-Sentry-Auth``,
``Authorization: Sentry ...``, ``Authorization: Basic``, the query string (when it mentions
``sentry_``), a key in the URL path, and, for envelopes only, the ``dsn`` in the envelope header.
A malformed source is refused as soon as it is read, before the next one is looked at.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import orjson

from ..protocol.errors import IngestError
from ..storage.schema import INT64_MAX, stored_integer

PROTOCOL_VERSION = 7
MAX_U16 = 65535
VERSION = re.compile(r"\+?[0-9]+")  # Rust's u16 parser also takes a leading "+"


@dataclass(frozen=True)
class Auth:
    public_key: str
    version: int = PROTOCOL_VERSION
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
    auth = None
    for source, fields in _sources(headers, query_string, path_key):
        if auth is not None:
            raise IngestError(401, "multiple authorization payloads detected")
        auth = _auth_from_fields(source, fields)
    return auth


def check_protocol_version(auth: Auth) -> None:
    """Relay serves protocol versions up to 7; checked after the key, as Relay does."""
    if auth.version > PROTOCOL_VERSION:
        raise IngestError(400, f"unsupported protocol version ({auth.version})")


def auth_from_envelope(body: bytes) -> Auth:
    """Auth from the envelope header's ``dsn`` (the browser SDK's ``tunnel`` option).

    Relay reads only the body's first line here, as JSON that must carry a valid ``dsn``.
    """
    line = body.split(b"\n", 1)[0]
    try:
        header = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise _bad_envelope_auth(f"first line is not JSON: {error}") from None
    if not isinstance(header, dict) or "dsn" not in header:
        raise _bad_envelope_auth("no request auth and no dsn in the envelope header")
    try:
        public_key, project_id = parse_dsn(header["dsn"])
    except ValueError as error:
        raise _bad_envelope_auth(str(error)) from None
    client = header.get("client")
    return Auth(
        public_key,
        client=client if isinstance(client, str) else None,
        source="envelope",
        dsn_project_id=project_id,
    )


def parse_dsn(dsn: Any) -> tuple[str, str]:
    """``(public_key, project_id)`` of a DSN; ``ValueError`` naming what is wrong.

    The key's length is not checked here: open mode accepts short keys (with a protocol note).
    """
    if not isinstance(dsn, str):
        raise ValueError(f"dsn {dsn!r} is not a string")
    try:
        parts = urlsplit(dsn)
        host = parts.hostname
    except ValueError:
        host = None
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"dsn {dsn!r} is not an http(s) URL")
    if not parts.username:
        raise ValueError(f"dsn {dsn!r} has no public key")
    project_id = parts.path.rstrip("/").rpartition("/")[2]
    if not (project_id.isascii() and project_id.isdigit()):
        raise ValueError(f"dsn {dsn!r} does not end in a numeric project id")
    if stored_integer(project_id) is None:
        raise ValueError(f"dsn {dsn!r}: project id is past {INT64_MAX}")
    return parts.username, project_id


def check_envelope_meta(
    headers: dict, auth: Auth, *, url_project: int | None, origin: str | None
) -> None:
    """The envelope header's ``dsn`` and ``origin`` must agree with the request, as in Relay.

    ``origin`` is the request's (see ``request_origin``). With tunnel auth the request's meta
    comes from the same ``dsn``, so only a differing request ``Origin`` can disagree.
    """
    header_origin = headers.get("origin")
    if header_origin is not None:
        expected = _normalized_url(header_origin)
        actual = origin or (expected if auth.source == "envelope" else None)
        if expected is None or actual != expected:
            raise _mismatch("origin")
    if "dsn" not in headers or auth.source == "envelope":
        return
    try:
        public_key, project_id = parse_dsn(headers["dsn"])
    except ValueError as error:
        raise IngestError(
            400, "invalid event envelope", [f"invalid envelope header: {error}"]
        ) from None
    if url_project is not None and int(project_id) != url_project:
        raise _mismatch("project id")
    if public_key != auth.public_key:
        raise _mismatch("public key")


def request_origin(headers: Mapping[str, str]) -> str | None:
    """The request's ``Origin``, else its ``Referer``: an http(s) URL, normalized, or None."""
    for name in ("origin", "referer"):
        url = _normalized_url(headers.get(name))
        if url is not None:
            return url
    return None


def _normalized_url(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    netloc = parts.netloc.lower()
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def _mismatch(what: str) -> IngestError:
    return IngestError(
        400, "invalid event envelope", [f"{what} header mismatch between envelope and request"]
    )


def _bad_envelope_auth(cause: str) -> IngestError:
    return IngestError(401, "bad envelope authentication header", [cause])


def _sources(
    headers: Mapping[str, str], query_string: str, path_key: str | None
) -> Iterator[tuple[str, dict[str, str]]]:
    """The auth sources the request carries, in Relay's order, each read when reached."""
    for name, source in (("x-sentry-auth", "header"), ("authorization", "authorization")):
        value = headers.get(name, "")
        if value[:7].lower() == "sentry ":
            yield source, _parse_auth_header(value)
    basic_key = _basic_key(headers.get("authorization", ""))
    if basic_key:
        yield "basic", {"sentry_key": basic_key}
    if "sentry_" in query_string:
        yield "query", dict(parse_qsl(query_string, keep_blank_values=True))
    if path_key is not None:
        yield "path", {"sentry_key": path_key}


def _parse_auth_header(value: str) -> dict[str, str]:
    """``Sentry k=v, k=v``: pairs without ``=`` are skipped, a value is cut at a second ``=``."""
    fields: dict[str, str] = {}
    for pair in value[7:].split(","):
        key, equals, rest = pair.partition("=")
        if equals:
            fields[key.strip()] = rest.split("=", 1)[0].strip()
    return fields


def _basic_key(authorization: str) -> str | None:
    """The key of ``Authorization: Basic base64(key:secret)``; Relay ignores a malformed one."""
    if authorization[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(authorization[6:], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    key, colon, _ = decoded.partition(":")
    return key if colon else None


def _auth_from_fields(source: str, fields: dict[str, str]) -> Auth:
    version = _version(fields.get("sentry_version"))
    key = fields.get("sentry_key", "")
    if not key:
        raise IngestError(401, "bad x-sentry-auth header", ["missing public key in auth header"])
    key = key.split(".", 1)[0]  # "<key>.no-cache": what follows the dot is flags
    return Auth(public_key=key, version=version, client=fields.get("sentry_client"), source=source)


def _version(value: str | None) -> int:
    """An absent version is 7; a present one must be a u16 (``"7.0"`` reads as 7)."""
    if value is None:
        return PROTOCOL_VERSION
    number = value.split(".", 1)[0]
    if not VERSION.fullmatch(number) or int(number) > MAX_U16:
        raise IngestError(401, "bad x-sentry-auth header", ["invalid value for version"])
    return int(number)
