"""A run's log at PaddleFlow's path (GET /log/run/{runID}, pkg/apiserver/router/v1/
log.go), backed by GetRunLog. Query and answer as the SDK sends and reads them
(client/paddleflow/log/log_api.py get_log_info): jobID, pageSize, pageNo,
logFilePosition; `runLog` has one entry per job (a dagwire step) with one task.

A single job's log by name (GET /log/job) does not map: dagwire's steps are read
through their run."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from dagwire.server.gateway.paddleflow.common import (
    INVALID_ARGUMENTS,
    Call,
    PaddleFlowApi,
    PaddleFlowError,
)

WORKFLOW = "WorkflowService"
POSITIONS = {
    "": "LOG_POSITION_UNSPECIFIED",
    "begin": "LOG_POSITION_BEGIN",
    "end": "LOG_POSITION_END",
}


def _int(call: Call, name: str) -> int:
    raw = call.query(name, "0") or "0"
    try:
        return int(raw)
    except ValueError:
        raise PaddleFlowError(INVALID_ARGUMENTS, f"{name}[{raw}] is not a number") from None


def routes(api: PaddleFlowApi) -> list[web.RouteDef]:
    async def get_run_log(call: Call) -> dict[str, Any]:
        run_id = call.path("runID")
        position = call.query("logFilePosition")
        if position not in POSITIONS:
            raise PaddleFlowError(INVALID_ARGUMENTS, "logFilePosition is begin or end")
        step_name = ""
        job_id = call.query("jobID")
        if job_id:
            run = (await api.call(call, WORKFLOW, "GetRun", {"run_id": run_id}))["run"]
            steps = [step["name"] for step in run["steps"] if step["job_id"] == job_id]
            if not steps:
                raise PaddleFlowError(
                    INVALID_ARGUMENTS, f"jobID[{job_id}] is not a job of run[{run_id}]"
                )
            step_name = steps[0]
        answer = await api.call(
            call,
            WORKFLOW,
            "GetRunLog",
            {
                "run_id": run_id,
                "step_name": step_name,
                "page_size": _int(call, "pageSize"),
                "page_no": _int(call, "pageNo"),
                "position": POSITIONS[position],
            },
        )
        return {
            "runID": run_id,
            "submitLog": "",
            "runLog": [
                {
                    "jobID": log["job_id"],
                    "taskList": [
                        {
                            "taskID": f"{log['job_id']}-{log['attempt']}",
                            "logInfo": {
                                "logContent": log["log_content"],
                                "hasNextPage": log["has_next_page"],
                                "truncated": log["truncated"],
                            },
                        }
                    ],
                }
                for log in answer["logs"]
            ],
        }

    return [api.route("GET", "/log/run/{runID}", get_run_log)]
