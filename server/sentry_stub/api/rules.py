"""The rules part of the query API: alerts that fired, issues, ownership.

``GET /stub/api/alerts`` lists firings after a receive cursor with each action's message and
delivery; ``POST /stub/api/alerts/evaluate`` recomputes metric alerts now; ``GET /stub/api/issues``
and ``POST /stub/api/issues/{id}/resolve`` (a later event is then a regression);
``GET /stub/api/owners/{event_id}`` and ``POST /stub/api/owners`` (``{"project", "event"}``)
answer who owns an event.
"""

from __future__ import annotations

import time
from functools import partial

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..config import Settings
from ..processing.issues import evaluate_metric_alert, resolve_issue
from ..rules import history
from ..rules.actions import ownership_of, render_actions
from ..rules.config import Ownership
from ..rules.ownership import matching_rules, owners_of
from ..storage import reader
from ..storage.database import Database
from ..storage.projects import ProjectRegistry
from .params import ApiError, Params, json_body, path_id, project_id_of


class RulesApi:
    def __init__(self, settings: Settings, projects: ProjectRegistry, database: Database):
        self.settings = settings
        self.projects = projects
        self.database = database

    async def alerts(self, request: Request) -> Response:
        params = Params(request)
        read = partial(
            history.firings,
            after=params.integer("after", 0),
            project_ids=self._project_ids(params),
        )
        firings = await self.database.read(read)
        return JSONResponse({"data": [self._firing_json(firing) for firing in firings]})

    async def evaluate(self, request: Request) -> Response:
        """Recompute every metric alert (of ``project``, if given) as of now."""
        params = Params(request)
        wanted = set(self._project_ids(params))
        projects = [p for p in self.projects.all() if not wanted or p.id in wanted]

        def evaluate_all(connection) -> list[dict]:
            now, cursor = time.time(), reader.cursor(connection)
            changes = []
            for project in projects:
                for rule in project.rules.metric_alerts:
                    status = evaluate_metric_alert(connection, project, rule, now, cursor)
                    if status is not None:
                        change = {"project": project.slug, "rule": rule.name, "status": status}
                        changes.append(change)
            return changes

        return JSONResponse({"changes": await self.database.write(evaluate_all)})

    async def issues(self, request: Request) -> Response:
        params = Params(request)
        issues = partial(
            history.issues, after=params.integer("after", 0), project_ids=self._project_ids(params)
        )

        def read(connection) -> list[dict]:
            found = issues(connection)
            for issue, users in zip(
                found, reader.issue_user_counts(connection, found), strict=True
            ):
                issue["users"] = users
            return found

        return JSONResponse({"data": await self.database.read(read)})

    async def resolve(self, request: Request) -> Response:
        issue_id = path_id(request, "issue_id")
        resolve = partial(resolve_issue, issue_id=issue_id, now=time.time())
        found = await self.database.write(resolve)
        if not found:
            raise ApiError(404, f"no issue {issue_id}")
        return JSONResponse({"id": issue_id, "status": "resolved"})

    async def owners_of_event(self, request: Request) -> Response:
        event_id = request.path_params["event_id"].replace("-", "").lower()
        record = await self.database.read(partial(reader.event_by_id, event_id=event_id))
        if record is None:
            raise ApiError(404, f"no event with id {event_id}")
        ownership = ownership_of(self.projects, record["project"])
        return JSONResponse(_owners_json(ownership, record["data"] or {}))

    async def owners_of_body(self, request: Request) -> Response:
        body = await json_body(request)
        event, slug = body.get("event"), body.get("project")
        if not isinstance(event, dict):
            raise ApiError(400, 'body must be {"project": SLUG, "event": {...event JSON}}')
        if not isinstance(slug, str) or self.projects.by_slug(slug) is None:
            raise ApiError(404, f"no project with slug {slug!r}")
        return JSONResponse(_owners_json(ownership_of(self.projects, slug), event))

    def _firing_json(self, firing: dict) -> dict:
        ownership = ownership_of(self.projects, firing["project"])
        deliveries = {d["action_index"]: d for d in firing["deliveries"]}
        actions = []
        for index, rendered in enumerate(render_actions(firing, self.settings.base_url, ownership)):
            rendered.pop("headers")
            if index in deliveries:
                delivery = {k: v for k, v in deliveries[index].items() if k != "action_index"}
            elif rendered["url"]:
                delivery = {"status": "pending"}
            else:
                delivery = {"status": "recorded"}  # no URL: the message is what it would send
            actions.append({**rendered, "delivery": delivery})
        return {
            "id": firing["id"],
            "rule": firing["rule_name"],
            "kind": firing["rule_kind"],
            "status": firing["status"],
            "fired_at": firing["fired_at"],
            "project": firing["project"],
            "issue_id": firing["issue_id"],
            "event_id": firing["event_id"],
            "value": firing["value"],
            "reasons": firing["reasons"],
            **firing["context"],  # the issue or the metric alert, as they were at firing
            "actions": actions,
        }

    def _project_ids(self, params: Params) -> list[int]:
        ids = []
        for value in params.list("project"):
            project_id = project_id_of(value, "project")
            project = (
                self.projects.get(project_id)
                if project_id is not None
                else self.projects.by_slug(value)
            )
            if project is None:
                raise ApiError(404, f"no project {value!r}")
            ids.append(project.id)
        return ids


def _owners_json(ownership: Ownership, event: dict) -> dict:
    matches = matching_rules(ownership.rules, event)
    owners = [owner.to_json() for owner in owners_of(matches)]
    return {
        "owners": owners,
        "assignee": owners[0] if owners and ownership.auto_assignment else None,
        "rules": [{**m.rule.to_json(), "matched": m.value} for m in matches],
        "fallthrough": not matches and ownership.fallthrough,
    }
