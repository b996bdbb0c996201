"""Grouping events into issues: Sentry's default fingerprint, closely enough to behave alike.

Sentry hashes the *grouping components* of an event. With an exception, they are each
exception's type plus its stack frames (in-app frames when there are any, else all frames), a
frame contributing its module (or, without one, its file name) and its function. An exception
without frames contributes its type and value. Without an exception, the message *template*
(``logentry.message``, before ``%s`` parameters are filled in) is used, with the variable parts
that Sentry parameterises (numbers, UUIDs, hex ids, IP and e-mail addresses) replaced by
placeholders. An SDK-sent ``fingerprint`` replaces all of this; its ``{{ default }}`` entry
stands for the default components. The hash is stable, not byte-identical to Sentry's.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from ..protocol.payload import event_exceptions, formatted_message, message_template

MAX_MESSAGE = 8192
DEFAULT_VARIABLE = re.compile(r"^\{\{\s*default\s*\}\}$")

# Sentry's message parameterisation: the patterns that matter in tests, most specific first.
_PARAMETERS = (
    # A match may only start where a word starts: otherwise a long run of word characters
    # without "@" is rescanned from every position (quadratic time on untrusted text).
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    (
        "uuid",
        re.compile(
            r"\b[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\b"
        ),
    ),
    ("ip", re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")),
    ("hex", re.compile(r"\b(?:0x[0-9a-fA-F]+|(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,})\b")),
    ("int", re.compile(r"\b\d+\b")),
)


def fingerprint(event: dict[str, Any]) -> str:
    """The hex hash that decides which issue ``event`` belongs to."""
    custom = event.get("fingerprint")
    if isinstance(custom, list) and custom:
        values: list[str] = []
        for entry in custom:
            text = str(entry)
            if DEFAULT_VARIABLE.match(text.strip()):
                values.extend(grouping_components(event))
            else:
                values.append(text)
        return _hash(values)
    return _hash(grouping_components(event))


def grouping_components(event: dict[str, Any]) -> list[str]:
    """The values Sentry's default grouping hashes for ``event``."""
    exceptions = event_exceptions(event)
    if exceptions:
        components: list[str] = []
        for exception in exceptions:
            components.append(str(exception.get("type") or ""))
            frames = _grouping_frames(_frames(exception.get("stacktrace")))
            if frames:
                components.extend(_frame_component(frame) for frame in frames)
            else:
                components.append(parameterize(str(exception.get("value") or "")))
        return components
    frames = _grouping_frames(_frames(event.get("stacktrace")))
    if frames:
        return [_frame_component(frame) for frame in frames]
    return [parameterize(message_template(event))]


def parameterize(message: str) -> str:
    """``"user 42 at 10.0.0.1"`` -> ``"user <int> at <ip>"``, as Sentry normalises messages.

    Only the first ``MAX_MESSAGE`` characters count, the length Relay keeps of a message.
    """
    message = message[:MAX_MESSAGE]
    for name, pattern in _PARAMETERS:
        message = pattern.sub(f"<{name}>", message)
    return message


def issue_title(event: dict[str, Any]) -> str:
    """The issue title Sentry shows: ``Type: value`` of the top exception, else the message."""
    exceptions = event_exceptions(event)
    if exceptions:
        top = exceptions[-1]
        kind, value = str(top.get("type") or "Error"), str(top.get("value") or "")
        return f"{kind}: {value}" if value else kind
    return formatted_message(event) or "<unlabeled event>"


def culprit(event: dict[str, Any]) -> str:
    """Where it happened: the transaction, else the crashing frame as ``module in function``."""
    transaction = event.get("transaction")
    if isinstance(transaction, str) and transaction:
        return transaction
    for exception in reversed(event_exceptions(event)):
        frames = _grouping_frames(_frames(exception.get("stacktrace")))
        if frames:
            frame = frames[-1]
            where = frame.get("module") or frame.get("filename") or "?"
            return f"{where} in {frame.get('function') or '?'}"
    return ""


def _frames(stacktrace: Any) -> list[dict]:
    frames = stacktrace.get("frames") if isinstance(stacktrace, dict) else None
    return [frame for frame in frames or [] if isinstance(frame, dict)]


def _grouping_frames(frames: list[dict]) -> list[dict]:
    in_app = [frame for frame in frames if frame.get("in_app") is True]
    return in_app or frames


def _frame_component(frame: dict) -> str:
    where = frame.get("module") or frame.get("filename") or _basename(frame.get("abs_path"))
    return f"{_forward_slashes(where)}:{frame.get('function') or ''}"


def _basename(path: Any) -> str:
    return _forward_slashes(path).rsplit("/", 1)[-1]


def _forward_slashes(path: Any) -> str:
    return str(path or "").replace("\\", "/")


def _hash(values: list[str]) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    for value in values:
        digest.update(value.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()
