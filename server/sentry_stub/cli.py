"""The ``sentry-stub`` command: serve, print DSNs, and ask the query API from a shell."""

from __future__ import annotations

import argparse
import datetime
import errno
import math
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson

from . import __version__
from .checks.text import pii_text, releases_text, sampling_text, sourcemaps_text
from .cli_transfer import add_transfer_commands
from .client import StubApiError, StubClient, StubConnectionError
from .config import DEFAULT_HOST, DEFAULT_PORT, ConfigError, Settings, load_settings
from .query.errors import QuerySyntaxError
from .records import Event
from .storage.forward_queue import public_dsn
from .storage.preflight import UnusableDatabase
from .webapi.auth import mint_org_token

DEFAULT_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
EVENT_COLUMNS = (
    "received",
    "project",
    "type",
    "level",
    "environment",
    "release",
    "event_id",
    "title",
)
# `events --follow`: room for typical values, so rows printed later line up with the first.
FOLLOW_WIDTHS = {
    "project": 16,
    "type": 11,
    "level": 7,
    "environment": 11,
    "release": 20,
    "event_id": 32,
}
FOLLOW_POLL_SECONDS = 10.0
FOLLOW_BATCH = 1000


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except ConfigError as error:
        print(f"sentry-stub: config error: {error}", file=sys.stderr)
        return 2
    except UnusableDatabase as error:
        print(f"sentry-stub: {error}", file=sys.stderr)
        return 2
    except StubApiError as error:
        print(f"sentry-stub: {error.detail}", file=sys.stderr)
        return 1
    except QuerySyntaxError as error:  # exit 1 like every refused request
        print(f"sentry-stub: {error}", file=sys.stderr)
        return 1
    except StubConnectionError as error:
        print(
            f"sentry-stub: {error}. Start it with `sentry-stub serve`, "
            "or point --url / SENTRY_STUB_URL at it",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        return 130  # the shell's status for "ended by SIGINT"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentry-stub", description="A local, Sentry-compatible ingest server for testing."
    )
    parser.add_argument("--version", action="version", version=f"sentry-stub {__version__}")
    commands = parser.add_subparsers(title="commands")

    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument(
        "--host", help=f"address to bind (default {DEFAULT_HOST}; env SENTRY_STUB_HOST)"
    )
    serve.add_argument(
        "--port", type=int, help=f"port (default {DEFAULT_PORT}; env SENTRY_STUB_PORT)"
    )
    serve.add_argument(
        "--db", help="SQLite file (default ./sentry-stub.sqlite3; env SENTRY_STUB_DB)"
    )
    serve.add_argument("--config", help="TOML config file (env SENTRY_STUB_CONFIG)")
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name the web UI and APIs answer to besides localhost and the bound address, "
        "any port (repeatable; env SENTRY_STUB_ALLOWED_HOSTS, comma-separated; '*' turns the "
        "check off). Ingest answers every host.",
    )
    serve.add_argument(
        "--forward-to",
        metavar="DSN",
        help="forward every accepted envelope to this upstream DSN after storing it "
        "(env SENTRY_STUB_FORWARD_TO; a project's forward_to in the config overrides it)",
    )
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(run=_serve)

    dsn = commands.add_parser("dsn", help="print the DSN of a project (default: all projects)")
    dsn.add_argument("project", nargs="?", help="project slug (created on first use in open mode)")
    _add_url(dsn)
    dsn.set_defaults(run=_dsn)

    query = commands.add_parser(
        "query", help="run a Discover query, e.g. 'event.type:error | count() by transaction'"
    )
    query.add_argument("query", help="SEARCH [| AGGREGATES [by FIELDS]] [| sort by FIELD DESC]")
    _add_url(query)
    query.add_argument("--project", help="project slug or id")
    query.add_argument("--json", action="store_true", help="print JSON instead of a table")
    query.set_defaults(run=_query)

    events = commands.add_parser("events", help="list events matching a search, newest first")
    events.add_argument("search", nargs="?", default="", help="Sentry search syntax")
    _add_url(events)
    events.add_argument("--project", help="project slug or id")
    events.add_argument(
        "--limit", type=_positive, default=50, help="how many events to show (default 50)"
    )
    order = events.add_mutually_exclusive_group()
    order.add_argument(
        "--oldest", action="store_true", help="the oldest events first instead of the newest"
    )
    order.add_argument(
        "--follow",
        action="store_true",
        help="after the newest events (oldest of them first), print new ones as they arrive, "
        "until Ctrl-C",
    )
    events.add_argument(
        "--json",
        action="store_true",
        help="print JSON instead of a table (one line per event with --follow)",
    )
    events.set_defaults(run=_events)

    reset = commands.add_parser(
        "reset", help="delete everything the server received (projects and config stay)"
    )
    _add_url(reset)
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    reset.set_defaults(run=_reset)

    alerts = commands.add_parser("alerts", help="list the alert rules that fired, and why")
    _add_url(alerts)
    alerts.add_argument("--project", help="project slug or id")
    alerts.add_argument(
        "--evaluate", action="store_true", help="recompute metric alerts first (as of now)"
    )
    alerts.add_argument("--json", action="store_true", help="print JSON instead of a table")
    alerts.set_defaults(run=_alerts)

    token = commands.add_parser(
        "token",
        help="print an org auth token (sntrys_) that points sentry-cli at this server",
        description="sentry-cli sends requests to the URL and organization inside an org auth "
        "token, whatever SENTRY_URL and SENTRY_ORG say: use this token as SENTRY_AUTH_TOKEN.",
    )
    token.add_argument(
        "--org",
        default=os.environ.get("SENTRY_ORG", "sentry"),
        help="organization slug (default: env SENTRY_ORG, else 'sentry')",
    )
    _add_url(token)
    token.set_defaults(run=_token)

    _add_check_commands(commands)
    add_transfer_commands(commands, _add_url, format_table)
    return parser


def _add_check_commands(commands: Any) -> None:
    """``sentry-stub check pii|sampling|releases|sourcemaps``: exit status 1 when it fails."""
    check = commands.add_parser(
        "check", help="check what arrived for PII leaks, sample rates, release naming, source maps"
    )
    checks = check.add_subparsers(title="checks", required=True)

    pii = checks.add_parser("pii", help="values Sentry's default scrubbers would remove")
    pii.add_argument(
        "--allow",
        action="append",
        default=[],
        help="accepted path, prefix or glob, e.g. user.ip_address (repeatable)",
    )
    pii.add_argument(
        "--include",
        action="append",
        default=[],
        help="check only these paths, prefixes or globs, e.g. request (repeatable)",
    )
    pii.add_argument(
        "--scope",
        default="app",
        choices=["app", "all"],
        help="app (default) leaves out library frames' variables; all checks every value",
    )
    pii.set_defaults(run=_check_pii)

    sampling = checks.add_parser("sampling", help="observed vs. configured sample rate")
    sampling.add_argument("expected", type=float, help="the configured rate, e.g. 0.1")
    sampling.add_argument(
        "--category", default="transaction", choices=["transaction", "profile", "error"]
    )
    sampling.add_argument("--confidence", type=float, default=0.99)
    sampling.set_defaults(run=_check_sampling)

    releases = checks.add_parser("releases", help="release naming and allowed environments")
    releases.add_argument(
        "--environments",
        help="comma-separated allowed environments (default development,staging,production)",
    )
    releases.add_argument(
        "--pattern",
        help="regex a release must match in full; {project} stands for the project slug "
        "(default <package>@<version> or a git SHA)",
    )
    releases.set_defaults(run=_check_releases)

    sourcemaps = checks.add_parser(
        "sourcemaps", help="would Sentry show JavaScript errors with their original source?"
    )
    sourcemaps.add_argument(
        "query", nargs="?", default="", help="a search picking the events (default: all)"
    )
    sourcemaps.set_defaults(run=_check_sourcemaps)

    for parser in (pii, sampling, releases, sourcemaps):
        _add_url(parser)
        parser.add_argument("--project", help="project slug or id")
        parser.add_argument(
            "--after", type=int, default=0, help="only what arrived after this receive cursor"
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")


def _add_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        type=_server_url,
        default=os.environ.get("SENTRY_STUB_URL", DEFAULT_URL),
        help=f"the running server (default {DEFAULT_URL}; env SENTRY_STUB_URL)",
    )


def _server_url(text: str) -> str:
    """``--url`` (or SENTRY_STUB_URL) checked as an argument, before anything is sent."""
    try:
        return StubClient(text).url
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _serve(args: argparse.Namespace) -> int:
    from .server import bind, serve

    settings = load_settings(
        host=args.host,
        port=args.port,
        db=args.db,
        config=args.config,
        allowed_hosts=args.allowed_host,
        forward_to=args.forward_to,
    )
    try:
        settings, sock = bind(settings)
    except OSError as error:
        if error.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            raise
        print(
            f"sentry-stub: cannot listen on {settings.host}:{settings.port}: {error.strerror}. "
            "Choose another address with --port / SENTRY_STUB_PORT or --host / SENTRY_STUB_HOST",
            file=sys.stderr,
        )
        return 2
    serve(settings, sock, log_level=args.log_level, on_ready=_announce)
    return 0


def _announce(settings: Settings, app: Any) -> None:
    mode = "strict (projects from config)" if settings.strict else "open (any key, any project)"
    print(f"sentry-stub {__version__} on {settings.base_url}, database {settings.db}")
    print(f"mode: {mode}")
    for project in app.projects.all():
        print(f"  {project.slug:<28} SENTRY_DSN={project.dsn(settings.base_url)}")
    for project in app.projects.all():
        if project.forward_to:
            print(f"forwarding {project.slug} to {public_dsn(project.forward_to)}")
    if settings.forward_to:
        print(f"forwarding (all other projects) to {public_dsn(settings.forward_to)}")
    print(f"web UI:    {settings.base_url}/")
    print(f"query API: {settings.base_url}/stub/api/openapi.json")
    hosts = settings.host_allow_list
    if hosts.any_host:
        print(
            "WARNING: --allowed-host '*' turns the Host check off: any web page whose name "
            "resolves to this machine can read the stub (DNS rebinding)"
        )
    else:
        names = ", ".join(sorted(hosts.names))
        print(f"allowed hosts (web UI and APIs; ingest answers any): {names}")
    sys.stdout.flush()


def _dsn(args: argparse.Namespace) -> int:
    client = StubClient(args.url)
    if args.project:
        print(client.project(args.project)["dsn"])
    else:
        for project in client.projects():
            print(f"{project['slug']}\t{project['dsn']}")
    return 0


def _query(args: argparse.Namespace) -> int:
    result = StubClient(args.url).pipe_query(args.query, project=args.project)
    if args.json:
        print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
        return 0
    fields = result["request"]["fields"]
    print(format_table(fields, [[row.get(f) for f in fields] for row in result["data"]]))
    _print_warnings(result["warnings"])
    return 0


def _events(args: argparse.Namespace) -> int:
    client = StubClient(args.url)
    if args.follow:
        return _follow_events(client, args)
    order = "asc" if args.oldest else "desc"
    events = client.events(args.search, project=args.project, limit=args.limit, order=order)
    _print_warnings(events.warnings)
    if args.json:
        print(orjson.dumps(events, option=orjson.OPT_INDENT_2).decode())
        return 0
    print(format_table(EVENT_COLUMNS, [_event_row(Event(record)) for record in events]))
    return 0


def _print_warnings(warnings: Sequence[str]) -> None:
    """Query warnings go to stderr, so a table or ``--json`` on stdout stays clean."""
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def _follow_events(client: StubClient, args: argparse.Namespace) -> int:
    """Print the newest events, then each new one as it arrives, until Ctrl-C (status 0)."""
    print_events = _json_lines if args.json else _FollowTable().print
    try:
        after = client.cursor()
        newest = client.events(args.search, project=args.project, limit=args.limit, order="desc")
        newest.reverse()  # oldest first, so that new events continue the list downwards
        _print_warnings(newest.warnings)
        print_events(newest)
        after = max([after, *(record["item_id"] for record in newest)])
        print("following new events (Ctrl-C to stop)", file=sys.stderr, flush=True)
        while True:
            cursor = client.wait(after=after, timeout=FOLLOW_POLL_SECONDS)
            if cursor < after:  # item ids start again after a reset
                print("the server was reset", file=sys.stderr, flush=True)
                after = 0
            if cursor == after:
                continue
            batch = client.events(
                args.search, after=after, project=args.project, limit=FOLLOW_BATCH
            )
            print_events(batch)
            item_ids = [record["item_id"] for record in batch]
            # A full batch may leave more behind it; otherwise what arrived since the wait
            # answered is printed already, so it must not come again.
            after = item_ids[-1] if len(batch) == FOLLOW_BATCH else max([cursor, *item_ids])
    except KeyboardInterrupt:
        return 0


def _json_lines(records: Iterable[dict]) -> None:
    for record in records:
        print(orjson.dumps(record).decode())
    sys.stdout.flush()


class _FollowTable:
    """The events table printed a few rows at a time: one header, then lined-up rows."""

    def __init__(self) -> None:
        self.widths: list[int] | None = None

    def print(self, records: Iterable[dict]) -> None:
        cells = [_cells(_event_row(Event(record))) for record in records]
        if self.widths is None:
            natural = _widths(EVENT_COLUMNS, cells)
            self.widths = [
                max(width, FOLLOW_WIDTHS.get(column, 0))
                for column, width in zip(EVENT_COLUMNS, natural, strict=True)
            ]
            print(*_header(EVENT_COLUMNS, self.widths), sep="\n")
        for row in cells:
            print(_line(row, self.widths))
        sys.stdout.flush()


def _event_row(event: Event) -> list[Any]:
    """One event as the table shows it: through ``Event``, as the server indexed it (what the
    search matched)."""
    return [
        _time(event.received_at),
        event.project,
        event.type,
        event.level,
        event.environment,
        event.release,
        event.event_id,
        event.title,
    ]


def _reset(args: argparse.Namespace) -> int:
    question = f"Delete everything sentry-stub at {args.url} has received? [y/N] "
    if not args.yes and not _confirmed(question):
        print("sentry-stub: reset cancelled (--yes skips the question)", file=sys.stderr)
        return 1
    StubClient(args.url).reset()
    print(f"reset {args.url}: no envelopes, events or issues are left; projects stay")
    return 0


def _confirmed(question: str) -> bool:
    try:
        answer = input(question)
    except EOFError:  # no one to answer (stdin closed or not a terminal)
        print(file=sys.stderr)
        return False
    return answer.strip().lower() in ("y", "yes")


def _alerts(args: argparse.Namespace) -> int:
    client = StubClient(args.url)
    if args.evaluate:
        client.evaluate_alerts(project=args.project)
    fired = client.alerts(project=args.project)
    if args.json:
        print(orjson.dumps(fired, option=orjson.OPT_INDENT_2).decode())
        return 0
    columns = ["fired", "project", "rule", "status", "subject", "actions", "why"]
    rows = [
        [
            _time(alert["fired_at"]),
            alert["project"],
            alert["rule"],
            alert["status"],
            (alert.get("issue") or {}).get("short_id") or alert["value"],
            ", ".join(f"{a['kind']} {a['delivery']['status']}" for a in alert["actions"]),
            "; ".join(alert["reasons"]),
        ]
        for alert in fired
    ]
    print(format_table(columns, rows))
    return 0


def _check_pii(args: argparse.Namespace) -> int:
    client = StubClient(args.url)
    report = client.check_pii(
        after=args.after,
        project=args.project,
        allow=args.allow,
        include=args.include,
        scope=args.scope,
    )
    return _print_check(args, report, pii_text)


def _check_sampling(args: argparse.Namespace) -> int:
    report = StubClient(args.url).check_sampling(
        args.expected,
        category=args.category,
        confidence=args.confidence,
        after=args.after,
        project=args.project,
    )
    return _print_check(args, report, sampling_text)


def _check_releases(args: argparse.Namespace) -> int:
    environments = [e for e in (args.environments or "").split(",") if e]
    report = StubClient(args.url).check_releases(
        environments=environments, pattern=args.pattern, after=args.after, project=args.project
    )
    return _print_check(args, report, releases_text)


def _check_sourcemaps(args: argparse.Namespace) -> int:
    report = StubClient(args.url).check_sourcemaps(
        args.query, after=args.after, project=args.project
    )
    _print_warnings(report["warnings"])
    return _print_check(args, report, sourcemaps_text)


def _token(args: argparse.Namespace) -> int:
    print(mint_org_token(args.url, args.org))
    return 0


def _print_check(args: argparse.Namespace, report: dict, as_text: Callable[[dict], str]) -> int:
    if args.json:
        print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    else:
        print(as_text(report))
    return 0 if report["passed"] else 1


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table; numbers rounded for reading, values cut to 60 characters."""
    cells = [_cells(row) for row in rows]
    widths = _widths(columns, cells)
    lines = [*_header(columns, widths), *(_line(row, widths) for row in cells)]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)


def _cells(row: Sequence[Any]) -> list[str]:
    return [_cell(value) for value in row]


def _widths(columns: Sequence[str], cells: Sequence[Sequence[str]]) -> list[int]:
    return [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]


def _header(columns: Sequence[str], widths: Sequence[int]) -> list[str]:
    return [_line(columns, widths), "  ".join("-" * w for w in widths)]


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return _number(value)
    text = "" if value is None else str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value: float) -> str:
    """Two decimals (durations in ms), or three significant digits below 1 (rates, apdex)."""
    if not math.isfinite(value):
        return str(value)
    text = f"{value:.2f}" if abs(value) >= 1 else f"{value:.3g}"
    if "." in text and "e" not in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _positive(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {number}")
    return number


def _time(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime("%H:%M:%S")
