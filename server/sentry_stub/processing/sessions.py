"""Session rows: single session updates (``session``) and aggregates (``sessions``)."""

from __future__ import annotations

from typing import Literal, get_args

from ..protocol.payload import Reader, int_or_none, json_kind, number_or_none
from ..protocol.tables import SessionRow
from .rows import Rows

SESSION_STATUSES = frozenset({"ok", "exited", "crashed", "abnormal", "errored", "unhandled"})
SessionCount = Literal["exited", "errored", "abnormal", "crashed", "unhandled"]
SESSION_COUNTS: tuple[SessionCount, ...] = get_args(SessionCount)


def extract_session(rows: Rows, payload: dict, headers: dict) -> None:
    reader = Reader(rows.notes, "session")
    attrs = _session_attrs(payload, reader)
    if not isinstance(payload.get("started"), str):
        reader.note("started is missing; Relay drops the session update")
    status = reader.string(payload.get("status"), "status") or "ok"
    if status not in SESSION_STATUSES:
        reader.note(f"status {status!r} is not a known session status; Relay keeps it as unknown")
    init = payload.get("init")
    rows.sessions.append(
        {
            "aggregate": 0,
            "sid": reader.string(payload.get("sid"), "sid"),
            "did": reader.lenient_string(payload.get("did"), "did"),
            "status": status,
            "init": 1 if init is True else 0,
            "errors": int_or_none(payload.get("errors"), "errors", reader),
            "seq": int_or_none(payload.get("seq"), "seq", reader),
            "started": reader.string(payload.get("started"), "started"),
            "timestamp": reader.string(payload.get("timestamp"), "timestamp"),
            "duration": number_or_none(payload.get("duration"), "duration", reader),
            **attrs,
        }
    )


def extract_sessions(rows: Rows, payload: dict, headers: dict) -> None:
    reader = Reader(rows.notes, "sessions")
    attrs = _session_attrs(payload, reader)
    buckets = payload.get("aggregates")
    if not isinstance(buckets, list):
        reader.note(f"aggregates: expected a list, got {json_kind(buckets)}; nothing indexed")
        return
    for index, bucket in enumerate(buckets):
        where = f"aggregates[{index}]"
        if not isinstance(bucket, dict):
            reader.note(f"{where}: expected an object, got {json_kind(bucket)}; skipped")
            continue
        counts: SessionRow = {}
        for name in SESSION_COUNTS:
            counts[name] = int_or_none(bucket.get(name, 0), f"{where}.{name}", reader)
        rows.sessions.append(
            {
                "aggregate": 1,
                "did": reader.lenient_string(bucket.get("did"), f"{where}.did"),
                "started": reader.string(bucket.get("started"), f"{where}.started"),
                **counts,
                **attrs,
            }
        )


def _session_attrs(payload: dict, reader: Reader) -> SessionRow:
    attrs = payload.get("attrs")
    if not isinstance(attrs, dict):
        reader.note("attrs is missing; Relay drops sessions without attrs.release")
        return {"release": None, "environment": None}
    release = reader.string(attrs.get("release"), "attrs.release")
    if release is None:
        reader.note("attrs.release is missing; Relay drops the session")
    return {
        "release": release,
        "environment": reader.string(attrs.get("environment"), "attrs.environment"),
    }
