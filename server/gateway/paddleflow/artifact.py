"""Artifacts at PaddleFlow's path (GET /artifact), backed by ListArtifacts. Filters and
fields as the SDK sends and reads them (client/paddleflow/run/run_api.py
list_artifact): userFilter, runFilter, typeFilter, pathFilter; `artifactEventList`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from dagwire.server.gateway.paddleflow.common import (
    Call,
    PaddleFlowApi,
    filter_text,
    page_of,
    pf_time,
)
from dagwire.server.gateway.paddleflow.run import no_fs, status_name

WORKFLOW = "WorkflowService"


def artifact_json(artifact: dict[str, Any]) -> dict[str, Any]:
    return {
        "runID": artifact["run_id"],
        "fsname": "",
        "username": artifact["username"],
        "artifactPath": artifact["path"],
        "step": artifact["step_name"],
        "type": status_name(artifact["type"], "ARTIFACT_TYPE_"),
        "artifactName": artifact["name"],
        "meta": "",
        "createTime": pf_time(artifact.get("create_time", "")),
        "updateTime": pf_time(artifact.get("create_time", "")),
    }


def routes(api: PaddleFlowApi) -> list[web.RouteDef]:
    async def list_artifact(call: Call) -> dict[str, Any]:
        page = page_of(call)
        no_fs(call.query("fsFilter"))
        where = {
            "username": call.query("userFilter"),
            "run_id": call.query("runFilter"),
            "type": call.query("typeFilter"),
            "path": call.query("pathFilter"),
        }
        answer = await api.call(
            call, WORKFLOW, "ListArtifacts", page.request() | {"filter": filter_text(where)}
        )
        artifacts = [artifact_json(a) for a in answer["artifacts"]]
        return page.answer(answer["next_page_token"], artifactEventList=artifacts)

    return [api.route("GET", "/artifact", list_artifact)]
