"""What guards everything but ingest: a Host allow-list, and no writes a web page could forge.

A developer's browser reaches 127.0.0.1 too, so any page it opens is a client of the stub:

- DNS rebinding: a page whose own name is made to resolve to 127.0.0.1 reads the stub as its
  own origin, and its requests carry that name in ``Host``. Only names on the allow-list get
  the web UI, the query API (``/stub/api/*``), Discover and the web API. Refused hosts get
  421 Misdirected Request (RFC 9110 15.5.20: this server does not answer for that authority),
  which also tells them apart from the 403 of a refused write.
- Cross-site writes: a form or a ``text/plain`` fetch is a "simple" request, sent without a CORS
  preflight. A write with an ``Origin`` must come from the stub's own origin (scheme, name and
  port: another dev server on localhost is another origin), ``Sec-Fetch-Site`` must not say
  another site or origin, and a POST must say ``Content-Type: application/json``: a page can
  send that only after a preflight, which these routes never grant (no CORS headers outside
  ingest). POST is the only writing method the Fetch standard lets through without a
  preflight. The web API's routes (sentry-cli posts its uploads multipart) instead need
  ``Authorization: Bearer``, another header that requires a preflight; a request no route
  takes changes nothing. The route table says which writes must be JSON (``needs_json``).

Ingest and Relay's health checks stay open to any Host and any Origin, as Relay's are: browser
SDKs post from every origin, and containers reach the stub by whatever name their network uses.
Their routes (``routing.py``'s ``INGEST`` and ``OPEN``) do not come through here at all; what
reaches the guard on their paths is what no route takes there (a 404, a preflight).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
ANY_HOST = "*"
ALLOW_OPTION = "--allowed-host NAME (env SENTRY_STUB_ALLOWED_HOSTS)"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MISDIRECTED = 421
JSON_TYPE = "application/json"
SAME_ORIGIN_SITES = ("same-origin", "none")  # Sec-Fetch-Site values of the stub's own pages
DEFAULT_PORTS = {"http": 80, "https": 443}
GUARDED_HEADERS = frozenset({b"host", b"origin", b"sec-fetch-site", b"content-type"})


class HostNameError(ValueError):
    """An allow-list entry that is not a bare host name; the message names it."""


def allowed_host_name(value: str) -> str:
    """``value`` as the allow-list keeps it: lowercase, an IPv6 address without brackets."""
    name = value.strip().lower().removesuffix(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if not name or any(c in name for c in "/@?#* \t,") or (":" in name and not _is_ipv6(name)):
        raise HostNameError(
            f"allowed host {value!r} must be a host name or address without a port or "
            "wildcard (every port of an allowed host is allowed; '*' alone allows every host)"
        )
    return _canonical(name)


@dataclass(frozen=True)
class HostAllowList:
    """The names the stub answers to outside ingest, any port; ``any_host`` turns the check off."""

    names: frozenset[str]
    any_host: bool = False

    @classmethod
    def for_server(cls, bound_host: str, extra: Iterable[str] = ()) -> HostAllowList:
        """Loopback, the address the server is bound to, and ``extra`` (``*``: every name)."""
        extra = tuple(extra)
        named = (allowed_host_name(name) for name in extra if name != ANY_HOST)
        names = {*LOOPBACK_NAMES, allowed_host_name(bound_host), *named}
        return cls(frozenset(names), any_host=ANY_HOST in extra)

    def allows(self, name: str | None) -> bool:
        return self.any_host or name in self.names

    def allows_url(self, url: str) -> bool:
        """Whether ``url`` (an ``Origin``, the URL in an org auth token) names this server."""
        try:
            name = urlsplit(url).hostname
        except ValueError:
            return self.any_host
        return self.allows(_canonical(name.removesuffix(".")) if name else None)


def host_name(authority: str) -> str:
    """The name in a ``Host`` header, without its port: ``[::1]:8990`` -> ``::1``."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        return _canonical(authority[1:].partition("]")[0])
    return authority.partition(":")[0].removesuffix(".")


class RequestGuard:
    """Refuses requests outside ingest from hosts off the allow-list, and cross-site writes.

    ``is_open`` names the paths open to any Host and Origin, ``needs_json`` the writes (method
    and path) that must say JSON (``routing.RoutePolicies``, from the route table).
    """

    def __init__(
        self,
        app: ASGIApp,
        hosts: HostAllowList,
        is_open: Callable[[str], bool],
        needs_json: Callable[[str, str], bool],
    ):
        self.app = app
        self.hosts = hosts
        self.is_open = is_open
        self.needs_json = needs_json

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = None
        if scope["type"] == "http" and not self.is_open(scope["path"]):
            refusal = self.refusal(scope["method"], scope["path"], _headers(scope))
        if refusal is None:
            await self.app(scope, receive, send)
        else:
            await refusal(scope, receive, send)

    def refusal(self, method: str, path: str, headers: dict[str, str]) -> JSONResponse | None:
        """The answer that refuses this request, or ``None`` to let it through."""
        # No browser leaves Host out (HTTP/1.1 requires it): a request without one is no page's.
        name = host_name(headers["host"]) if "host" in headers else None
        if name is not None and not self.hosts.allows(name):
            detail = (
                f"Host {name!r} is not allowed: outside ingest the stub answers only to "
                f"localhost, its own address and the names allowed with {ALLOW_OPTION}, so no "
                "web page can read it through DNS rebinding"
            )
            return JSONResponse(
                {"detail": detail, "host": name, "allow_with": f"--allowed-host {name}"},
                status_code=MISDIRECTED,
            )
        if method in READ_METHODS:
            return None
        reason = self._write_refusal(method, path, headers)
        if reason is None:
            return None
        detail = f"cross-site write refused: {reason}"
        return JSONResponse({"detail": detail}, status_code=403)

    def _write_refusal(self, method: str, path: str, headers: dict[str, str]) -> str | None:
        origin = headers.get("origin")
        if origin is not None and not self._same_origin(origin, headers.get("host")):
            return (
                f"Origin {origin!r} is not the stub's own origin: only its web UI, or a client "
                "that sends no Origin (the plugin, the CLI, sentry-cli), may write here"
            )
        site = headers.get("sec-fetch-site")
        if site not in (None, *SAME_ORIGIN_SITES):
            return f"the browser says this request comes from elsewhere (Sec-Fetch-Site: {site})"
        content_type = headers.get("content-type", "")
        if (
            method == "POST"
            and self.needs_json(method, path)
            and content_type.partition(";")[0].strip().lower() != JSON_TYPE
        ):
            sent = repr(content_type) if content_type else "none"
            return (
                f"a POST here needs 'Content-Type: {JSON_TYPE}' (sent: {sent}), which no web "
                "page of another origin can send without a CORS preflight"
            )
        return None

    def _same_origin(self, origin: str, host: str | None) -> bool:
        """Whether ``origin`` is the origin the request was sent to (its ``Host``), allowed."""
        try:
            parts = urlsplit(origin)
            origin_port = parts.port or DEFAULT_PORTS.get(parts.scheme)
        except ValueError:
            return False
        if host is None:  # no page's request (see ``refusal``): judge the Origin's name alone
            return self.hosts.allows_url(origin)
        name, _, port = host.strip().lower().rpartition(":")
        if not port.isdigit() or name.endswith(":"):  # no port, or a bare IPv6 address
            name, port = host.strip().lower(), str(DEFAULT_PORTS["http"])
        return (
            parts.scheme == "http"
            and _canonical((parts.hostname or "").removesuffix(".")) == host_name(name)
            and origin_port == int(port)
        )


def _headers(scope: Scope) -> dict[str, str]:
    """The headers the guard reads, decoded (the first of each)."""
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name in GUARDED_HEADERS:
            found.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    return found


def _canonical(name: str) -> str:
    """One spelling per IPv6 address (``0:0::1`` is ``::1``); other names as they are."""
    return ipaddress.ip_address(name).compressed if _is_ipv6(name) else name


def _is_ipv6(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).version == 6
    except ValueError:
        return False
