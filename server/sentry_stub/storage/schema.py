"""The SQLite schema: one table per kind of thing a test asks about, created idempotently.

Every table and index is declared once in ``TABLES``; ``migrate`` creates what is missing and
drops the indexes no longer declared, so opening a database again changes nothing.

Indexes are the ones the query plans use (``tests/test_index_usage.py`` runs the reads of a test
suite and of the query benchmark and fails on an index no plan takes). Each costs every derived
envelope its upkeep, so those that no plan takes are not kept: the query engine reaches tags
through ``item_id``, compares transaction names and span trace ids through ``coalesce``, and
scopes reads by ``item_id`` ranges, which SQLite prefers over the project and timestamp indexes
that once stood beside them; projects and keys are read whole, and issue alerts' firings by
rule and issue. Receive order is the ``items.id`` sequence: a per-test view is "items with id
greater than a cursor"."""

from __future__ import annotations

import sqlite3

import sqlite_utils

from ..protocol.tables import DERIVED_TABLES, Index, Table
from . import packing

SCHEMA_VERSION = 1
INT64_MAX = 2**63 - 1  # the largest INTEGER SQLite stores: ids and counts past it are refused
DERIVED_THROUGH = "derived_through"  # meta key: the last envelope whose rows exist (watermark.py)

# Every table in creation order; column types are SQLite affinities. The derived row tables
# (spans, outcomes, ...) are declared with their row types in protocol/tables.py.
_DECLARED: tuple[Table, ...] = (
    Table(
        "projects",
        {"id": int, "slug": str, "created_at": float},
    ),
    Table(
        "project_keys",
        {"public_key": str, "project_id": int},
        primary_key="public_key",
    ),
    # The envelope as received (after decompression); `raw` unpacks byte-exact (see packing.py).
    # Acknowledging stores only this row; the rows below are derived later (processing/).
    Table(
        "envelopes",
        {
            "id": int,
            "received_at": float,
            "project_id": int,
            "endpoint": str,
            "event_id": str,
            "headers": str,  # JSON
            "raw": bytes,
            "raw_encoding": str,  # NULL: raw is the envelope itself; "zstd": compressed
            "notes": str,  # JSON list of protocol notes, or NULL
            "public_key": str,
            "client": str,
            "remote_addr": str,
            "dropped_items": str,  # JSON list of the item indexes a fault rule kept out, or NULL
        },
        indexes=(Index(("project_id", "id")),),
        received=True,
    ),
    # The envelopes to forward upstream and how far each got (forward_queue.py).
    Table(
        "forwards",
        {
            "envelope_id": int,
            "project_id": int,
            "target": str,  # the upstream's DSN
            "state": str,  # pending, sent, dropped
            "status": int,  # the upstream's last HTTP status
            "reason": str,  # the last failure, or why it was dropped
            "attempts": int,
            "next_attempt_at": float,
            "updated_at": float,
        },
        primary_key="envelope_id",
        indexes=(Index(("state", "project_id", "envelope_id")),),
        received=True,
    ),
    # One row per item. The payload is the slice raw[payload_offset : payload_offset+length]
    # of its envelope when it came from one, else stored in `payload` (built items).
    Table(
        "items",
        {
            "id": int,
            "envelope_id": int,
            "project_id": int,
            "received_at": float,
            "idx": int,
            "type": str,
            "headers": str,  # JSON
            "payload_offset": int,
            "length": int,
            "payload": bytes,
            "content_type": str,
            "filename": str,
            "attachment_type": str,
            "event_id": str,
            "public_key": str,  # the sender's DSN key: the plugin's per-worker views filter on it
        },
        indexes=(Index(("envelope_id",)), Index(("type", "id")), Index(("public_key", "id"))),
        received=True,
    ),
    # Errors, default events, transactions, security reports, feedback: what Discover calls events.
    Table(
        "events",
        {
            "item_id": int,
            "project_id": int,
            "received_at": float,
            "event_id": str,
            "type": str,  # event.type: error, default, transaction, csp, feedback, ...
            "level": str,
            "release": str,
            "dist": str,
            "environment": str,
            "transaction_name": str,
            "transaction_op": str,
            "transaction_source": str,
            "platform": str,
            "logger": str,
            "server_name": str,
            "timestamp": float,
            "start_timestamp": float,
            "duration": float,  # milliseconds, transactions only
            "trace_id": str,
            "span_id": str,
            "parent_span_id": str,
            "trace_status": str,
            "user_id": str,
            "user_email": str,
            "user_ip": str,
            "user_username": str,
            "sdk_name": str,
            "sdk_version": str,
            "message": str,
            "exception_type": str,
            "exception_value": str,
            # Sentry's array columns: every exception's type and value, oldest first (JSON)
            "exception_types": str,
            "exception_values": str,
            "handled": int,
            "http_status_code": str,
            "http_method": str,
            "url": str,
            "browser_name": str,
            "os_name": str,
            "fingerprint": str,  # grouping hash (see processing/grouping)
            "data": str,  # event JSON as the SDK sent it, when it is not the item payload itself
            "stored": str,  # event JSON as Sentry would store it (Relay normalization + scrubbing)
            "stored_error": str,  # why `stored` is missing
            # 1 while a transaction's spans are not yet rows (made on the first read of spans:
            # processing/span_expansion.py); NULL once they are, and for every other event
            "spans_pending": int,
        },
        primary_key="item_id",
        indexes=(
            Index(("project_id", "item_id")),
            Index(("event_id",)),
            Index(("type", "item_id")),
            Index(("trace_id",)),
            Index(("release",)),
            Index(("environment",)),
            Index(("user_id",)),
            Index(("project_id", "fingerprint")),
            # Only transactions whose spans wait for their first read: small, and empty once
            # read (storage/pending_spans.py names it in INDEXED BY).
            Index(("item_id",), where="spans_pending = 1", name="events_spans_pending"),
        ),
        received=True,
    ),
    # Tags normalized to key/value pairs whichever form the SDK sent (object or list of pairs).
    Table(
        "tags",
        {"item_id": int, "key": str, "value": str},
        primary_key="",
        indexes=(Index(("item_id",)),),
        received=True,
    ),
    *DERIVED_TABLES,
    # Issues: events grouped by fingerprint per project (see processing/grouping).
    Table(
        "issues",
        {
            "id": int,
            "project_id": int,
            "fingerprint": str,
            "short_id": str,
            "status": str,  # unresolved or resolved
            "title": str,
            "culprit": str,
            "level": str,
            "type": str,
            "first_seen": float,
            "last_seen": float,
            "times_seen": int,
            "first_event_id": str,
            "last_event_id": str,
            "resolved_at": float,
        },
        indexes=(Index(("project_id", "fingerprint")),),
        received=True,
    ),
    # Alert rules that fired (issue alerts) or changed an incident's status (metric alerts).
    Table(
        "alert_firings",
        {
            "id": int,
            "fired_at": float,
            "project_id": int,
            "rule_kind": str,  # issue or metric
            "rule_name": str,
            "status": str,  # triggered; or critical, warning, resolved
            "issue_id": int,
            "item_id": int,
            "event_id": str,
            "item_cursor": int,  # receive cursor at firing: per-test views filter on it
            "value": float,
            "reasons": str,  # JSON list
            "context": str,  # JSON: issue or metric facts at firing time
            "actions": str,  # JSON list of the rule's actions
            "pending_deliveries": int,  # actions still to be posted after the commit
            "dispatched_at": float,
        },
        indexes=(Index(("rule_name", "issue_id")),),
        received=True,
    ),
    # What happened when an action was posted to its URL.
    Table(
        "action_results",
        {
            "id": int,
            "firing_id": int,
            "action_index": int,
            "kind": str,
            "url": str,
            "status": str,  # delivered or failed
            "attempts": int,
            "status_code": int,
            "error": str,
            "finished_at": float,
        },
        indexes=(Index(("firing_id",)),),
        received=True,
    ),
    # Each metric alert's incident status per project, with its run of breaching evaluations.
    Table(
        "metric_alert_state",
        {
            "key": str,  # "<project id>:<rule name>"
            "project_id": int,
            "rule_name": str,
            "status": str,
            "breaches": str,  # JSON {trigger label: consecutive breaches}
            "value": float,
            "updated_at": float,
        },
        primary_key="key",
        received=True,
    ),
    # The web API's releases (sentry-cli `releases new`); `date_released` is set on finalize.
    Table(
        "releases",
        {
            "id": int,
            "org": str,
            "version": str,
            "projects": str,  # JSON list of project slugs
            "date_created": str,  # RFC 3339, as the web API shows it
            "date_started": str,
            "date_released": str,
            "url": str,
            "ref": str,
            "status": str,  # open or archived
            "commits": str,  # JSON list, as `set-commits` sent them
            "refs": str,  # JSON list of {repository, commit, previousCommit}
        },
        indexes=(Index(("org", "version")),),
    ),
    Table(
        "deploys",
        {
            "id": int,
            "org": str,
            "version": str,
            "environment": str,
            "name": str,
            "url": str,
            "date_started": str,
            "date_finished": str,
            "projects": str,  # JSON list of project slugs
        },
        indexes=(Index(("org", "version")),),
    ),
    # Uploaded chunks (sentry-cli's chunk upload), keyed by their SHA-1.
    Table(
        "chunks",
        {"checksum": str, "size": int, "data": bytes, "created_at": float},
        primary_key="checksum",
    ),
    # Assembled artifact bundles (source maps); their files are rows of `release_files`.
    Table(
        "artifact_bundles",
        {
            "id": int,
            "org": str,
            "checksum": str,  # SHA-1 of the uploaded bundle
            "debug_id": str,  # the bundle's own debug id (manifest `debug_id`)
            "release": str,
            "dist": str,
            "projects": str,  # JSON list of project slugs
            "file_count": int,
            "size": int,
            "date_uploaded": str,
        },
        indexes=(Index(("org", "checksum")),),
    ),
    # Source files and source maps, from an artifact bundle or uploaded one by one (2.x).
    Table(
        "release_files",
        {
            "id": int,
            "org": str,
            "artifact_bundle_id": int,  # artifact_bundles.id; NULL for a file uploaded alone
            "release": str,
            "dist": str,
            "name": str,  # the URL, e.g. ~/static/js/app.min.js
            "type": str,  # source, minified_source, source_map, indexed_ram_bundle
            "debug_id": str,
            "sourcemap": str,  # the Sourcemap header: the map's URL relative to this file
            "headers": str,  # JSON object
            "size": int,
            "sha1": str,
            "content": bytes,
            "date_created": str,
        },
        indexes=(Index(("org", "release", "dist", "name")), Index(("debug_id",))),
    ),
    Table(
        "meta",
        {"key": str, "value": str},
        primary_key="key",
    ),
)
TABLES: dict[str, Table] = {table.name: table for table in _DECLARED}


def stored_integer(text: str) -> int | None:
    """``text`` as a whole number from 0 to ``INT64_MAX`` (ASCII digits only), else None."""
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= INT64_MAX else None


def connect(path: str) -> sqlite3.Connection:
    """A connection with the pragmas every reader and the writer use."""
    connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")  # acknowledged means on disk
    connection.execute("PRAGMA busy_timeout=10000")
    connection.execute("PRAGMA foreign_keys=OFF")
    # Checkpoint every 4,000 pages (16 MB of log), not SQLite's 1,000: the index pages that every
    # derived envelope touches are then copied into the database once for four times as many
    # commits (about 8% less work per envelope derived, measured).
    connection.execute("PRAGMA wal_autocheckpoint=4000")
    packing.register(connection)
    return connection


def migrate(connection: sqlite3.Connection) -> None:
    """Create missing tables and indexes, drop indexes no longer declared; safe to run on
    every start."""
    db = sqlite_utils.Database(connection)
    for declared in TABLES.values():
        table = db.table(declared.name)
        if not table.exists():
            table.create(dict(declared.columns), pk=declared.primary_key or None)
    _migrate_indexes(connection)
    db.table("meta").upsert({"key": "schema_version", "value": str(SCHEMA_VERSION)}, pk="key")
    # The derivation watermark starts at the newest envelope: 0 for a new database; a database
    # filled with rows outside the writer (the query benchmark's bulk load) counts as derived.
    connection.execute(
        "INSERT OR IGNORE INTO meta (key, value) "
        "SELECT ?, CAST(COALESCE(MAX(id), 0) AS TEXT) FROM envelopes",
        (DERIVED_THROUGH,),
    )


def _migrate_indexes(connection: sqlite3.Connection) -> None:
    """The declared indexes as declared, and none other of the stub's: one no longer declared is
    used by no query plan and costs every write its upkeep, so a database made before loses it,
    and one declared differently is made again (``INDEXED BY`` names rely on its condition).

    Only the stub's own indexes are touched: those on its tables, declared or named as it names
    them (``idx_<table>_...``). Keys and UNIQUE constraints are SQLite's own (no ``sql`` in
    ``sqlite_master``); an index someone added under another name stays.
    """
    wanted = {
        table.index_name(index): _create_index_sql(table, index)
        for table in TABLES.values()
        for index in table.indexes
    }
    existing = connection.execute(
        "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    ).fetchall()
    as_declared = set()
    for name, table_name, sql in existing:
        if _normalized(sql) == _normalized(wanted.get(name, "")):
            as_declared.add(name)
        elif name in wanted or (table_name in TABLES and name.startswith(f"idx_{table_name}_")):
            connection.execute(f'DROP INDEX "{name}"')
    for name, sql in wanted.items():
        if name not in as_declared:
            connection.execute(sql)


def _create_index_sql(table: Table, index: Index) -> str:
    """The statement that makes ``index``, as SQLite keeps it in ``sqlite_master.sql``."""
    columns = ", ".join(f'"{column}"' for column in index.columns)
    where = f" WHERE {index.where}" if index.where else ""
    return f'CREATE INDEX "{table.index_name(index)}" ON "{table.name}" ({columns}){where}'


def _normalized(sql: str) -> str:
    return " ".join(sql.split())
