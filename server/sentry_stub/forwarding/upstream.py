"""An upstream named by a DSN: where envelopes go, and how they authenticate there.

A DSN is ``{scheme}://{public_key}@{host}[:{port}]/[{path}/]{project_id}``, as the SDKs read it;
envelopes go to ``{scheme}://{host}[:{port}]/[{path}/]api/{project_id}/envelope/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from .. import __version__

CLIENT = f"sentry-stub-forward/{__version__}"


@dataclass(frozen=True)
class Upstream:
    dsn: str
    public_key: str
    project_id: str
    envelope_url: str
    address: str  # host:port, the port spelled out

    @classmethod
    def from_dsn(cls, dsn: str) -> Upstream:
        """Parse ``dsn``; a ValueError says what is wrong with it."""
        if not isinstance(dsn, str):
            raise ValueError(f"a DSN must be a string, got {dsn!r}")
        parts = urlsplit(dsn.strip())
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"DSN {dsn!r} must start with http:// or https://")
        if not parts.hostname:
            raise ValueError(f"DSN {dsn!r} names no host")
        if not parts.username:
            raise ValueError(f"DSN {dsn!r} has no public key (https://KEY@HOST/PROJECT_ID)")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"DSN {dsn!r} has an invalid port") from None
        path, _, project_id = parts.path.rstrip("/").rpartition("/")
        if not project_id.isascii() or not project_id.isdigit():
            raise ValueError(f"DSN {dsn!r} must end with a numeric project id")
        if parts.query or parts.fragment:
            raise ValueError(f"DSN {dsn!r} must not carry a query or fragment")
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        netloc = host + (f":{port}" if port is not None else "")
        url = f"{parts.scheme}://{netloc}{path}/api/{project_id}/envelope/"
        default_port = 443 if parts.scheme == "https" else 80
        return cls(
            dsn=dsn.strip(),
            public_key=parts.username,
            project_id=project_id,
            envelope_url=url,
            address=f"{host}:{port or default_port}",
        )

    @property
    def auth_headers(self) -> dict[str, str]:
        """The headers an envelope needs at the upstream: its key, in ``X-Sentry-Auth``."""
        auth = f"Sentry sentry_version=7, sentry_key={self.public_key}, sentry_client={CLIENT}"
        return {
            "Content-Type": "application/x-sentry-envelope",
            "X-Sentry-Auth": auth,
            "User-Agent": CLIENT,
        }
