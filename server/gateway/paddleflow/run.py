"""Runs at PaddleFlow's paths (pkg/apiserver/router/v1/run.go), backed by
WorkflowService's run RPCs. The run's JSON is PaddleFlow's run view as its SDK reads it
(client/paddleflow/run/run_api.py show_run): `runtime` maps each step name to a list of
job views, `postProcess` maps the post_process step's name to one."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from dagwire.server.gateway.paddleflow.common import (
    INVALID_ARGUMENTS,
    Answer,
    Call,
    PaddleFlowApi,
    PaddleFlowError,
    filter_text,
    flag,
    names,
    obj,
    page_of,
    pf_time,
    spec_of,
    text,
)

WORKFLOW = "WorkflowService"


def routes(api: PaddleFlowApi) -> list[web.RouteDef]:
    async def create_run(call: Call) -> Answer:
        # client/paddleflow/run/run_api.py add_run
        return Answer({"runID": (await _create(api, call, await call.body()))["run_id"]}, 201)

    async def list_run(call: Call) -> dict[str, Any]:
        # client/paddleflow/run/run_api.py list_run
        page = page_of(call)
        no_fs(call.query("fsFilter"))
        where = {
            "username": call.query("userFilter"),
            "run_id": call.query("runFilter"),
            "name": call.query("nameFilter"),
            "status": call.query("statusFilter"),
        }
        answer = await api.call(
            call, WORKFLOW, "ListRuns", page.request() | {"filter": filter_text(where)}
        )
        runs = [run_brief(run) for run in answer["runs"]]
        return page.answer(answer["next_page_token"], runList=runs)

    async def get_run(call: Call) -> dict[str, Any]:
        # client/paddleflow/run/run_api.py show_run
        answer = await api.call(call, WORKFLOW, "GetRun", {"run_id": call.path("runID")})
        return run_json(answer["run"])

    async def update_run(call: Call) -> dict[str, Any] | None:
        # client/paddleflow/run/run_api.py stop_run (action=stop, {"stopForce"}) and
        # retry_run (action=retry).
        run_id = call.path("runID")
        action = call.query("action")
        if action == "stop":
            body = await call.body()
            force = flag(body, "stopForce")
            await api.call(call, WORKFLOW, "StopRun", {"run_id": run_id, "force": force})
            return None
        if action == "retry":
            answer = await api.call(call, WORKFLOW, "RetryRun", {"run_id": run_id})
            return {"runID": answer["run"]["run_id"]}
        raise PaddleFlowError(INVALID_ARGUMENTS, f"action[{action}] is not stop or retry")

    async def delete_run(call: Call) -> None:
        # client/paddleflow/run/run_api.py delete_run: {"checkCache": check_cache}, the
        # SDK's default True; a body without it is true too, as PaddleFlow's router takes
        # it (pkg/apiserver/router/v1/run.go deleteRun).
        body = await call.body()
        check = flag(body, "checkCache", default=True)
        await api.call(
            call, WORKFLOW, "DeleteRun", {"run_id": call.path("runID"), "check_cache": check}
        )

    return [
        api.route("POST", "/run", create_run),
        api.route("GET", "/run", list_run),
        api.route("GET", "/run/{runID}", get_run),
        api.route("PUT", "/run/{runID}", update_run),
        api.route("DELETE", "/run/{runID}", delete_run),
    ]


# PaddleFlow's failureOptions.strategy -> dagwire's FailureStrategy.
FAILURE_STRATEGIES = {
    "": "FAILURE_STRATEGY_UNSPECIFIED",
    "fail_fast": "FAILURE_STRATEGY_FAIL_FAST",
    "continue": "FAILURE_STRATEGY_CONTINUE",
}


async def _create(api: PaddleFlowApi, call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """CreateRun from the SDK's body: a pipeline (pipelineID, pipelineVersionID), the
    YAML itself (runYamlRaw, base64) or its path in the fsname file system
    (runYamlPath); fsname is the run's main file system."""
    request: dict[str, Any] = {
        "name": text(body, "name"),
        "description": text(body, "desc"),
        "username": text(body, "username"),
        "fs_name": text(body, "fsname"),
        "docker_env": text(body, "dockerEnv"),
        "parameters": {str(k): _text(v) for k, v in obj(body, "parameters").items()},
        "disabled": names(text(body, "disabled")),
    }
    strategy = text(obj(body, "failureOptions"), "strategy")
    if strategy not in FAILURE_STRATEGIES:
        raise PaddleFlowError(
            INVALID_ARGUMENTS, f"failureOptions.strategy[{strategy}] is not fail_fast or continue"
        )
    request["failure_strategy"] = FAILURE_STRATEGIES[strategy]
    if body.get("pipelineID"):
        request["pipeline_id"] = text(body, "pipelineID")
        request["pipeline_version_id"] = text(body, "pipelineVersionID")
    else:
        request |= spec_of(body, "runYamlRaw", "runYamlPath", "run_yaml", "run_yaml_path")
    answer = await api.call(call, WORKFLOW, "CreateRun", request)
    run: dict[str, Any] = answer["run"]
    return run


def _text(value: Any) -> str:
    """A parameter value as dagwire holds it: text (numbers and booleans as JSON)."""
    return value if isinstance(value, str) else json.dumps(value)


def no_fs(fs_filter: str) -> None:
    if fs_filter:
        raise PaddleFlowError(
            INVALID_ARGUMENTS,
            "fsFilter does not map onto dagwire: a run is not listed by file system",
        )


def status_name(value: str, prefix: str) -> str:
    """A dagwire enum value's name as PaddleFlow's lower-case status ("succeeded")."""
    return value.removeprefix(prefix).lower() if not value.endswith("UNSPECIFIED") else ""


def job_json(run_id: str, step: dict[str, Any]) -> dict[str, Any]:
    """One step as PaddleFlow's JobView."""
    return {
        "id": step["job_id"],
        "jobID": step["job_id"],
        "name": f"{run_id}-{step['name']}",
        "stepName": step["name"],
        "type": "step",
        "parentDagID": "",
        "deps": ",".join(step["deps"]),
        "parameters": step["parameters"],
        "command": step["command"],
        "env": step["env"],
        "status": status_name(step["status"], "STEP_STATUS_"),
        "startTime": pf_time(step.get("start_time", "")),
        "endTime": pf_time(step.get("end_time", "")),
        "dockerEnv": step["docker_env"],
        "extraFS": [],
        "artifacts": {
            "input": step["input_artifacts"],
            "output": {name: "" for name in step["output_artifacts"]},
        },
        "cache": {},
        "jobMessage": step["message"],
        "cacheRunID": step["cache_run_id"],
        "cacheJobID": "",
    }


def run_brief(run: dict[str, Any]) -> dict[str, Any]:
    """A run as PaddleFlow's list_run reads it (no spec, no steps)."""
    return {
        "runID": run["run_id"],
        "fsName": run["fs_name"],
        "username": run["username"],
        "status": status_name(run["status"], "RUN_STATUS_"),
        "name": run["name"],
        "description": run["description"],
        "source": run["source"],
        "runMsg": run["run_msg"],
        "scheduleID": run["schedule_id"],
        "scheduledTime": pf_time(run.get("scheduled_time", "")),
        "createTime": pf_time(run.get("create_time", "")),
        "activateTime": pf_time(run.get("activate_time", "")),
        "updateTime": pf_time(run.get("update_time", "")),
        "pipelineID": run["pipeline_id"],
        "pipelineVersionID": run["pipeline_version_id"],
    }


def run_json(run: dict[str, Any]) -> dict[str, Any]:
    """A run as PaddleFlow's show_run reads it."""
    steps = run["steps"]
    return run_brief(run) | {
        "parameters": run["parameters"],
        "runYaml": run["run_yaml"],
        "runtime": {
            step["name"]: [job_json(run["run_id"], step)] for step in steps if not step["post"]
        },
        "postProcess": {
            step["name"]: job_json(run["run_id"], step) for step in steps if step["post"]
        },
        "dockerEnv": run["docker_env"],
        "fsOptions": {},
        "failureOptions": {"strategy": status_name(run["failure_strategy"], "FAILURE_STRATEGY_")},
        "disabled": ",".join(run["disabled"]),
        # PaddleFlow's runCachedIDs lists the runs that reused this one's cache
        # (pkg/apiserver/controller/pipeline/callbacks.go updateRunCache).
        "runCachedIDs": ",".join(run["reused_by_run_ids"]),
    }
