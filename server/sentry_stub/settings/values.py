"""The values a config file describes: a project, its scrubbing and rules, the size limits.

Plain frozen dataclasses that import nothing else of the package (the rule types are named for
the type checker only), so every layer can take them without pulling in another.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..rules.config import IssueAlertRule, MetricAlertRule
    from ..rules.ownership import OwnershipRule

DEFAULT_PROJECT_ID = 1
DEFAULT_PROJECT_SLUG = "default"

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class Limits:
    """Relay's size and count limits (``relay-config`` defaults), checked on decompressed sizes."""

    max_envelope_size: int = 200 * MIB
    max_event_size: int = 1 * MIB
    max_attachment_size: int = 200 * MIB
    max_attachments_size: int = 200 * MIB
    max_attachment_count: int = 30
    max_session_count: int = 100
    max_sessions_size: int = 10 * MIB
    max_client_reports_count: int = 100
    max_client_reports_size: int = 100 * KIB
    max_check_in_size: int = 100 * KIB
    max_profile_size: int = 50 * MIB
    max_replay_compressed_size: int = 10 * MIB
    max_log_size: int = 2 * MIB
    max_trace_metric_size: int = 1 * MIB
    max_span_size: int = 10 * MIB
    max_container_size: int = 12 * MIB
    max_statsd_size: int = 1 * MIB
    max_api_payload_size: int = 20 * MIB  # the JSON body of every /stub/api/ and web-API write
    # The stub's own, so that no client can stall the others (not Relay settings):
    max_in_flight_size: int = 256 * MIB  # request bodies held at once, all requests (budget.py)
    body_timeout: int = 60  # seconds for a whole ingest request body to arrive (else 408)
    header_timeout: int = 10  # seconds from a request's first byte to its last header


@dataclass(frozen=True)
class Scrubbing:
    """A project's data-scrubbing settings, named as on Sentry's Security & Privacy page."""

    scrub_data: bool = True
    scrub_defaults: bool = True
    sensitive_fields: tuple[str, ...] = ()
    exclude_fields: tuple[str, ...] = ()
    scrub_ip_addresses: bool = False


@dataclass(frozen=True)
class Ownership:
    """A project's ownership rules (spec §6): the parsed rules and the text they came from."""

    rules: tuple[OwnershipRule, ...] = ()
    text: str = ""
    fallthrough: bool = True
    auto_assignment: bool = True


@dataclass(frozen=True)
class ProjectRules:
    """The rules that apply to one project."""

    alerts: tuple[IssueAlertRule, ...] = ()
    metric_alerts: tuple[MetricAlertRule, ...] = ()
    ownership: Ownership = field(default_factory=Ownership)


@dataclass(frozen=True)
class Project:
    id: int
    slug: str
    keys: tuple[str, ...]
    scrubbing: Scrubbing = field(default_factory=Scrubbing)
    rules: ProjectRules = field(default_factory=ProjectRules)  # alerts and ownership
    forward_to: str | None = None  # the upstream DSN its envelopes are forwarded to

    def dsn(self, base_url: str) -> str:
        scheme, _, host = base_url.partition("://")
        return f"{scheme}://{self.keys[0]}@{host.rstrip('/')}/{self.id}"


def generated_key(seed: str) -> str:
    """A stable 32-hex public key for ``seed`` (so a project's open-mode DSN never changes)."""
    return hashlib.md5(seed.encode(), usedforsecurity=False).hexdigest()
