"""Check reports as text for people: in a failed assertion, or from ``sentry-stub check``."""

from __future__ import annotations

MAX_LINES = 50


def pii_text(report: dict) -> str:
    leaks, allowed = report["leaks"], report["allowed"]
    skipped = report.get("skipped", [])
    checked = _plural(report["checked"], "event")
    if report["passed"]:
        lines = [f"sentry-stub PII check: no PII leaks in {checked}."]
    else:
        where = _plural(report["events_with_leaks"], "event")
        lines = [
            f"sentry-stub PII check: {_plural(len(leaks), 'leak')} in {where} ({checked} checked)."
        ]
    if leaks:
        lines.append("Values Sentry's scrubbers would remove (fix them in the app, before_send):")
        lines += _limited([line for leak in leaks for line in _finding_lines(leak)])
        entries = ", ".join(
            f'"{entry}"' for entry in dict.fromkeys(leak["allow"] for leak in leaks)
        )
        lines.append(f"To accept them instead: assert_no_pii(allow=[{entries}])")
    if allowed:
        lines.append(f"Allowed by {', '.join(report['allow'])}:")
        lines += _limited([_finding_line(finding) for finding in allowed])
    if skipped:
        lines.append(
            f"Not counted: {_plural(len(skipped), 'finding')} outside `include` or in library "
            "frames' variables (scope='app'; scope='all' counts those)."
        )
    return "\n".join(lines)


def sampling_text(report: dict) -> str:
    category = report["category"]
    verdict = "agrees" if report["passed"] else "DISAGREES"
    lines = [
        f"sentry-stub sampling check ({category}): expected rate {report['expected']:g} "
        f"{verdict} with what arrived.",
        f"  kept {report['kept']}, discarded by sampling {report['discarded_by_sampling']}, "
        f"successes {report['successes']} of {report['trials']} trials",
    ]
    if report.get("likely_cause"):
        lines.insert(1, f"  likely cause: {report['likely_cause']}")
    if report["interval"] is not None:
        low, high = report["interval"]
        lines.append(
            f"  observed rate {report['observed']:.4f}, {report['confidence']:.0%} "
            f"Clopper-Pearson interval [{low:.4f}, {high:.4f}]"
        )
    if report["declared"]:
        declared = ", ".join(f"{rate} x{count}" for rate, count in report["declared"].items())
        lines.append(f"  sample_rate declared in trace headers: {declared}")
    lines += _limited([f"  problem: {problem}" for problem in report["problems"]])
    lines += [f"  note: {note}" for note in report["notes"]]
    return "\n".join(lines)


def releases_text(report: dict) -> str:
    problems = report["problems"]
    verdict = "all good" if report["passed"] else f"{len(problems)} problem(s)"
    lines = [
        f"sentry-stub release check: {verdict} in {report['checked']} event(s).",
        f"  releases: {_counts(report['releases'])}",
        f"  environments: {_counts(report['environments'])} "
        f"(allowed: {', '.join(report['allowed_environments'])})",
        f"  web API releases: {report['web_api_releases']}",
    ]
    lines += _limited(
        [
            f"  {p['event_id']} ({p['project']}): {p['field']} {p['value']!r}: {p['problem']}"
            for p in problems
        ]
    )
    return "\n".join(lines)


def sourcemaps_text(report: dict) -> str:
    """The frames that would stay minified, and why; or what resolved."""
    events, unresolved = report["events"], report["unresolved_frames"]
    if not events:
        query = f" {report['query']!r}" if report.get("query") else ""
        return (
            f"sentry-stub source map check: no JavaScript events matched{query}, so nothing "
            "says Sentry would show original source."
        )
    checked = _plural(len(events), "JavaScript event")
    if report["passed"]:
        lines = [f"sentry-stub source map check: every in-app frame of {checked} resolves."]
        lines += _limited(
            [
                f"  {_frame_place(frame)} -> {frame['source']}:{frame['line']}:{frame['column']}"
                f" ({frame['resolved_by']})"
                for event in events
                for frame in event["frames"]
                if frame["resolved"]
            ]
        )
        return "\n".join(lines)
    lines = [
        f"sentry-stub source map check: {_plural(unresolved, 'in-app frame')} of {checked} "
        "would stay minified in Sentry:"
    ]
    rows = []
    for event in events:
        frames = [f for f in event["frames"] if f["in_app"] and f["checked"] and not f["resolved"]]
        if frames:
            rows.append(
                f"  event {event['event_id']} (project {event['project']}, release "
                f"{event['release'] or '(none)'}, dist {event['dist'] or '(none)'}):"
            )
        by_reason: dict[str, list[str]] = {}
        for frame in reversed(frames):  # the most recent call first, as Sentry shows them
            by_reason.setdefault(frame["reason"], []).append(f"    {_frame_place(frame)}")
        for reason, places in by_reason.items():
            rows += [*places, f"      {reason}"]
    lines += _limited(rows)
    return "\n".join(lines)


def _frame_place(frame: dict) -> str:
    return f"{frame['abs_path'] or '(no file)'}:{frame['lineno']}:{frame['colno']}"


def _finding_line(finding: dict) -> str:
    return (
        f"  event {finding['event_id']} ({finding['project']}): {finding['path']} "
        f"[{finding['rule']}] {finding['excerpt']!r}"
    )


def _finding_lines(finding: dict) -> list[str]:
    return [_finding_line(finding), f"    trigger: {finding['trigger']}"]


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _limited(lines: list[str]) -> list[str]:
    if len(lines) <= MAX_LINES:
        return lines
    return [*lines[:MAX_LINES], f"  ... and {len(lines) - MAX_LINES} more"]


def _counts(counts: dict) -> str:
    return ", ".join(f"{key}={value}" for key, value in counts.items()) or "none"
