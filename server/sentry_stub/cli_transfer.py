"""``sentry-stub forwards / replay / export / import``: data on its way to another server.

Registered by ``cli.py``, which hands in its ``--url`` option and its table printer.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from .client import StubClient
from .exports import ExportFileError, export_pages, import_export, write_export
from .forwarding.replay import Summary, replay
from .forwarding.upstream import Upstream
from .storage.forward_queue import STATES

Table = Callable[[Sequence[str], Sequence[Sequence[Any]]], str]


def add_transfer_commands(
    commands: Any, add_url: Callable[[argparse.ArgumentParser], None], table: Table
) -> None:
    forwards = commands.add_parser(
        "forwards", help="what was forwarded upstream: pending, sent (with status), dropped (why)"
    )
    add_url(forwards)
    forwards.add_argument("--project", help="project slug or id")
    forwards.add_argument("--state", choices=STATES, help="only envelopes in this state")
    forwards.add_argument("--json", action="store_true", help="print JSON instead of a table")
    forwards.set_defaults(run=partial(_forwards, table=table))

    replay_ = commands.add_parser(
        "replay", help="send stored envelopes again, in receive order, to the DSN --to"
    )
    replay_.add_argument(
        "query", nargs="?", default="", help="only envelopes with an event this search matches"
    )
    replay_.add_argument("--to", required=True, type=_upstream, metavar="DSN", help="target DSN")
    replay_.add_argument("--project", help="project slug or id")
    replay_.add_argument(
        "--new-ids", action="store_true", help="give each event a new event id on the way"
    )
    add_url(replay_)
    replay_.set_defaults(run=_replay)

    export = commands.add_parser(
        "export", help="write stored envelopes and their receive facts to a file"
    )
    export.add_argument(
        "query", nargs="?", default="", help="only envelopes with an event this search matches"
    )
    export.add_argument("--project", help="project slug or id")
    export.add_argument("--out", required=True, type=Path, metavar="FILE", help="file to write")
    add_url(export)
    export.set_defaults(run=_export)

    import_ = commands.add_parser(
        "import", help="store the envelopes of an export file in this server"
    )
    import_.add_argument("file", type=Path, help="a file written by `sentry-stub export`")
    add_url(import_)
    import_.set_defaults(run=_import)


def _upstream(text: str) -> Upstream:
    try:
        return Upstream.from_dsn(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _forwards(args: argparse.Namespace, table: Table) -> int:
    result = StubClient(args.url).forwards(project=args.project, state=args.state, limit=10000)
    if args.json:
        print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
        return 0
    columns = ["envelope", "project", "event_id", "state", "status", "attempts", "reason"]
    rows = [
        [
            row["envelope_id"],
            row["project"],
            row["event_id"],
            row["state"],
            row["status"],
            row["attempts"],
            row["reason"],
        ]
        for row in result["data"]
    ]
    print(table(columns, rows))
    counts = result["counts"]
    print(", ".join(f"{counts[state]} {state}" for state in STATES))
    return 0


def _replay(args: argparse.Namespace) -> int:
    client = StubClient(args.url)
    records = export_pages(client, args.query, project=args.project)
    summary = replay(records, args.to, new_ids=args.new_ids, progress=_progress)
    print(file=sys.stderr)  # ends the progress line
    print(
        f"replayed {summary.total} envelope(s) from {client.url} to {args.to.envelope_url}: "
        f"{summary.sent} accepted, {len(summary.failed)} not accepted"
    )
    for failure in summary.failed:
        print(f"  {failure}")
    return 1 if summary.failed else 0


def _progress(summary: Summary) -> None:
    print(
        f"\rreplaying: {summary.total} sent, {len(summary.failed)} not accepted",
        end="",
        file=sys.stderr,
        flush=True,
    )


def _export(args: argparse.Namespace) -> int:
    client = StubClient(args.url)
    count = write_export(client, args.out, args.query, project=args.project)
    print(f"exported {count} envelope(s) from {client.url} to {args.out}")
    return 0


def _import(args: argparse.Namespace) -> int:
    client = StubClient(args.url)
    try:
        count = import_export(client, args.file, progress=_import_progress)
    except ExportFileError as error:
        print(f"sentry-stub: {error}", file=sys.stderr)
        return 2
    print(file=sys.stderr)
    print(f"imported {count} envelope(s) from {args.file} into {client.url}")
    return 0


def _import_progress(done: int, total: int) -> None:
    print(f"\rimporting: {done}/{total}", end="", file=sys.stderr, flush=True)
