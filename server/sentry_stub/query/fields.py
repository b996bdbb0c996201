"""The Discover field catalogue: what a field name means as SQL over the stored rows.

A field resolves to an SQL expression and a type (spec section 2). Identifiers come only from
this catalogue; a user-supplied name that is not in it (a tag key, a span data key) only ever
reaches SQL as a bound parameter.

Precedence, as in Sentry: a bare name that is a built-in field means the field (``message`` is
the event's message even if an SDK also set a tag called ``message``); ``tags[KEY]`` always means
the tag; any other name is a tag. A missing tag reads as ``""``, never NULL, which is why
``tag:*`` matches every event. ``tags.KEY`` (the spelling in the mission's guide) is read as
``tags[KEY]``; Sentry itself would look for a tag literally named ``tags.KEY``.

Two datasets
------------
``EVENTS``: one row per event (errors, message events, transactions, security reports, feedback).

``SPANS``: one row per span inside a transaction, joined to its transaction, used when a request
names a span field: ``span.op``, ``span.description``, ``span.duration``, ``span.status``,
``span.id`` or any ``span.*``/``db.*`` key (span data such as ``db.table``). On spans:

- ``op`` means the span's op; on events it means ``transaction.op`` (and the answer carries a
  warning saying so, since the mission's guide uses ``op`` for spans).
- every event field (``event.type``, ``transaction.duration``, ``user.email``, tags...) is the
  enclosing transaction's, so ``event.type:transaction`` keeps all spans of transactions.
- ``is_transaction`` (boolean), ``segment.name`` (as ``transaction``), ``segment.id`` and
  ``transaction.span_id`` are Sentry's segment fields: they also select the spans an SDK
  streamed (span v2 items) instead of sending a transaction, which have no enclosing event.
- ``db.table`` is the span data ``db.table`` (or ``db.sql.table``/``db.collection.name``), else
  the first table named in a ``db*`` span's SQL description (``FROM``/``INTO``/``UPDATE``/
  ``JOIN``), the way Sentry derives a span's domain. Other unknown keys read span data, then
  the transaction's tags.

So the guide's "Slow Database Queries"::

    event.type:transaction AND op:db.query AND transaction.duration:>1000
    | avg(transaction.duration) by db.table | sort by avg DESC

reads: over the ``db.query`` spans of transactions slower than one second, grouped by the table
each span queried, the average duration of the enclosing transactions (one value per span, so a
transaction that queried a table three times weighs three times). ``avg(span.duration)`` in its
place gives the queries' own time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

STRING = "string"
INTEGER = "integer"
NUMBER = "number"
DURATION = "duration"
DATE = "date"
BOOLEAN = "boolean"
ARRAY = (
    "array"  # Sentry's array columns (error.type, error.value): a JSON array, any element matches
)
PERCENTAGE = "percentage"  # only aggregates produce it

NUMERIC_TYPES = (INTEGER, NUMBER, DURATION, PERCENTAGE)
TEXT_TYPES = (STRING, ARRAY)


@dataclass(frozen=True)
class Dataset:
    """Where rows come from: the FROM clause and the expressions every query filters on."""

    name: str
    source: str
    item_id: str  # receive order, the pytest plugin's per-test cursor
    project_id: str


EVENTS = Dataset("events", "events AS e", "e.item_id", "e.project_id")
SPANS = Dataset(
    "spans",
    "spans AS s LEFT JOIN events AS e ON e.item_id = s.item_id",
    "s.item_id",
    "s.project_id",
)


@dataclass(frozen=True)
class Field:
    """A resolved field: an SQL expression with its bound parameters, and how to read it."""

    name: str
    sql: str
    params: tuple[str, ...] = ()
    type: str = STRING
    nullable: bool = True  # False: a missing value reads as "" (tags, Sentry's non-null columns)
    warning: str | None = None


@dataclass(frozen=True)
class _Spec:
    """A catalogue entry. ``{item}``/``{project}``/``{tag}``/``{data}`` are filled per dataset."""

    sql: str
    type: str = STRING
    nullable: bool = True
    params: tuple[str, ...] = ()  # one per {tag}/{data} placeholder, in order of appearance


_TAG = "(SELECT t.value FROM tags AS t WHERE t.item_id = {item} AND t.key = ?)"
_SPAN_DATA = (
    "(SELECT CAST(j.value AS TEXT) FROM json_each(CASE WHEN json_valid(s.data) THEN s.data END)"
    " AS j WHERE j.key = ?)"
)
_EVENT_TEXT_COLUMNS = "e.type, e.transaction_name, e.message, e.exception_type, e.exception_value"
_TITLE = f"stub_title({_EVENT_TEXT_COLUMNS})"
_MESSAGE = f"stub_message({_EVENT_TEXT_COLUMNS})"
_PROJECT_SLUG = (
    "coalesce((SELECT p.slug FROM projects AS p WHERE p.id = {project}), CAST({project} AS TEXT))"
)


def _from_context(column: str, tag: str) -> _Spec:
    """A Sentry tag derived from a context: our column, else the tag the SDK set."""
    return _Spec(f"coalesce(nullif({column}, ''), {{tag}}, '')", nullable=False, params=(tag,))


def _array(column: str, main: str) -> _Spec:
    """A JSON array column; rows stored before it existed have only the main exception's."""
    return _Spec(
        f"coalesce({column}, CASE WHEN {main} IS NOT NULL THEN json_array({main}) END)", ARRAY
    )


def _text(column: str) -> _Spec:
    """A non-nullable text column: missing reads as ''."""
    return _Spec(f"coalesce({column}, '')", nullable=False)


_EVENT_FIELDS: dict[str, _Spec] = {
    "id": _Spec("e.event_id"),
    "event_id": _Spec("e.event_id"),
    "event.type": _text("e.type"),
    "title": _Spec(_TITLE, nullable=False),
    "message": _Spec(_MESSAGE, nullable=False),
    "transaction": _text("e.transaction_name"),
    "transaction.duration": _Spec("e.duration", DURATION),
    "transaction.op": _Spec("e.transaction_op"),
    "transaction.status": _Spec("e.trace_status"),
    "transaction.source": _Spec("e.transaction_source"),
    "release": _Spec("e.release"),
    "dist": _Spec("e.dist"),
    "environment": _Spec("e.environment"),
    "level": _text("e.level"),
    "platform": _text("e.platform"),
    "platform.name": _text("e.platform"),
    "logger": _text("e.logger"),
    "server_name": _text("e.server_name"),
    "user.id": _Spec("e.user_id"),
    "user.email": _Spec("e.user_email"),
    "user.ip": _Spec("e.user_ip"),
    "user.username": _Spec("e.user_username"),
    "user.display": _Spec("coalesce(e.user_email, e.user_username, e.user_id, e.user_ip)"),
    "sdk.name": _Spec("e.sdk_name"),
    "sdk.version": _Spec("e.sdk_version"),
    "http.method": _Spec("e.http_method"),
    "http.url": _text("e.url"),
    "http.status_code": _from_context("e.http_status_code", "http.status_code"),
    "browser.name": _from_context("e.browser_name", "browser.name"),
    "os.name": _from_context("e.os_name", "os.name"),
    "trace": _Spec("e.trace_id"),
    "trace.span": _Spec("e.span_id"),
    "trace.parent_span": _Spec("e.parent_span_id"),
    "timestamp": _Spec("e.timestamp", DATE),
    "project": _Spec(_PROJECT_SLUG, nullable=False),
    "project.name": _Spec(_PROJECT_SLUG, nullable=False),
    "project.id": _Spec("{project}", INTEGER),
    "project_id": _Spec("{project}", INTEGER),
    "error.type": _array("e.exception_types", "e.exception_type"),
    "error.value": _array("e.exception_values", "e.exception_value"),
    "error.handled": _Spec("e.handled", BOOLEAN),
    "error.unhandled": _Spec("1 - e.handled", BOOLEAN),
}

_SEGMENT_NAME = _Spec("coalesce(s.transaction_name, e.transaction_name, '')", nullable=False)
_SPAN_FIELDS: dict[str, _Spec] = {
    "op": _Spec("s.op"),
    "span.op": _Spec("s.op"),
    "span.description": _Spec("s.description"),
    "span.duration": _Spec("s.duration", DURATION),
    "span.status": _Spec("s.status"),
    "span.id": _Spec("s.span_id"),
    "span.parent_span": _Spec("s.parent_span_id"),
    "db.table": _Spec(
        "coalesce({data}, {data}, {data}, stub_sql_table(s.op, s.description), '')",
        nullable=False,
        params=("db.table", "db.sql.table", "db.collection.name"),
    ),
    # Sentry's segment fields: a segment is the span that was (or, streamed, stands for) a
    # transaction; `transaction` on spans is its segment's name.
    "is_transaction": _Spec("s.is_segment", BOOLEAN),
    "segment.name": _SEGMENT_NAME,
    "segment.id": _Spec("s.segment_id"),
    "transaction.span_id": _Spec("s.segment_id"),
    # Standalone spans carry these themselves; spans inside a transaction inherit them.
    "transaction": _SEGMENT_NAME,
    "environment": _Spec("coalesce(s.environment, e.environment)"),
    "release": _Spec("coalesce(s.release, e.release)"),
    "trace": _Spec("coalesce(s.trace_id, e.trace_id)"),
    "timestamp": _Spec("s.timestamp", DATE),
}

EVENT_FIELD_NAMES = tuple(_EVENT_FIELDS)
# Tags that Relay or the SDKs set and that are no field here: searching them draws no warning.
COMMON_TAGS = frozenset(
    {
        "browser",
        "browser.version",
        "client_os",
        "client_os.name",
        "device",
        "device.family",
        "handled",
        "mechanism",
        "os",
        "os.rooted",
        "runtime",
        "runtime.name",
        "url",
        "user",
    }
)

_SPAN_PREFIXES = ("span.", "db.")
_SEGMENT_FIELDS = frozenset({"is_transaction", "segment.name", "segment.id", "transaction.span_id"})
_OP_ON_EVENTS = (
    "`op` is read as `transaction.op` on events; name a span field (span.op, span.duration, "
    "db.table...) to query the spans inside transactions, where `op` is the span's op"
)


def needs_spans(names: Iterable[str]) -> bool:
    """Whether any of these field names only makes sense per span (see the module docstring)."""
    return any(name.startswith(_SPAN_PREFIXES) or name in _SEGMENT_FIELDS for name in names)


def field_names(dataset: Dataset = EVENTS) -> tuple[str, ...]:
    """Every built-in field name of a dataset (what a bare key means before it is a tag)."""
    spans = tuple(_SPAN_FIELDS) if dataset is SPANS else ()
    return tuple(dict.fromkeys((*_EVENT_FIELDS, *spans, "op")))


def explicit_tag(name: str) -> tuple[str, str] | None:
    """``tags[KEY]``, ``tags[KEY,string|number]`` or ``tags.KEY`` -> (KEY, type); else ``None``."""
    if name.startswith("tags[") and name.endswith("]"):
        key, _, kind = name[5:-1].partition(",")
        kind = kind.strip() or STRING
        return (key.strip(), NUMBER if kind == "number" else STRING) if key.strip() else None
    if name.startswith("tags.") and len(name) > 5:
        return name[5:], STRING
    return None


def resolve_field(name: str, dataset: Dataset = EVENTS) -> Field:
    """The field a name means on a dataset; unknown names are tags (span data first on spans)."""
    tag = explicit_tag(name)
    if tag is not None:
        return _tag_field(name, *tag, dataset)
    spec = _SPAN_FIELDS.get(name) if dataset is SPANS else None
    spec = spec or _EVENT_FIELDS.get(name)
    if spec is not None:
        return _build(name, spec, dataset)
    if name == "op":
        field = _build(name, _EVENT_FIELDS["transaction.op"], dataset)
        return Field(field.name, field.sql, field.params, field.type, warning=_OP_ON_EVENTS)
    if dataset is SPANS:
        return _build(
            name, _Spec("coalesce({data}, {tag}, '')", nullable=False, params=(name, name)), dataset
        )
    return _tag_field(name, name, STRING, dataset)


def _tag_field(name: str, key: str, kind: str, dataset: Dataset) -> Field:
    if kind == NUMBER:
        return _build(name, _Spec("CAST({tag} AS REAL)", NUMBER, params=(key,)), dataset)
    return _build(name, _Spec("coalesce({tag}, '')", nullable=False, params=(key,)), dataset)


def _build(name: str, spec: _Spec, dataset: Dataset) -> Field:
    sql = spec.sql.format(
        item=dataset.item_id,
        project=dataset.project_id,
        tag=_TAG.format(item=dataset.item_id),
        data=_SPAN_DATA,
    )
    return Field(name, sql, spec.params, spec.type, spec.nullable)
