"""The OpenAPI description of the native query API, served at ``/stub/api/openapi.json``."""

from __future__ import annotations

from .. import __version__

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
_ERROR = {
    "400": {
        "description": "A bad parameter or query; `detail` names it (and `column` for queries).",
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


def _get(summary: str, parameters: list[dict], responses: dict | None = None) -> dict:
    return {"get": {"summary": summary, "parameters": parameters, "responses": responses or _DATA}}


def openapi_schema() -> dict:
    a = "/stub/api"
    return {
        "openapi": "3.1.0",
        "info": {"title": "sentry-stub query API", "version": __version__},
        "paths": {
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
                {**_DATA, **_ERROR},
            ),
            f"{a}/events/{{event_id}}": _get(
                "One event by id, with `data` (as sent) and `stored` (as Sentry stores it).",
                [
                    {
                        "name": "event_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                {"200": {"description": "The event"}, "404": {"description": "Unknown id"}},
            ),
            f"{a}/envelopes": _get(
                "Envelopes with their raw bytes (base64) and items.", [_PROJECT, _CURSOR, _LIMIT]
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
                "Derived rows: spans, outcomes (client-reports), sessions, check-ins, logs.",
                [
                    {
                        "name": "kind",
                        "in": "path",
                        "required": True,
                        "schema": {
                            "type": "string",
                            "enum": [
                                "spans",
                                "outcomes",
                                "client-reports",
                                "sessions",
                                "check-ins",
                                "logs",
                            ],
                        },
                    },
                    _PROJECT,
                    _CURSOR,
                    _LIMIT,
                ],
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
                "Error": {
                    "type": "object",
                    "properties": {"detail": {"type": "string"}, "column": {"type": "integer"}},
                    "required": ["detail"],
                }
            }
        },
    }
