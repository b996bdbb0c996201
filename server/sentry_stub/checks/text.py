"""Check reports as text for people: in a failed assertion, or from ``sentry-stub check``."""

from __future__ import annotations

MAX_LINES = 50


def pii_text(report: dict) -> str:
    leaks, allowed = report["leaks"], report["allowed"]
    verdict = "no PII leaks" if report["passed"] else f"{len(leaks)} PII leak(s)"
    lines = [f"sentry-stub PII check: {verdict} in {report['checked']} event(s)."]
    if leaks:
        lines.append("Values Sentry's scrubbers would remove (fix them in the app, before_send):")
        lines += _limited([_finding_line(leak) for leak in leaks])
    if allowed:
        lines.append(f"Allowed by {', '.join(report['allow'])}:")
        lines += _limited([_finding_line(finding) for finding in allowed])
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


def _finding_line(finding: dict) -> str:
    return (
        f"  event {finding['event_id']} ({finding['project']}): {finding['path']} "
        f"[{finding['rule']}] {finding['excerpt']!r}"
    )


def _limited(lines: list[str]) -> list[str]:
    if len(lines) <= MAX_LINES:
        return lines
    return [*lines[:MAX_LINES], f"  ... and {len(lines) - MAX_LINES} more"]


def _counts(counts: dict) -> str:
    return ", ".join(f"{key}={value}" for key, value in counts.items()) or "none"
