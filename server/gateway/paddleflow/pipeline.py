"""Pipelines at PaddleFlow's paths (pkg/apiserver/router/v1/pipeline.go), backed by
WorkflowService's pipeline RPCs: create (201), list, show with its versions, update
(a new version, 201), delete, and a version's show and delete."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from dagwire.server.gateway.paddleflow.common import (
    Answer,
    Call,
    PaddleFlowApi,
    filter_text,
    page_of,
    pf_time,
    spec_of,
    text,
)

WORKFLOW = "WorkflowService"


def pipeline_json(pipeline: dict[str, Any]) -> dict[str, Any]:
    return {
        "pipelineID": pipeline["pipeline_id"],
        "name": pipeline["name"],
        "username": pipeline["username"],
        "desc": pipeline["description"],
        "createTime": pf_time(pipeline.get("create_time", "")),
        "updateTime": pf_time(pipeline.get("update_time", "")),
    }


def version_json(version: dict[str, Any]) -> dict[str, Any]:
    return {
        "pipelineVersionID": version["pipeline_version_id"],
        "pipelineID": version["pipeline_id"],
        "fsName": "",
        "yamlPath": "",
        "pipelineYaml": version["pipeline_yaml"],
        "username": version["username"],
        "createTime": pf_time(version.get("create_time", "")),
        "updateTime": pf_time(version.get("create_time", "")),
    }


def routes(api: PaddleFlowApi) -> list[web.RouteDef]:
    async def create_pipeline(call: Call) -> Answer:
        # client/paddleflow/pipeline/pipeline_api.py create_pipeline
        body = await call.body()
        answer = await api.call(
            call,
            WORKFLOW,
            "CreatePipeline",
            {
                **spec_of(body, "yamlRaw", "yamlPath", "pipeline_yaml", "pipeline_yaml_path"),
                "fs_name": text(body, "fsname"),
                "description": text(body, "desc"),
                "username": text(body, "username"),
            },
        )
        return Answer(
            {
                "name": answer["pipeline"]["name"],
                "pipelineID": answer["pipeline"]["pipeline_id"],
                "pipelineVersionID": answer["pipeline_version"]["pipeline_version_id"],
            },
            201,
        )

    async def list_pipeline(call: Call) -> dict[str, Any]:
        page = page_of(call)
        where = {"username": call.query("userFilter"), "name": call.query("nameFilter")}
        answer = await api.call(
            call, WORKFLOW, "ListPipelines", page.request() | {"filter": filter_text(where)}
        )
        pipelines = [pipeline_json(p) for p in answer["pipelines"]]
        return page.answer(answer["next_page_token"], pipelineList=pipelines)

    async def get_pipeline(call: Call) -> dict[str, Any]:
        # client/paddleflow/pipeline/pipeline_api.py show_pipeline
        page = page_of(call)
        answer = await api.call(
            call,
            WORKFLOW,
            "GetPipeline",
            {"pipeline_id": call.path("pipelineID")} | page.request(),
        )
        # PaddleFlow's versions name the fs their yamlPath was read from (fsFilter);
        # dagwire's hold the YAML itself and belong to no file system: none match one.
        versions = [] if call.query("fsFilter") else answer["pipeline_versions"]
        return {
            "pipeline": pipeline_json(answer["pipeline"]),
            "pplVersions": page.answer(
                answer["next_page_token"], pplVersionList=[version_json(v) for v in versions]
            ),
        }

    async def update_pipeline(call: Call) -> Answer:
        # client/paddleflow/pipeline/pipeline_api.py update_pipeline
        body = await call.body()
        answer = await api.call(
            call,
            WORKFLOW,
            "UpdatePipeline",
            {
                "pipeline_id": call.path("pipelineID"),
                **spec_of(body, "yamlRaw", "yamlPath", "pipeline_yaml", "pipeline_yaml_path"),
                "fs_name": text(body, "fsName"),
                "description": text(body, "desc"),
                "username": text(body, "username"),
            },
        )
        return Answer(
            {
                "pipelineID": answer["pipeline"]["pipeline_id"],
                "pipelineVersionID": answer["pipeline_version"]["pipeline_version_id"],
            },
            201,
        )

    async def delete_pipeline(call: Call) -> None:
        await api.call(call, WORKFLOW, "DeletePipeline", {"pipeline_id": call.path("pipelineID")})

    async def get_pipeline_version(call: Call) -> dict[str, Any]:
        answer = await api.call(
            call,
            WORKFLOW,
            "GetPipelineVersion",
            {
                "pipeline_id": call.path("pipelineID"),
                "pipeline_version_id": call.path("pipelineVersionID"),
            },
        )
        return {
            "pipeline": pipeline_json(answer["pipeline"]),
            "pipelineVersion": version_json(answer["pipeline_version"]),
        }

    async def delete_pipeline_version(call: Call) -> None:
        await api.call(
            call,
            WORKFLOW,
            "DeletePipelineVersion",
            {
                "pipeline_id": call.path("pipelineID"),
                "pipeline_version_id": call.path("pipelineVersionID"),
            },
        )

    one = "/pipeline/{pipelineID}"
    version = one + "/{pipelineVersionID}"
    return [
        api.route("POST", "/pipeline", create_pipeline),
        api.route("GET", "/pipeline", list_pipeline),
        api.route("POST", one, update_pipeline),
        api.route("GET", one, get_pipeline),
        api.route("DELETE", one, delete_pipeline),
        api.route("GET", version, get_pipeline_version),
        api.route("DELETE", version, delete_pipeline_version),
    ]
