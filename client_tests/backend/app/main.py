"""The backend's routes, each one exercising a part of the Sentry set-up.

Run it as the real app runs, from the directory that holds its ``.env``::

    uvicorn app.main:create_app --factory

``create_app()`` then reads ``.env`` from the working directory; tests pass the variables in.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import sentry_sdk
from dotenv import find_dotenv, load_dotenv
from fastapi import FastAPI, HTTPException, Request, Response, WebSocket
from fastapi.middleware.cors import CORSMiddleware

from . import db
from .sentry_setup import EventProcessor, init_sentry, scrub_event

DEFAULT_DATABASE = "agentsflowai.sqlite3"
MAX_SLOW_SECONDS = 10.0


class AuthenticationFailed(Exception):
    """Wrong credentials; ``reason`` becomes the ``auth_error`` tag."""

    def __init__(self, reason: str):
        super().__init__(f"authentication failed: {reason.replace('_', ' ')}")
        self.reason = reason


class PaymentGatewayError(RuntimeError):
    """The payment provider refused the charge; nothing handles it, so the request fails."""


def create_app(
    environ: Mapping[str, str] | None = None, *, before_send: EventProcessor = scrub_event
) -> FastAPI:
    """The app, with Sentry started from ``environ`` (default: ``.env`` and the process's).

    ``before_send`` is there for the tests, which also run a copy of the guide's example.
    """
    if environ is None:
        load_dotenv(find_dotenv(usecwd=True))  # real variables win over the file
        environ = os.environ
    init_sentry(environ, before_send=before_send)
    database = Path(environ.get("DATABASE_PATH", DEFAULT_DATABASE))
    db.prepare(database)

    app = FastAPI(title="agentsflowai-backend")
    app.middleware("http")(tag_user_and_status)
    origins = [o for o in environ.get("CORS_ORIGINS", "").split(",") if o]
    if origins:
        # The React app calls the API from its own origin; Sentry's trace headers must pass.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["content-type", "sentry-trace", "baggage"],
        )

    @app.get("/api/users")
    def list_users() -> list[dict[str, Any]]:
        with db.connect(database) as connection:
            rows = db.query(connection, "users", "SELECT id, username, plan FROM users ORDER BY id")
        return [dict(row) for row in rows]

    @app.post("/api/login")
    async def login(request: Request) -> dict[str, int]:
        credentials = await request.json()
        try:
            user_id = authenticate(database, credentials["username"], credentials["password"])
        except AuthenticationFailed as failure:
            sentry_sdk.set_tag("auth_error", failure.reason)
            sentry_sdk.capture_exception(failure)
            raise HTTPException(401, "authentication failed") from None
        sentry_sdk.set_user({"id": str(user_id)})
        return {"user_id": user_id}

    @app.post("/api/checkout")
    async def checkout(request: Request) -> dict[str, str]:
        order = await request.json()
        charge(order["payment"])
        return {"status": "paid"}

    @app.get("/api/slow")
    async def slow(seconds: float = 1.0) -> dict[str, float]:
        with sentry_sdk.start_span(op="task", name="simulated work"):
            await asyncio.sleep(min(max(seconds, 0.0), MAX_SLOW_SECONDS))
        return {"slept": seconds}

    @app.websocket("/ws")
    async def websocket(socket: WebSocket) -> None:
        connection_id = uuid.uuid4().hex[:12]
        sentry_sdk.set_tag("websocket", "true")
        sentry_sdk.set_tag("connection_id", connection_id)
        await socket.accept()
        await socket.send_json({"connection_id": connection_id})
        async for message in socket.iter_json():
            await socket.send_json(handle_message(message))

    return app


async def tag_user_and_status(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Tag every request's events with ``http.status_code``; name the user by id only.

    ``X-User-Id`` is what the API gateway sets once it has authenticated the caller; the
    user context gets nothing else (no e-mail, name or IP address).
    """
    if user_id := request.headers.get("x-user-id"):
        sentry_sdk.set_user({"id": user_id})
    try:
        response = await call_next(request)
    except Exception:
        sentry_sdk.set_tag("http.status_code", "500")
        raise
    sentry_sdk.set_tag("http.status_code", str(response.status_code))
    return response


def authenticate(database: Path, username: str, password: str) -> int:
    with db.connect(database) as connection:
        rows = db.query(
            connection,
            "users",
            "SELECT id, password_sha256 FROM users WHERE username = ?",
            (username,),
        )
    if not rows:
        raise AuthenticationFailed("unknown_user")
    if rows[0]["password_sha256"] != db.password_digest(password):
        raise AuthenticationFailed("wrong_password")
    return rows[0]["id"]


def charge(payment: dict[str, Any]) -> None:
    """Where a real app calls its payment provider; this one is always down."""
    with sentry_sdk.start_span(op="http.client", name="POST payment gateway"):
        raise PaymentGatewayError(f"payment gateway unavailable for amount {payment['amount']}")


def handle_message(message: dict[str, Any]) -> dict[str, Any]:
    """Answer ``{"action": "ping"}`` or ``{"action": "subscribe", "channel": ...}``."""
    action = message.get("action")
    if action == "ping":
        return {"action": "pong"}
    if action == "subscribe":
        return {"action": "subscribed", "channel": message["channel"]}
    raise ValueError(f"unknown websocket action {action!r}")
