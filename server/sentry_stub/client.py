"""An HTTP client of the query API, shared by the pytest plugin and the CLI.

It speaks through the standard library's ``http.client`` on purpose: sentry-sdk instruments
``http.client`` but leaves requests to its own DSN host alone, so a test process whose app runs
sentry-sdk gets no breadcrumbs or spans from the stub's own queries.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson

from .arguments import checked
from .query.errors import QuerySyntaxError


class StubConnectionError(ConnectionError):
    """The server could not be reached at all: nothing listens there, or it did not answer."""

    def __init__(self, url: str, error: OSError):
        self.url = url
        self.reason = error.strerror or str(error)
        super().__init__(f"cannot reach sentry-stub at {url}: {self.reason}")


class StubApiError(Exception):
    """The server refused a request; ``detail`` is its explanation."""

    def __init__(self, status: int, detail: str, body: Any = None):
        self.status = status
        self.detail = detail
        self.body = body
        super().__init__(f"{status}: {detail}")


Params = dict[str, Any]


class Records(list[dict]):
    """Records of a search, with the query ``warnings`` the server answered with."""

    def __init__(self, records: Iterable[dict] = (), warnings: Iterable[str] = ()):
        super().__init__(records)
        self.warnings = list(warnings)

    @classmethod
    def of(cls, answer: dict) -> Records:
        return cls(answer["data"], answer.get("warnings", ()))


@checked
class StubClient:
    """``keys``: see only what was sent with these DSN public keys (per-worker isolation)."""

    def __init__(self, url: str, *, timeout: float = 30.0, keys: Sequence[str] = ()):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "") or not parts.hostname:
            raise ValueError(f"sentry-stub URL must look like http://HOST:PORT, got {url!r}")
        self.url = url.rstrip("/")
        self._host = parts.hostname
        self._port = parts.port or 80
        self._timeout = timeout
        self._local = threading.local()
        self.keys = tuple(keys)

    def scoped(self, keys: Sequence[str]) -> StubClient:
        """A client of the same server that sees only what was sent with ``keys``."""
        return StubClient(self.url, timeout=self._timeout, keys=keys)

    # --- the API ---------------------------------------------------------------------------

    def cursor(self) -> int:
        return self.get("/stub/api/cursor")["cursor"]

    def wait(self, *, after: int, timeout: float = 10.0) -> int:
        """Long poll: the receive cursor as soon as it differs from ``after``.

        Something arrived (the cursor is above ``after``) or the server was reset (below it:
        item ids start again); otherwise at ``timeout`` (the server caps it at 60 s) the cursor
        as it is.
        """
        params = {"after": after, "timeout": f"{timeout:.3f}"}
        return self.get("/stub/api/wait", params)["cursor"]

    def projects(self) -> list[dict]:
        return self.get("/stub/api/projects")["data"]

    def project(self, slug: str) -> dict:
        """The project ``slug`` (created on first use in open mode), with its DSN."""
        return self.request("POST", "/stub/api/projects", body={"slug": slug})

    def events(
        self,
        query: str = "",
        *,
        after: int = 0,
        project: str | int | None = None,
        limit: int = 1000,
        order: str = "asc",
    ) -> Records:
        """Events matching a search, with its ``warnings``."""
        params = {"query": query, "after": after, "project": project, "limit": limit}
        return Records.of(self.get("/stub/api/events", {**params, "order": order}))

    def explain(
        self, query: str = "", *, after: int = 0, project: str | int | None = None
    ) -> Records:
        """The newest events ``query`` misses, each with the clause that excluded it."""
        params = {"query": query, "after": after, "project": project}
        return Records.of(self.get("/stub/api/explain", params))

    def event(self, event_id: str) -> dict:
        return self.get(f"/stub/api/events/{event_id}")

    def envelopes(self, *, after: int = 0, project: str | int | None = None) -> list[dict]:
        return self.get("/stub/api/envelopes", {"after": after, "project": project})["data"]

    def items(
        self,
        types: Sequence[str] = (),
        *,
        after: int = 0,
        project: str | int | None = None,
        content: bool = False,
    ) -> list[dict]:
        params = {
            "type": ",".join(types) or None,
            "after": after,
            "project": project,
            "content": "1" if content else None,
        }
        return self.get("/stub/api/items", params)["data"]

    def rows(self, kind: str, *, after: int = 0, project: str | int | None = None) -> list[dict]:
        return self.get(f"/stub/api/rows/{kind}", {"after": after, "project": project})["data"]

    def summary(self, *, after: int = 0) -> dict:
        return self.get("/stub/api/summary", {"after": after})

    def discover(
        self,
        fields: Iterable[str],
        query: str = "",
        *,
        sort: Iterable[str] = (),
        after: int = 0,
        project: str | int | None = None,
        per_page: int = 100,
    ) -> dict:
        params = {
            "field": list(fields),
            "query": query,
            "sort": list(sort),
            "after": after,
            "project": project,
            "per_page": per_page,
        }
        return self.get("/stub/api/discover", params)

    def pipe_query(self, text: str, *, after: int = 0, project: str | int | None = None) -> dict:
        return self.get("/stub/api/query", {"q": text, "after": after, "project": project})

    def reset(self) -> None:
        """Delete everything received (projects stay); a JSON body, as the server's guard asks."""
        self.request("POST", "/stub/api/reset", body={})

    # --- checks (each answers a report with `passed`) ---------------------------------------

    def check_pii(
        self,
        *,
        after: int = 0,
        project: str | int | None = None,
        allow: Sequence[str] = (),
        include: Sequence[str] = (),
        scope: str = "app",
        items: Sequence[int] = (),
    ) -> dict:
        """Personal data in the events as sent; ``items`` limits the check to those events."""
        params = {
            "after": after,
            "project": project,
            "allow": list(allow),
            "include": list(include),
            "scope": scope,
            "item": ",".join(map(str, items)) or None,
        }
        return self.get("/stub/api/checks/pii", params)

    def check_sampling(
        self,
        expected: float,
        *,
        category: str = "transaction",
        confidence: float = 0.99,
        after: int = 0,
        project: str | int | None = None,
    ) -> dict:
        params = {
            "expected": repr(float(expected)),
            "category": category,
            "confidence": repr(float(confidence)),
            "after": after,
            "project": project,
        }
        return self.get("/stub/api/checks/sampling", params)

    def check_releases(
        self,
        *,
        environments: Sequence[str] = (),
        pattern: str | None = None,
        after: int = 0,
        project: str | int | None = None,
    ) -> dict:
        params = {
            "environments": ",".join(environments) or None,
            "pattern": pattern,
            "after": after,
            "project": project,
        }
        return self.get("/stub/api/checks/releases", params)

    def check_sourcemaps(
        self,
        query: str = "",
        *,
        after: int = 0,
        project: str | int | None = None,
        items: Sequence[int] = (),
    ) -> dict:
        """Whether the JavaScript events a search matches (or ``items``) would be shown with
        their original source; every frame with its answer."""
        params = {
            "query": query or None,
            "after": after,
            "project": project,
            "item": ",".join(map(str, items)) or None,
        }
        return self.get("/stub/api/checks/sourcemaps", params)

    # --- releases, deploys and source maps sent by sentry-cli (webapi/) ---------------------

    def releases(
        self, *, org: str | None = None, project: str | None = None, version: str | None = None
    ) -> list[dict]:
        """Releases (newest first) with ``finalized``, ``commits``, ``deploys`` and ``files``."""
        params = {"org": org, "project": project, "version": version}
        return self.get("/stub/api/releases", params)["data"]

    # --- alert and ownership rules (rules/ describes them) ----------------------------------

    def alerts(self, *, after: int = 0, project: str | int | None = None) -> list[dict]:
        """Alert rules that fired after the cursor, with why and what each action sent."""
        return self.get("/stub/api/alerts", {"after": after, "project": project})["data"]

    def evaluate_alerts(self, *, project: str | int | None = None) -> list[dict]:
        """Recompute the metric alerts now; returns the incidents that changed status."""
        return self.request("POST", "/stub/api/alerts/evaluate", params={"project": project})[
            "changes"
        ]

    def issues(self, *, after: int = 0, project: str | int | None = None) -> list[dict]:
        """Issues that got an event after the cursor."""
        return self.get("/stub/api/issues", {"after": after, "project": project})["data"]

    def resolve_issue(self, issue_id: int) -> None:
        """Resolve an issue: its next event is a regression."""
        self.request("POST", f"/stub/api/issues/{int(issue_id)}/resolve")

    def owners(self, event: dict, *, project: str) -> dict:
        """Who owns ``event`` under the ownership rules of ``project``."""
        return self.request("POST", "/stub/api/owners", body={"project": project, "event": event})

    def owners_of_event(self, event_id: str) -> dict:
        """Who owns the stored event ``event_id``."""
        return self.get(f"/stub/api/owners/{event_id}")

    # --- fault rules (ingest/faults.py describes them) ------------------------------------

    def faults(self) -> list[dict]:
        return self.request("GET", "/stub/api/faults")["data"]

    def add_fault(self, rule: dict) -> dict:
        """Activate ``rule``; returns it with its ``id``."""
        return self.request("POST", "/stub/api/faults", body=rule)

    def remove_fault(self, fault_id: int) -> None:
        self.request("DELETE", f"/stub/api/faults/{fault_id}")

    def clear_faults(self) -> None:
        self.request("DELETE", "/stub/api/faults")

    # --- forwarding, export and import (storage/transfer.py describes the records) --------

    def forwards(
        self,
        *,
        project: str | int | None = None,
        state: str | None = None,
        after_envelope: int = 0,
        limit: int = 100,
    ) -> dict:
        """Forward states in receive order (``data``) and how many are in each state."""
        params = {"project": project, "state": state, "after_envelope": after_envelope}
        return self.get("/stub/api/forwards", {**params, "limit": limit})

    def export_page(
        self,
        query: str = "",
        *,
        after: int = 0,
        project: str | int | None = None,
        since: int = 0,
        limit: int = 100,
    ) -> dict:
        """Export records after envelope ``since`` (``data``) and the ``next`` page's ``since``."""
        params = {"query": query, "after": after, "project": project, "since": since}
        return self.get("/stub/api/export", {**params, "limit": limit})

    def import_records(self, records: Sequence[dict]) -> int:
        """Store export records (all of them or, refused, none); how many were stored."""
        body = {"records": list(records)}
        return self.request("POST", "/stub/api/import", body=body)["imported"]

    # --- transport -------------------------------------------------------------------------

    def get(self, path: str, params: Params | None = None) -> Any:
        if self.keys:
            params = {**(params or {}), "key": list(self.keys)}
        return self.request("GET", path, params=params)

    def request(
        self, method: str, path: str, *, params: Params | None = None, body: Any = None
    ) -> Any:
        query = _encode(params or {})
        target = f"{path}?{query}" if query else path
        payload = orjson.dumps(body) if body is not None else None
        # Every write says JSON, with or without a body: the server refuses other POSTs as ones
        # a web page could have sent cross-site (ingest/guard.py).
        headers = {"content-type": "application/json"} if method != "GET" else {}
        status, data = self._send(method, target, payload, headers)
        parsed = orjson.loads(data) if data else None
        if status >= 400:
            detail = parsed.get("detail") if isinstance(parsed, dict) else data.decode()
            if isinstance(parsed, dict) and {"column", "query"} <= parsed.keys():
                raise QuerySyntaxError.from_detail(str(detail), parsed["column"], parsed["query"])
            raise StubApiError(status, str(detail), parsed)
        return parsed

    def _send(
        self, method: str, target: str, payload: bytes | None, headers: dict
    ) -> tuple[int, bytes]:
        try:
            try:
                return self._exchange(method, target, payload, headers)
            except (http.client.HTTPException, ConnectionError):
                # The server may have closed the kept-alive connection: retry once on a new one.
                self._local.connection = None
                return self._exchange(method, target, payload, headers)
        except OSError as error:
            raise StubConnectionError(self.url, error) from error

    def _exchange(
        self, method: str, target: str, payload: bytes | None, headers: dict
    ) -> tuple[int, bytes]:
        connection = self._connection()
        try:
            connection.request(method, target, body=payload, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        except BaseException:
            connection.close()
            raise

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
            self._local.connection = connection
        return connection


def _encode(params: Params) -> str:
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None or value == "":
            continue
        for single in value if isinstance(value, list) else [value]:
            pairs.append((key, str(single)))
    return urlencode(pairs)
