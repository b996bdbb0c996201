"""The event Relay makes of a browser security report (a ``raw_security`` item).

The endpoint (``ingest/security.py``) stores the browser's JSON untouched as a ``raw_security``
item; Relay turns it into an event later, during processing. ``security_event`` is that
conversion, following Relay's
``relay-event-schema`` (``security_report.rs``): a CSP report, either the classic
``{"csp-report": {...}}`` or a Reporting API object ``{"type": "csp-violation", "body": {...}}``,
becomes a ``csp`` event with Sentry's message (``Blocked 'script' from 'evil.com'``), culprit,
tags and request. Current Relay no longer converts Expect-CT, Expect-Staple or HPKP reports: it
accepts them (HTTP 200) and drops them in processing, and so do we, with a protocol note.
"""

from __future__ import annotations

import re
from typing import Any

DIRECTIVES = frozenset(
    [
        "base-uri",
        "child-src",
        "connect-src",
        "default-src",
        "fenced-frame-src",
        "font-src",
        "form-action",
        "frame-ancestors",
        "frame-src",
        "img-src",
        "manifest-src",
        "media-src",
        "object-src",
        "plugin-types",
        "prefetch-src",
        "referrer",
        "script-src",
        "script-src-attr",
        "script-src-elem",
        "style-src",
        "style-src-elem",
        "style-src-attr",
        "upgrade-insecure-requests",
        "worker-src",
        "sandbox",
        "navigate-to",
        "report-uri",
        "report-to",
        "block-all-mixed-content",
        "require-sri-for",
        "require-trusted-types-for",
        "trusted-types",
    ]
)
# What the message calls the blocked thing, per directive (Relay's wording).
_KIND = {
    "child-src": "child",
    "connect-src": "connect",
    "font-src": "font",
    "img-src": "image",
    "manifest-src": "manifest",
    "media-src": "media",
    "object-src": "object",
    "script-src": "script",
    "script-src-elem": "script",
    "style-src": "style",
    "style-src-elem": "style",
}
_INLINE_MESSAGES = {
    "script-src-attr": "Blocked unsafe 'script' element",
    "script-src-elem": "Blocked inline script attribute",
    "style-src-elem": "Blocked 'style' or 'link' element",
    "style-src-attr": "Blocked style attribute",
    "script-src": "Blocked unsafe (eval() or inline) 'script'",
}
_LEGACY_REPORTS = {
    "expect-ct-report": "Expect-CT",
    "expect-staple-report": "Expect-Staple",
    "known-pins": "HPKP",
}

# CSP report fields: our name, then every spelling browsers use (CSP2, CSP3 Reporting API).
_CSP_FIELDS: dict[str, tuple[str, ...]] = {
    "effective_directive": ("effective-directive", "effectiveDirective"),
    "blocked_uri": ("blockedURL", "blocked-uri"),
    "document_uri": ("documentURL", "document-uri"),
    "original_policy": ("originalPolicy", "original-policy"),
    "referrer": (),
    "status_code": ("statusCode", "status-code"),
    "violated_directive": ("violatedDirective", "violated-directive"),
    "source_file": ("sourceFile", "source-file"),
    "line_number": ("lineNumber", "line-number"),
    "column_number": ("columnNumber", "column-number"),
    "script_sample": ("scriptSample", "script-sample", "sample"),
    "disposition": (),
}
_NUMBER_FIELDS = ("status_code", "line_number", "column_number")


class InvalidReport(ValueError):
    """A report Relay cannot convert; the event is dropped."""


def security_event(
    report: Any,
    *,
    release: str | None = None,
    environment: str | None = None,
    origin: str | None = None,
    user_agent: str | None = None,
) -> tuple[dict[str, Any] | None, list[str]]:
    """The event Relay makes of a ``raw_security`` payload (parsed JSON), plus protocol notes.

    ``release``/``environment`` are the item's ``sentry_release``/``sentry_environment``
    headers, ``origin`` the request's Origin header. ``user_agent`` is added as a
    ``User-Agent`` request header when the event has none, as Relay's normalization does.
    Returns ``(None, notes)`` for reports Relay drops.
    """
    try:
        raw = _csp_report(report)
        directive = _effective_directive(raw)
    except InvalidReport as error:
        return None, [f"security report dropped as Relay drops it: {error}"]
    event: dict[str, Any] = {
        "type": "csp",
        "logentry": {"formatted": _message(raw, directive)},
        "culprit": _culprit(raw),
        "tags": _tags(raw, directive),
        "request": _request(raw),
        "csp": _csp_interface(raw, directive),
    }
    if release is not None:
        event["release"] = release
    if environment is not None:
        event["environment"] = environment
    headers = event["request"].setdefault("headers", [])
    if origin is not None:
        headers[:] = [pair for pair in headers if pair[0].lower() != "origin"]
        headers.append(["Origin", origin])
    if user_agent and not any(name.lower() == "user-agent" for name, _ in headers):
        headers.append(["User-Agent", user_agent])
    if not headers:
        del event["request"]["headers"]
    if not event["request"]:
        del event["request"]
    return event, []


def _csp_report(report: Any) -> dict[str, Any]:
    """The inner CSP report, with Relay's field names and types, or ``InvalidReport``."""
    if not isinstance(report, dict):
        raise InvalidReport("the report is not a JSON object")
    kind = report.get("type")
    if kind is not None and not isinstance(kind, str):
        raise InvalidReport("`type` is not a string")
    if report.get("csp-report") is None and kind != "csp-violation":
        legacy = next((name for key, name in _LEGACY_REPORTS.items() if key in report), None)
        if legacy is not None:
            raise InvalidReport(f"{legacy} reports are no longer supported by Relay")
        if kind is not None:
            raise InvalidReport(f"unsupported Reporting API report type {kind!r}")
        raise InvalidReport("not a recognised security report (no `csp-report` or `type`)")
    errors = []
    for candidate in (report.get("csp-report"), report.get("body")):
        try:
            return _read_csp_fields(candidate)
        except InvalidReport as error:
            errors.append(str(error))
    raise InvalidReport("invalid CSP report: " + "; ".join(errors))


def _read_csp_fields(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidReport("report body is not an object")
    fields: dict[str, Any] = {"other": {}}
    known = {}
    for canonical, spellings in _CSP_FIELDS.items():
        for spelling in (canonical, *spellings):
            known[spelling] = canonical
    for key, value in raw.items():
        name = known.get(key)
        if name is None:
            fields["other"][key] = value
        elif name in fields:
            raise InvalidReport(f"duplicate field `{name}`")
        else:
            fields[name] = _typed_csp_value(name, value)
    fields.setdefault("blocked_uri", "self")
    fields.setdefault("violated_directive", "")
    return fields


def _typed_csp_value(name: str, value: Any) -> Any:
    if name in _NUMBER_FIELDS:
        if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            return value
        if isinstance(value, str) and value.isascii() and value.lstrip("+").isdigit():
            return int(value)
        raise InvalidReport(f"`{name}` is not a number: {value!r}")
    required = name in ("blocked_uri", "violated_directive")
    if isinstance(value, str) or (value is None and not required):
        return value
    raise InvalidReport(f"`{name}` is not a string: {value!r}")


def _effective_directive(raw: dict[str, Any]) -> str:
    """Firefox sends no effective-directive: then the violated directive's first word."""
    for candidate in (raw.get("effective_directive"), raw["violated_directive"]):
        if candidate is not None and candidate.split(" ", 1)[0] in DIRECTIVES:
            return candidate.split(" ", 1)[0]
    raise InvalidReport("invalid security report: no known CSP directive")


def _message(raw: dict[str, Any], directive: str) -> str:
    blocked = raw["blocked_uri"]
    if directive == "script-src" and blocked in ("inline", "eval"):
        return f"Blocked unsafe {'inline' if blocked == 'inline' else 'eval()'} 'script'"
    if _is_local(blocked):
        if directive in _INLINE_MESSAGES:
            return _INLINE_MESSAGES[directive]
        return f"Blocked inline '{_KIND.get(directive, directive)}'"
    uri = normalize_uri(blocked)
    if directive == "form-action":
        return f"Blocked 'form' action to '{uri}'"
    if directive == "script-src-attr":
        return f"Blocked inline script attribute from '{uri}'"
    if directive == "style-src-attr":
        return f"Blocked style attribute from '{uri}'"
    return f"Blocked '{_KIND.get(directive, directive)}' from '{uri}'"


def _culprit(raw: dict[str, Any]) -> str:
    bits = raw["violated_directive"].split()
    if not bits:
        return ""
    document = normalize_uri(raw.get("document_uri") or "")
    return " ".join([bits[0], *(_normalize_source(raw, bit, document) for bit in bits[1:])])


def _normalize_source(raw: dict[str, Any], value: str, document: str) -> str:
    """A policy source as Sentry shows it: the document's own origin becomes ``'self'``."""
    if value in ("'none'", "'self'", "'unsafe-inline'", "'unsafe-eval'"):
        return value
    schemes = ("data:", "mediastream:", "blob:", "filesystem:", "http:", "https:", "file:")
    if value.startswith(schemes):
        return "'self'" if document == normalize_uri(value) else value
    if value == document:
        return "'self'"
    original = raw.get("document_uri") or ""
    scheme = original.split(":", 1)[0] if ":" in original else None
    return value if scheme in (None, "http", "https") else _unsplit(scheme, value)


def _tags(raw: dict[str, Any], directive: str) -> list[list[str]]:
    blocked = raw["blocked_uri"]
    sanitized = blocked
    if blocked.startswith("https://api.stripe.com/"):
        # Stripe puts card data in query strings (Relay's special case).
        sanitized = re.split(r"[#?]", blocked, maxsplit=1)[0]
    tags = [["effective-directive", directive], ["blocked-uri", sanitized]]
    parsed = _parse_url(blocked)
    if parsed is not None and parsed[0] in ("http", "https") and parsed[1]:
        tags.append(["blocked-host", parsed[1]])
    return tags


def _request(raw: dict[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {}
    if raw.get("document_uri") is not None:
        request["url"] = raw["document_uri"]
    if raw.get("referrer"):
        request["headers"] = [["Referer", raw["referrer"]]]
    return request


def _csp_interface(raw: dict[str, Any], directive: str) -> dict[str, Any]:
    csp = {"effective_directive": directive}
    for name in _CSP_FIELDS:
        if name != "effective_directive" and raw.get(name) is not None:
            csp[name] = raw[name]
    csp.update(raw["other"])
    return csp


def _is_local(uri: str) -> bool:
    return uri in ("", "self", "'self'")


_SCHEMES_WITH_HOST = frozenset(
    [
        "ftp",
        "http",
        "gopher",
        "nntp",
        "telnet",
        "imap",
        "wais",
        "file",
        "mms",
        "https",
        "shttp",
        "snews",
        "prospero",
        "rtsp",
        "rtspu",
        "rsync",
        "svn",
        "svn+ssh",
        "sftp",
        "nfs",
        "git",
        "git+ssh",
        "ws",
        "wss",
    ]
)
_SPECIAL_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21, "file": None}


def normalize_uri(value: str) -> str:
    """A URI shortened the way Sentry shows it: ``https://evil.com/x.js`` -> ``evil.com``."""
    if _is_local(value):
        return "'self'"
    if ":" not in value:
        return _unsplit(value, "")
    parsed = _parse_url(value)
    if parsed is None:
        return value
    scheme, host, port = parsed
    short = (host or "") if scheme in ("http", "https") else _unsplit(scheme, host or "")
    return f"{short}:{port}" if port is not None else short


def _unsplit(scheme: str, host: str) -> str:
    """Python's ``urlunsplit`` quirks, as Relay mimics them."""
    if host or scheme in _SCHEMES_WITH_HOST:
        return f"{scheme}://{host}"
    return f"{scheme}:{host}" if scheme else ""


def _parse_url(value: str) -> tuple[str, str | None, int | None] | None:
    """(scheme, host, non-default port) per the WHATWG URL rules that matter here, or None."""
    scheme, sep, rest = value.partition(":")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        return None
    scheme = scheme.lower()
    special = scheme in _SPECIAL_PORTS
    if special:
        rest = rest.lstrip("/\\")
    elif rest.startswith("//"):
        rest = rest[2:]
    else:
        return scheme, None, None
    authority = re.split(r"[/?#\\]" if special else r"[/?#]", rest, maxsplit=1)[0]
    hostport = authority.rpartition("@")[2]
    match = re.fullmatch(r"(\[[^\]]*\]|[^:]*)(?::(\d*))?", hostport)
    if match is None:
        return None
    host, port_text = match.group(1), match.group(2)
    if special:
        host = host.lower()
        if not host and scheme != "file":
            return None
    port = int(port_text) if port_text else None
    if port is not None and port > 65535:
        return None
    if port == _SPECIAL_PORTS.get(scheme):
        port = None
    return scheme, host or None, port
