"""The OpenAPI description of the native query API, served at ``/stub/api/openapi.json``."""

from __future__ import annotations

import typing

from .. import __version__
from ..protocol.tables import DERIVED_TABLES, ROW_KINDS, Table


def _query(name: str, schema: dict | str = "string", *, required: bool = False) -> dict:
    """A query parameter: ``schema`` is its JSON type's name, or its whole schema."""
    parameter = {
        "name": name,
        "in": "query",
        "schema": {"type": schema} if isinstance(schema, str) else schema,
    }
    return {**parameter, "required": True} if required else parameter


def _path(name: str, schema: dict | str) -> dict:
    return {**_query(name, schema), "in": "path", "required": True}


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _records(description: str, items: dict, *, warnings: bool = False) -> dict:
    """A 200 answering ``{"data": [items]}``; a search's adds its warnings (query/warnings.py)."""
    properties = {"data": {"type": "array", "items": items}}
    if warnings:
        properties["warnings"] = {"type": "array", "items": {"type": "string"}}
    return {
        "200": {
            "description": description,
            "content": _json({"type": "object", "properties": properties}),
        }
    }


def _operation(
    method: str, summary: str, responses: dict, parameters: list[dict] | None = None
) -> dict:
    """One method of a path; only a ``get`` lists its parameters even when there are none."""
    operation = {"summary": summary, "responses": responses}
    return {method: operation if parameters is None else {**operation, "parameters": parameters}}


def _get(summary: str, parameters: list[dict], responses: dict | None = None) -> dict:
    return _operation("get", summary, responses or _DATA, parameters)


_CURSOR = {
    **_query("after", {"type": "integer", "minimum": 0}),
    "description": "Receive cursor from /stub/api/cursor: only what arrived after it.",
}
_PROJECT = {**_query("project"), "description": "Project slug or numeric id; repeatable."}
_LIMIT = _query("limit", {"type": "integer", "minimum": 0})
_ORDER = _query("order", {"type": "string", "enum": ["asc", "desc"]})
_SEARCH_QUERY = _query("query")
_DATA = _records("The matching records.", {"type": "object"})
_SEARCH = _records(
    "The matching records and the query's warnings.", {"type": "object"}, warnings=True
)
_ERROR_BODY = _json({"$ref": "#/components/schemas/Error"})
_ERROR = {
    "400": {
        "description": "A bad parameter or query; `detail` names it (with `column` and `query` "
        "for a syntax error).",
        "content": _ERROR_BODY,
    }
}
_FIELD = _query("field", required=True)
_DISCOVER_PARAMS = [
    _SEARCH_QUERY,
    _query("sort"),
    _query("per_page", "integer"),
    _query("cursor"),
    _query("environment"),
    _query("statsPeriod"),
    _query("start"),
    _query("end"),
    _PROJECT,
    _CURSOR,
]
_RATE = {"type": "number", "minimum": 0, "maximum": 1}
_REPORT = {
    "200": {"description": "The report; `passed` says whether the check holds."},
    **_ERROR,
}
_EVENT_LIST = _records(
    "The matching events, each an `Event` record, and the query's warnings.",
    {"$ref": "#/components/schemas/Event"},
    warnings=True,
)
_EVENT = {
    "type": "object",
    "description": "One event, read three ways: `data` as sent, `indexed` as searches read it, "
    "`stored` as Sentry stores it.",
    "properties": {
        "item_id": {"type": "integer", "description": "Receive order."},
        "event_id": {"type": "string"},
        "type": {"type": "string", "description": "`event.type`."},
        "project": {"type": "string"},
        "project_id": {"type": "integer"},
        "received_at": {"type": "number"},
        "data": {"type": "object", "description": "The event JSON exactly as the SDK sent it."},
        "indexed": {
            "type": "object",
            "description": "The fields the server derived from the event and searches match, "
            "keyed by search field name: `event.type`, `level` (Relay's level: `critical` is "
            "`fatal`), `message` (the logentry formatted with its params), `title`, `error.type` "
            "and `error.value` (arrays: every exception's, oldest first), `error.handled`, "
            "`environment`, `release`, `dist`, `transaction`, `transaction.op`, "
            "`transaction.status`, `transaction.duration`, `platform`, `logger`, `server_name`, "
            "`trace`, `trace.span`, "
            "`trace.parent_span`, `user.id`, `user.email`, `user.ip`, `user.username`, "
            "`sdk.name`, `sdk.version`, `http.method`, `http.url`, `http.status_code`, "
            "`browser.name`, `os.name`, `timestamp`; `tags` (the flat object `tags[KEY]` "
            "searches) and `exception` (the exception values in Relay's reading of the "
            'container, oldest first). A missing text value is `""` or null, as the search '
            "reads it; `field:value` matches the event exactly where `value` is here.",
            "additionalProperties": True,
        },
        "stored": {
            "type": ["object", "null"],
            "description": "As Sentry would store it (Relay's normalization and scrubbing).",
        },
        "stored_error": {"type": ["string", "null"]},
        "tags": {"type": "array", "description": "`[key, value]` pairs as stored, in order."},
        "notes": {"type": "array", "items": {"type": "string"}},
    },
}


_JSON_TYPES = {int: "integer", float: "number", str: "string", bytes: "string"}


def _kind_names(table: Table) -> str:
    """``outcomes (client-reports)``: a table's own kind, then its other names."""
    own, *others = table.kinds
    return f"{own} ({', '.join(others)})" if others else own


def _schema_name(table: Table) -> str:
    """``CheckInRow`` for ``check_ins``: the row type's name."""
    assert table.row_type is not None
    return table.row_type.__name__


def _row_schema(table: Table) -> dict:
    """A derived row as ``/stub/api/rows/{kind}`` serves it, from its declaration."""
    assert table.row_type is not None
    required = typing.get_type_hints(table.row_type)
    properties: dict[str, dict] = {}
    for column, kind in table.columns.items():
        json_type = "object" if column in table.json_columns else _JSON_TYPES[kind]
        nullable = column != table.primary_key and type(None) in typing.get_args(required[column])
        properties[column] = {"type": [json_type, "null"] if nullable else json_type}
    properties["project"] = {"type": ["string", "null"], "description": "The project's slug."}
    for alias in table.aliases:
        source = properties[alias.column]["type"]
        aliased = "boolean" if alias.as_bool else source
        properties[alias.name] = {"type": aliased, "description": f"From `{alias.column}`."}
    return {
        "type": "object",
        "description": (table.row_type.__doc__ or "").strip()
        + f" Served at /stub/api/rows/{'|'.join(table.kinds)}.",
        "properties": properties,
    }


def _rows_answer() -> dict:
    """The rows of one kind: each a row of that kind's table."""
    refs = [{"$ref": f"#/components/schemas/{_schema_name(t)}"} for t in DERIVED_TABLES]
    return _records("The matching records.", {"type": "object", "anyOf": refs})


def openapi_schema() -> dict:
    a = "/stub/api"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "sentry-stub query API",
            "version": __version__,
            "description": (
                "Answers only requests whose Host is an allowed host (421 otherwise). Every "
                "POST needs `Content-Type: application/json`, bodiless ones too, and no write "
                "may come from another site's page (403): see the README's Security section."
            ),
        },
        "paths": {
            f"{a}/openapi.json": _get("This document.", [], {"200": {"description": "OpenAPI"}}),
            f"{a}/wait": _get(
                "Long poll: answers once the cursor differs from `after` (something arrived, or a "
                "reset moved it back), or at `timeout`.",
                [_CURSOR, _query("timeout", "number")],
                {"200": {"description": '`{"cursor": N}`: the cursor now'}},
            ),
            f"{a}/explain": _get(
                "The newest events a search does not match, with the clause that excluded each.",
                [_SEARCH_QUERY, _PROJECT, _CURSOR],
                {**_SEARCH, **_ERROR},
            ),
            f"{a}/cursor": _get("The current receive cursor (the id of the last stored item).", []),
            f"{a}/projects": {
                **_get("Projects with their DSNs.", []),
                "post": {
                    "summary": "Create (open mode) or look up a project by slug.",
                    "requestBody": {
                        "content": _json(
                            {
                                "type": "object",
                                "required": ["slug"],
                                "properties": {"slug": {"type": "string"}},
                            }
                        )
                    },
                    "responses": {
                        "200": {"description": "Existing project"},
                        "201": {"description": "Created project"},
                        "404": {"description": "Strict mode: no such project"},
                    },
                },
            },
            f"{a}/events": _get(
                "Events (errors, transactions, security reports, feedback) in receive order.",
                [_SEARCH_QUERY, _ORDER, _query("offset", "integer"), _PROJECT, _CURSOR, _LIMIT],
                {**_EVENT_LIST, **_ERROR},
            ),
            f"{a}/events/{{event_id}}": _get(
                "One event by id: `data` (as sent), `indexed` (as searched), `stored` (as stored).",
                [_path("event_id", "string")],
                {
                    "200": {
                        "description": "The event",
                        "content": _json({"$ref": "#/components/schemas/Event"}),
                    },
                    "404": {"description": "Unknown id"},
                },
            ),
            f"{a}/envelopes": _get(
                "Envelopes with their raw bytes (base64), items, `derived_event_id` (the id of "
                "the event made of it: an event item's, or the one built from attachments or a "
                "browser report; null when none) and `forward` (its forward state, as "
                "/stub/api/forwards gives it; null when not forwarded).",
                [_PROJECT, _CURSOR, _LIMIT],
            ),
            f"{a}/items": _get(
                "Items of the given types (comma-separated or repeated `type`).",
                [_query("type"), _query("content", "boolean"), _PROJECT, _CURSOR, _LIMIT],
            ),
            f"{a}/items/{{item_id}}/content": _get(
                "An item's payload bytes, exactly as received.",
                [_path("item_id", "integer")],
                {"200": {"description": "application/octet-stream"}},
            ),
            f"{a}/rows/{{kind}}": _get(
                "Derived rows: " + ", ".join(_kind_names(table) for table in DERIVED_TABLES) + ".",
                [
                    _path("kind", {"type": "string", "enum": list(ROW_KINDS)}),
                    _query("trace"),
                    _ORDER,
                    _PROJECT,
                    _CURSOR,
                    _LIMIT,
                ],
                _rows_answer(),
            ),
            f"{a}/traces": _get(
                "Traces with spans, newest first: root segment, duration, span count, errors, "
                "projects.",
                [_PROJECT, _CURSOR, _LIMIT],
            ),
            f"{a}/summary": _get(
                "Counts of what arrived, by kind, event type and project.", [_CURSOR]
            ),
            f"{a}/discover": _get(
                "Discover query: fields may be aggregates such as count() or p95(...).",
                [_FIELD, *_DISCOVER_PARAMS],
                {**_DATA, **_ERROR},
            ),
            f"{a}/query": _get(
                "A runbook pipe query: `SEARCH | AGG by FIELD | sort by AGG DESC`.",
                [_query("q", required=True), *_DISCOVER_PARAMS],
                {**_DATA, **_ERROR},
            ),
            f"{a}/reset": _operation(
                "post",
                "Delete everything received (projects stay).",
                {"200": {"description": "Done"}},
            ),
            f"{a}/checks/pii": _get(
                "Leaks Sentry's scrubbers would remove from the events as sent.",
                [
                    _query("allow"),
                    _query("include"),
                    _query("scope", {"type": "string", "enum": ["app", "all"]}),
                    _query("item"),
                    _PROJECT,
                    _CURSOR,
                ],
                _REPORT,
            ),
            f"{a}/checks/sampling": _get(
                "Observed sample rate with a Clopper-Pearson interval.",
                [
                    _query("expected", _RATE, required=True),
                    _query("category", {"enum": ["transaction", "profile", "error"]}),
                    _query("confidence", _RATE),
                    _PROJECT,
                    _CURSOR,
                ],
                _REPORT,
            ),
            f"{a}/checks/releases": _get(
                "Release naming, allowed environments, releases created and finalized.",
                [_query("environments"), _query("pattern"), _PROJECT, _CURSOR],
                _REPORT,
            ),
            f"{a}/checks/sourcemaps": _get(
                "Whether each JavaScript event's frames resolve to original source (by debug "
                "id, else release, dist and URL), each frame with its reason where not.",
                [_SEARCH_QUERY, _query("item"), _PROJECT, _CURSOR],
                {**_REPORT, "501": {"description": "The symbolic package is not installed"}},
            ),
            f"{a}/alerts": _get(
                "Alert rules that fired, with why and their actions.", [_PROJECT, _CURSOR]
            ),
            f"{a}/alerts/evaluate": _operation(
                "post", "Evaluate the metric alerts now.", {"200": {"description": "What fired"}}
            ),
            f"{a}/issues": _get(
                "Issues (events grouped by fingerprint), each with the number of users reached.",
                [_PROJECT],
            ),
            f"{a}/issues/{{issue_id}}/resolve": _operation(
                "post",
                "Resolve an issue; its next event is a regression.",
                {"200": {"description": "Resolved"}},
                [_path("issue_id", "integer")],
            ),
            f"{a}/owners/{{event_id}}": _get(
                "Owners of a stored event by the ownership rules.", [_path("event_id", "string")]
            ),
            f"{a}/owners": _operation(
                "post",
                "Owners of an event given as JSON (project slug and event).",
                {"200": {"description": "Owners and assignee"}},
            ),
            f"{a}/faults": {
                **_get("Fault rules with hits and state.", []),
                **_operation(
                    "post",
                    "Add a fault rule (rate_limit, status, delay, drop).",
                    {"201": {"description": "The rule with its id"}},
                ),
                **_operation(
                    "delete", "Remove every fault rule.", {"204": {"description": "Removed"}}
                ),
            },
            f"{a}/faults/{{fault_id}}": _operation(
                "delete",
                "Remove one fault rule.",
                {"204": {"description": "Removed"}, "404": {"description": "Unknown"}},
                [_path("fault_id", "integer")],
            ),
            f"{a}/forwards": _get(
                "Forward states in receive order (pending with attempts and the last failure, "
                "sent with the upstream's status, dropped with the reason) and `counts` by state.",
                [
                    _PROJECT,
                    _query("state", {"type": "string", "enum": ["pending", "sent", "dropped"]}),
                    _query("after_envelope", "integer"),
                    _LIMIT,
                ],
                {**_DATA, **_ERROR},
            ),
            f"{a}/export": _get(
                "Stored envelopes as export records (the README's export format), in receive "
                "order; `query` keeps those with a matching event; `next` is the `since` of the "
                "next page (null: no more).",
                [
                    _SEARCH_QUERY,
                    _query("since", "integer"),
                    _PROJECT,
                    _CURSOR,
                    _query("limit", {"type": "integer", "minimum": 1}),
                ],
                {**_DATA, **_ERROR},
            ),
            f"{a}/import": _operation(
                "post",
                'Store export records (`{"records": [...]}`): all or, refused, none; in strict '
                "mode each record's project must be configured.",
                {
                    "200": {"description": '`{"imported": N}`'},
                    "400": {
                        "description": "A bad record: `detail` names it, `record` is its index.",
                        "content": _ERROR_BODY,
                    },
                },
            ),
            f"{a}/releases": _get(
                "Releases created through the web API, with deploys, files and commits.",
                [_query("version"), _PROJECT],
            ),
            "/api/0/organizations/{org}/events/": _get(
                "Sentry's Discover endpoint, answered from the stub's data.",
                [_path("org", "string"), _FIELD, *_DISCOVER_PARAMS],
                {**_DATA, **_ERROR},
            ),
        },
        "components": {
            "schemas": {
                "Event": _EVENT,
                **{_schema_name(table): _row_schema(table) for table in DERIVED_TABLES},
                "Error": {
                    "type": "object",
                    "properties": {
                        "detail": {"type": "string"},
                        "column": {"type": "integer"},
                        "query": {"type": "string"},
                    },
                    "required": ["detail"],
                },
            }
        },
    }
