"""The envelope's ``trace`` header (dynamic sampling context), checked as Relay reads it."""

from __future__ import annotations

from typing import Any

from ..protocol.payload import float_or_none, json_kind, uuid_hex


def dsc_notes(trace_header: Any) -> list[str]:
    """What Relay would ignore in an envelope's ``trace`` header (the dynamic sampling context).

    Relay drops the whole DSC (but accepts the envelope) when it cannot parse it, so sampling
    decisions and ``sample_rate`` checks then behave as if no DSC had been sent.
    """
    if trace_header is None:
        return []
    if not isinstance(trace_header, dict):
        return [
            f"trace header: expected an object, got {json_kind(trace_header)}; Relay ignores it"
        ]
    notes = []
    ignored = "; Relay ignores the whole trace header (dynamic sampling context)"
    trace_id = trace_header.get("trace_id")
    if trace_id is None:
        notes.append("trace header: trace_id is missing" + ignored)
    elif uuid_hex(trace_id) is None:
        notes.append(f"trace header: trace_id {trace_id!r} is not a UUID" + ignored)
    if not isinstance(trace_header.get("public_key"), str):
        notes.append("trace header: public_key is missing or not a string" + ignored)
    rate = trace_header.get("sample_rate")
    if isinstance(rate, int | float) and not isinstance(rate, bool):
        notes.append(
            f"trace header: sample_rate is the JSON number {rate}, not a string like "
            f'"{rate}"' + ignored
        )
    elif isinstance(rate, str):
        number = float_or_none(rate)
        if number is None:
            notes.append(f"trace header: sample_rate {rate!r} is not a number" + ignored)
        elif number < 0:
            notes.append(f"trace header: sample_rate {rate!r} is negative" + ignored)
    elif rate is not None:
        notes.append(f"trace header: sample_rate is {json_kind(rate)}" + ignored)
    sampled = trace_header.get("sampled")
    if sampled is not None and not isinstance(sampled, bool) and sampled not in ("true", "false"):
        notes.append(
            f"trace header: sampled {sampled!r} is neither true nor false; "
            "Relay reads it as unknown"
        )
    return notes
