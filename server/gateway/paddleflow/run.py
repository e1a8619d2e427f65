"""Runs at PaddleFlow's paths (pkg/apiserver/router/v1/run.go), backed by
WorkflowService's run RPCs. The run's JSON is PaddleFlow's run view as its SDK reads it
(client/paddleflow/run/run_api.py show_run): `runtime` maps each step name to a list of
job views, `postProcess` maps the post_process step's name to one."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from dagwire.server.gateway.paddleflow.common import Call, PaddleFlowApi, pf_time

WORKFLOW = "WorkflowService"


def routes(api: PaddleFlowApi) -> list[web.RouteDef]:
    async def get_run(call: Call) -> dict[str, Any]:
        answer = await api.call(call, WORKFLOW, "GetRun", {"run_id": call.path("runID")})
        return run_json(answer["run"])

    return [api.route("GET", "/run/{runID}", get_run)]


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
        "fsName": "",
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
        "runCachedIDs": ",".join(run["run_cached_ids"]),
    }
