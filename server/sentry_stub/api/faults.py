"""Fault rules at run time, under ``/stub/api/faults``: list, add, remove one, remove all.

A rule is posted in the same JSON shape a ``[[faults]]`` table has in the config file
(``ingest/faults.py`` describes it) and answered with ``201`` and the rule with its ``id``.
Listed rules carry ``hits`` (requests affected so far) and ``active`` (still in force).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..ingest.faults import FaultRuleError, FaultRules, parse_fault_rule
from ..storage.projects import ProjectRegistry
from .params import ApiError, json_body, project_id_of


class FaultsApi:
    def __init__(self, faults: FaultRules, projects: ProjectRegistry):
        self.faults = faults
        self.projects = projects

    async def list_faults(self, request: Request) -> Response:
        return JSONResponse({"data": self.faults.listing()})

    async def add_fault(self, request: Request) -> Response:
        data = await json_body(request)
        try:
            rule = parse_fault_rule(data)
        except FaultRuleError as error:
            raise ApiError(400, str(error)) from None
        if rule.project is not None and self.projects.strict and not self._known(rule.project):
            raise ApiError(400, f"project {rule.project!r} is not in the config")
        fault = self.faults.add(rule)
        return JSONResponse(fault.to_json(self.faults.clock()), status_code=201)

    async def remove_fault(self, request: Request) -> Response:
        fault_id = request.path_params["fault_id"]
        if not self.faults.remove(fault_id):
            raise ApiError(404, f"no fault rule with id {fault_id}")
        return Response(status_code=204)

    async def clear_faults(self, request: Request) -> Response:
        self.faults.clear()
        return Response(status_code=204)

    def _known(self, project: str) -> bool:
        project_id = project_id_of(project, "project")
        if project_id is not None:
            return self.projects.get(project_id) is not None
        return self.projects.by_slug(project) is not None
