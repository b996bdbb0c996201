"""The OpenAPI description of the native query API, served at ``/stub/api/openapi.json``."""

from __future__ import annotations

import typing

from .. import __version__
from ..protocol.tables import DERIVED_TABLES, ROW_KINDS, Table

_CURSOR = {
    "name": "after",
    "in": "query",
    "description": "Receive cursor from /stub/api/cursor: only what arrived after it.",
    "schema": {"type": "integer", "minimum": 0},
}
_PROJECT = {
    "name": "project",
    "in": "query",
    "description": "Project slug or numeric id; repeatable.",
    "schema": {"type": "string"},
}
_LIMIT = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0}}
_DATA = {
    "200": {
        "description": "The matching records.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"data": {"type": "array", "items": {"type": "object"}}},
                }
            }
        },
    }
}
# A search's answer: the records and the query warnings (see query/warnings.py).
_SEARCH = {
    "200": {
        "description": "The matching records and the query's warnings.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "data": {"type": "array", "items": {"type": "object"}},
                        "warnings": {"type": "array", "items": {"type": "string"}},
                    },
                }
            }
        },
    }
}
_ERROR = {
    "400": {
        "description": "A bad parameter or query; `detail` names it (with `column` and `query` "
        "for a syntax error).",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
}
_DISCOVER_PARAMS = [
    {"name": "query", "in": "query", "schema": {"type": "string"}},
    {"name": "sort", "in": "query", "schema": {"type": "string"}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer"}},
    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
    {"name": "environment", "in": "query", "schema": {"type": "string"}},
    {"name": "statsPeriod", "in": "query", "schema": {"type": "string"}},
    {"name": "start", "in": "query", "schema": {"type": "string"}},
    {"name": "end", "in": "query", "schema": {"type": "string"}},
    _PROJECT,
    _CURSOR,
]


_RATE = {"type": "number", "minimum": 0, "maximum": 1}
_REPORT = {
    "200": {"description": "The report; `passed` says whether the check holds."},
    **_ERROR,
}


_EVENT_LIST = {
    "200": {
        "description": "The matching events, each an `Event` record, and the query's warnings.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "data": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
                        "warnings": {"type": "array", "items": {"type": "string"}},
                    },
                }
            }
        },
    }
}
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
    return {
        "200": {
            "description": "The matching records.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "data": {"type": "array", "items": {"type": "object", "anyOf": refs}}
                        },
                    }
                }
            },
        }
    }


def _path(name: str, kind: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}}


def _get(summary: str, parameters: list[dict], responses: dict | None = None) -> dict:
    return {"get": {"summary": summary, "parameters": parameters, "responses": responses or _DATA}}


def openapi_schema() -> dict:
    a = "/stub/api"
    _ROWS = _rows_answer()
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
                [_CURSOR, {"name": "timeout", "in": "query", "schema": {"type": "number"}}],
                {"200": {"description": '`{"cursor": N}`: the cursor now'}},
            ),
            f"{a}/explain": _get(
                "The newest events a search does not match, with the clause that excluded each.",
                [{"name": "query", "in": "query", "schema": {"type": "string"}}, _PROJECT, _CURSOR],
                {**_SEARCH, **_ERROR},
            ),
            f"{a}/cursor": _get("The current receive cursor (the id of the last stored item).", []),
            f"{a}/projects": {
                **_get("Projects with their DSNs.", []),
                "post": {
                    "summary": "Create (open mode) or look up a project by slug.",
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["slug"],
                                    "properties": {"slug": {"type": "string"}},
                                }
                            }
                        }
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
                [
                    {"name": "query", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "order",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["asc", "desc"]},
                    },
                    {"name": "offset", "in": "query", "schema": {"type": "integer"}},
                    _PROJECT,
                    _CURSOR,
                    _LIMIT,
                ],
                {**_EVENT_LIST, **_ERROR},
            ),
            f"{a}/events/{{event_id}}": _get(
                "One event by id: `data` (as sent), `indexed` (as searched), `stored` (as stored).",
                [
                    {
                        "name": "event_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                {
                    "200": {
                        "description": "The event",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Event"}}
                        },
                    },
                    "404": {"description": "Unknown id"},
                },
            ),
            f"{a}/envelopes": _get(
                "Envelopes with their raw bytes (base64), items and `forward` (its forward "
                "state, as /stub/api/forwards gives it; null when not forwarded).",
                [_PROJECT, _CURSOR, _LIMIT],
            ),
            f"{a}/items": _get(
                "Items of the given types (comma-separated or repeated `type`).",
                [
                    {"name": "type", "in": "query", "schema": {"type": "string"}},
                    {"name": "content", "in": "query", "schema": {"type": "boolean"}},
                    _PROJECT,
                    _CURSOR,
                    _LIMIT,
                ],
            ),
            f"{a}/items/{{item_id}}/content": _get(
                "An item's payload bytes, exactly as received.",
                [
                    {
                        "name": "item_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                {"200": {"description": "application/octet-stream"}},
            ),
            f"{a}/rows/{{kind}}": _get(
                "Derived rows: " + ", ".join(_kind_names(table) for table in DERIVED_TABLES) + ".",
                [
                    {
                        "name": "kind",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": list(ROW_KINDS)},
                    },
                    {"name": "trace", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "order",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["asc", "desc"]},
                    },
                    _PROJECT,
                    _CURSOR,
                    _LIMIT,
                ],
                _ROWS,
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
                [
                    {
                        "name": "field",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    *_DISCOVER_PARAMS,
                ],
                {**_DATA, **_ERROR},
            ),
            f"{a}/query": _get(
                "A runbook pipe query: `SEARCH | AGG by FIELD | sort by AGG DESC`.",
                [
                    {"name": "q", "in": "query", "required": True, "schema": {"type": "string"}},
                    *_DISCOVER_PARAMS,
                ],
                {**_DATA, **_ERROR},
            ),
            f"{a}/reset": {
                "post": {
                    "summary": "Delete everything received (projects stay).",
                    "responses": {"200": {"description": "Done"}},
                }
            },
            f"{a}/checks/pii": _get(
                "Leaks Sentry's scrubbers would remove from the events as sent.",
                [
                    {"name": "allow", "in": "query", "schema": {"type": "string"}},
                    {"name": "include", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "scope",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["app", "all"]},
                    },
                    {"name": "item", "in": "query", "schema": {"type": "string"}},
                    _PROJECT,
                    _CURSOR,
                ],
                _REPORT,
            ),
            f"{a}/checks/sampling": _get(
                "Observed sample rate with a Clopper-Pearson interval.",
                [
                    {"name": "expected", "in": "query", "required": True, "schema": _RATE},
                    {
                        "name": "category",
                        "in": "query",
                        "schema": {"enum": ["transaction", "profile", "error"]},
                    },
                    {"name": "confidence", "in": "query", "schema": _RATE},
                    _PROJECT,
                    _CURSOR,
                ],
                _REPORT,
            ),
            f"{a}/checks/releases": _get(
                "Release naming, allowed environments, releases created and finalized.",
                [
                    {"name": "environments", "in": "query", "schema": {"type": "string"}},
                    {"name": "pattern", "in": "query", "schema": {"type": "string"}},
                    _PROJECT,
                    _CURSOR,
                ],
                _REPORT,
            ),
            f"{a}/checks/sourcemaps": _get(
                "Whether each JavaScript event's frames resolve to original source (by debug "
                "id, else release, dist and URL), each frame with its reason where not.",
                [
                    {"name": "query", "in": "query", "schema": {"type": "string"}},
                    {"name": "item", "in": "query", "schema": {"type": "string"}},
                    _PROJECT,
                    _CURSOR,
                ],
                {**_REPORT, "501": {"description": "The symbolic package is not installed"}},
            ),
            f"{a}/alerts": _get(
                "Alert rules that fired, with why and their actions.", [_PROJECT, _CURSOR]
            ),
            f"{a}/alerts/evaluate": {
                "post": {
                    "summary": "Evaluate the metric alerts now.",
                    "responses": {"200": {"description": "What fired"}},
                }
            },
            f"{a}/issues": _get(
                "Issues (events grouped by fingerprint), each with the number of users reached.",
                [_PROJECT],
            ),
            f"{a}/issues/{{issue_id}}/resolve": {
                "post": {
                    "summary": "Resolve an issue; its next event is a regression.",
                    "parameters": [_path("issue_id", "integer")],
                    "responses": {"200": {"description": "Resolved"}},
                }
            },
            f"{a}/owners/{{event_id}}": _get(
                "Owners of a stored event by the ownership rules.", [_path("event_id", "string")]
            ),
            f"{a}/owners": {
                "post": {
                    "summary": "Owners of an event given as JSON (project slug and event).",
                    "responses": {"200": {"description": "Owners and assignee"}},
                }
            },
            f"{a}/faults": {
                **_get("Fault rules with hits and state.", []),
                "post": {
                    "summary": "Add a fault rule (rate_limit, status, delay, drop).",
                    "responses": {"201": {"description": "The rule with its id"}},
                },
                "delete": {
                    "summary": "Remove every fault rule.",
                    "responses": {"204": {"description": "Removed"}},
                },
            },
            f"{a}/faults/{{fault_id}}": {
                "delete": {
                    "summary": "Remove one fault rule.",
                    "parameters": [_path("fault_id", "integer")],
                    "responses": {
                        "204": {"description": "Removed"},
                        "404": {"description": "Unknown"},
                    },
                }
            },
            f"{a}/forwards": _get(
                "Forward states in receive order (pending with attempts and the last failure, "
                "sent with the upstream's status, dropped with the reason) and `counts` by state.",
                [
                    _PROJECT,
                    {
                        "name": "state",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["pending", "sent", "dropped"]},
                    },
                    {"name": "after_envelope", "in": "query", "schema": {"type": "integer"}},
                    _LIMIT,
                ],
                {**_DATA, **_ERROR},
            ),
            f"{a}/export": _get(
                "Stored envelopes as export records (the README's export format), in receive "
                "order; `query` keeps those with a matching event; `next` is the `since` of the "
                "next page (null: no more).",
                [
                    {"name": "query", "in": "query", "schema": {"type": "string"}},
                    {"name": "since", "in": "query", "schema": {"type": "integer"}},
                    _PROJECT,
                    _CURSOR,
                    _LIMIT,
                ],
                {**_DATA, **_ERROR},
            ),
            f"{a}/import": {
                "post": {
                    "summary": 'Store export records (`{"records": [...]}`): all or, refused, '
                    "none; in strict mode each record's project must be configured.",
                    "responses": {
                        "200": {"description": '`{"imported": N}`'},
                        "400": {
                            "description": "A bad record: `detail` names it, `record` is its "
                            "index.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Error"}
                                }
                            },
                        },
                    },
                }
            },
            f"{a}/releases": _get(
                "Releases created through the web API, with deploys, files and commits.",
                [{"name": "version", "in": "query", "schema": {"type": "string"}}, _PROJECT],
            ),
            "/api/0/organizations/{org}/events/": _get(
                "Sentry's Discover endpoint, answered from the stub's data.",
                [
                    {"name": "org", "in": "path", "required": True, "schema": {"type": "string"}},
                    {
                        "name": "field",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    *_DISCOVER_PARAMS,
                ],
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
