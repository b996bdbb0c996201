"""The served OpenAPI document describes every route of the native query API."""

from __future__ import annotations

import re

import httpx

from sentry_stub import StubServer
from sentry_stub.app import StubApp


def test_every_stub_api_route_is_described(server: StubServer) -> None:
    schema = httpx.get(f"{server.url}/stub/api/openapi.json").json()
    assert isinstance(server.app, StubApp)
    routes = server.app.starlette.routes
    assert schema["openapi"].startswith("3.")
    described = schema["paths"]
    for route in routes:
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", getattr(route, "path", ""))
        if not path.startswith("/stub/api/"):
            continue
        assert path in described, f"{path} is missing from openapi.json"
        for method in route.methods - {"HEAD"}:
            assert method.lower() in described[path], f"{method} {path} is not described"
