"""Settings: where to listen, where to store, and which projects exist (TOML file + environment).

Without a config file the server runs in *open mode*: any key and any numeric project id is
accepted and the project is created on first use. A config that lists ``[[projects]]`` switches
to *strict mode*, where unknown keys and project ids are refused as Relay refuses them.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .forwarding.upstream import Upstream
from .ingest.faults import FaultRule, faults_from_config
from .ingest.guard import ANY_HOST, HostAllowList, HostNameError, allowed_host_name
from .rules.config import RULES_KEYS, RulesConfig, parse_rules
from .settings.validation import ConfigError, boolean, check_keys, strings, table
from .settings.values import Limits, Project, Scrubbing

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8990
DEFAULT_DB = "sentry-stub.sqlite3"

PUBLIC_KEY = re.compile(r"^[0-9a-f]{32}$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    db: str = DEFAULT_DB
    projects: tuple[Project, ...] = ()
    limits: Limits = field(default_factory=Limits)
    # Scrubbing applied to projects created on first use in open mode.
    default_scrubbing: Scrubbing = field(default_factory=Scrubbing)
    # Fault rules active from the start (``[[faults]]``; see ingest/faults.py).
    faults: tuple[FaultRule, ...] = ()
    # Alert and ownership rules of every project (open-mode projects pick theirs by slug).
    rules: RulesConfig = field(default_factory=RulesConfig)
    # Host names the web UI and APIs answer to besides loopback and the bound address; ``*``: any.
    allowed_hosts: tuple[str, ...] = ()
    # Bearer tokens the web API takes in strict mode, besides org tokens made for this server.
    auth_tokens: tuple[str, ...] = ()
    # The upstream DSN every project's envelopes are forwarded to (a project's own overrides it).
    forward_to: str | None = None

    @property
    def strict(self) -> bool:
        return bool(self.projects)

    @property
    def host_allow_list(self) -> HostAllowList:
        return HostAllowList.for_server(self.host, self.allowed_hosts)

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"


def load_settings(
    *,
    host: str | None = None,
    port: int | None = None,
    db: str | None = None,
    config: str | None = None,
    allowed_hosts: Sequence[str] = (),
    forward_to: str | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Settings from arguments, else ``SENTRY_STUB_*`` variables, else the TOML file.

    Lists add up instead: allowed hosts and tokens from the file, the variable and the flags.
    """
    env = os.environ if environ is None else environ
    config = config or env.get("SENTRY_STUB_CONFIG") or None
    settings = load_config_file(config) if config else Settings()
    overrides: dict[str, Any] = {}
    for name, value, convert in (
        ("host", host or env.get("SENTRY_STUB_HOST"), str),
        ("port", port or env.get("SENTRY_STUB_PORT"), _port),
        ("db", db or env.get("SENTRY_STUB_DB"), str),
        ("forward_to", forward_to or env.get("SENTRY_STUB_FORWARD_TO"), _forward_dsn),
    ):
        if value not in (None, ""):
            overrides[name] = convert(value)
    hosts = (
        *settings.allowed_hosts,
        *_host_names(
            _comma_list(env.get("SENTRY_STUB_ALLOWED_HOSTS")), "SENTRY_STUB_ALLOWED_HOSTS"
        ),
        *_host_names(allowed_hosts, "--allowed-host"),
    )
    tokens = (*settings.auth_tokens, *_comma_list(env.get("SENTRY_STUB_AUTH_TOKENS")))
    settings = replace(settings, **overrides, allowed_hosts=hosts, auth_tokens=tokens)
    _check_not_forwarding_to_itself(settings)
    return settings


def load_config_file(path: str) -> Settings:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, f"config file {path!r} does not exist") from None
    except UnicodeDecodeError as error:  # TOML is UTF-8 by definition
        raise ConfigError(
            path,
            f"config file {path!r} is not UTF-8: byte 0x{error.object[error.start]:02x} "
            f"at offset {error.start}",
        ) from None
    except OSError as error:
        raise ConfigError(path, f"config file {path!r} cannot be read: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, f"config file {path!r} is not valid TOML: {error}") from None
    return parse_config(data, path=path)


def parse_config(data: dict[str, Any], *, path: str | None = None) -> Settings:
    """Validate a parsed TOML document; unknown keys are errors that name the key."""
    check_keys(data, {"server", "limits", "scrubbing", "projects", "faults", *RULES_KEYS}, "")
    server = table(data.get("server", {}), "server.")
    check_keys(server, {"host", "port", "db", "allowed_hosts", "auth_tokens"}, "server.")
    if "allowed_hosts" in server:
        hosts = strings(server["allowed_hosts"], "server.allowed_hosts")
        server = {**server, "allowed_hosts": _host_names(hosts, "server.allowed_hosts")}
    if "auth_tokens" in server:
        server = {**server, "auth_tokens": strings(server["auth_tokens"], "server.auth_tokens")}
    limits = _dataclass_from(Limits, data.get("limits", {}), "limits.")
    default_scrubbing = _scrubbing(data.get("scrubbing", {}), "scrubbing.", Scrubbing())
    if not isinstance(data.get("projects", []), list):
        raise ConfigError("projects", "projects must be an array of tables ([[projects]])")
    projects = tuple(
        _project(entry, f"projects[{index}].", default_scrubbing)
        for index, entry in enumerate(data.get("projects", []))
    )
    _check_unique(projects)
    faults = faults_from_config(data.get("faults", []), projects)
    rules = parse_rules(data)
    if projects:
        rules.check_projects(p.slug for p in projects)
    projects = tuple(replace(p, rules=rules.for_project(p.slug)) for p in projects)
    settings = Settings(
        projects=projects,
        limits=limits,
        default_scrubbing=default_scrubbing,
        faults=faults,
        rules=rules,
    )
    if "port" in server:
        server = {**server, "port": _port(server["port"])}
    return replace(settings, **server)


def _project(entry: Any, where: str, default_scrubbing: Scrubbing) -> Project:
    check_keys(table(entry, where), {"slug", "id", "keys", "scrubbing", "forward_to"}, where)
    for required in ("slug", "id", "keys"):
        if required not in entry:
            raise ConfigError(f"{where}{required}", f"{where}{required} is required")
    slug, project_id, keys = entry["slug"], entry["id"], entry["keys"]
    if not isinstance(slug, str) or not SLUG.match(slug):
        raise ConfigError(
            f"{where}slug", f"{where}slug {slug!r} must be lowercase letters, digits, - or _"
        )
    if not isinstance(project_id, int) or isinstance(project_id, bool) or project_id < 1:
        raise ConfigError(f"{where}id", f"{where}id must be a positive integer")
    if isinstance(keys, str):
        keys = [keys]
    if not isinstance(keys, list) or not keys:
        raise ConfigError(f"{where}keys", f"{where}keys must be a non-empty list of public keys")
    for key in keys:
        if not isinstance(key, str) or not PUBLIC_KEY.match(key):
            raise ConfigError(
                f"{where}keys",
                f"{where}keys: {key!r} is not a public key (32 hex characters, as Relay expects)",
            )
    scrubbing = _scrubbing(entry.get("scrubbing", {}), f"{where}scrubbing.", default_scrubbing)
    forward_to = entry.get("forward_to")
    if forward_to is not None:
        forward_to = _forward_dsn(forward_to, f"{where}forward_to")
    return Project(
        id=project_id, slug=slug, keys=tuple(keys), scrubbing=scrubbing, forward_to=forward_to
    )


def _scrubbing(data: Any, where: str, base: Scrubbing) -> Scrubbing:
    values = _fields_from(Scrubbing, data, where)
    for name in ("sensitive_fields", "exclude_fields"):
        if name in values:
            values[name] = strings(values[name], f"{where}{name}")
    for name in ("scrub_data", "scrub_defaults", "scrub_ip_addresses"):
        if name in values:
            boolean(values[name], f"{where}{name}")
    return replace(base, **values)


def _dataclass_from(cls: type, data: Any, where: str) -> Any:
    values = _fields_from(cls, data, where)
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(
                f"{where}{name}", f"{where}{name} must be a non-negative integer (bytes or a count)"
            )
    return cls(**values)


def _fields_from(cls: type, data: Any, where: str) -> dict[str, Any]:
    check_keys(table(data, where), {f.name for f in fields(cls)}, where)
    return dict(data)


def _check_unique(projects: tuple[Project, ...]) -> None:
    seen_ids: set[int] = set()
    seen_slugs: set[str] = set()
    seen_keys: set[str] = set()
    for project in projects:
        if project.id in seen_ids:
            raise ConfigError("projects", f"project id {project.id} is listed twice")
        if project.slug in seen_slugs:
            raise ConfigError("projects", f"project slug {project.slug!r} is listed twice")
        for key in project.keys:
            if key in seen_keys:
                raise ConfigError("projects", f"public key {key} belongs to two projects")
            seen_keys.add(key)
        seen_ids.add(project.id)
        seen_slugs.add(project.slug)


def _comma_list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _host_names(names: Sequence[str], where: str) -> tuple[str, ...]:
    """Allowed host names, each checked (``*`` stays as it is: it turns the check off)."""
    try:
        return tuple(name if name == ANY_HOST else allowed_host_name(name) for name in names)
    except HostNameError as error:
        raise ConfigError(where, f"{where}: {error}") from None


def _forward_dsn(value: Any, where: str = "--forward-to") -> str:
    """An upstream DSN, checked where it is configured (``--forward-to`` or a project's)."""
    try:
        return Upstream.from_dsn(value).dsn
    except ValueError as error:
        raise ConfigError(where, f"{where}: {error}") from None


def _check_not_forwarding_to_itself(settings: Settings) -> None:
    """A stub that forwarded to its own address would receive each envelope again, forever."""
    own = {f"{name}:{settings.port}" for name in ("127.0.0.1", "localhost", settings.host)}
    targets = [("--forward-to", settings.forward_to)] + [
        (f"project {p.slug!r} forward_to", p.forward_to) for p in settings.projects
    ]
    for where, dsn in targets:
        if dsn is not None and Upstream.from_dsn(dsn).address in own:
            raise ConfigError(where, f"{where} {dsn!r} is this server itself: it would loop")


def _port(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ConfigError("port", f"port {value!r} is not a whole number")
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise ConfigError("port", f"port {value!r} is not a number") from None
    if not 0 <= port <= 65535:
        raise ConfigError("port", f"port {port} is out of range 0-65535")
    return port
