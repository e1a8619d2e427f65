"""Schedules at PaddleFlow's paths (pkg/apiserver/router/v1/schedule.go), backed by
WorkflowService's schedule RPCs. Show lists the schedule's runs through ListRuns with
a schedule_id filter, as PaddleFlow's own GetSchedule lists them through ListRun
(pkg/apiserver/controller/pipeline/schedule.go). Bodies and fields as the SDK sends and
reads them (client/paddleflow/schedule/schedule_api.py).

PaddleFlow writes times as "2006-01-02 15:04:05"; dagwire reads and writes them in UTC."""

from __future__ import annotations

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
    number,
    page_of,
    pf_time,
    text,
)
from dagwire.server.gateway.paddleflow.run import run_brief, status_name

WORKFLOW = "WorkflowService"

# PaddleFlow's schedule status (pkg/apiserver/models/schedule.go) <-> dagwire's.
STATUS_TO_PF = {"active": "running", "stopped": "terminated", "succeeded": "success"}
STATUS_FROM_PF = {pf: dagwire for dagwire, pf in STATUS_TO_PF.items()} | {"failed": "failed"}
POLICIES = {"": "CONCURRENCY_POLICY_UNSPECIFIED"} | {
    name: f"CONCURRENCY_POLICY_{name.upper()}" for name in ("suspend", "replace", "skip")
}


def _timestamp(name: str, text: Any) -> str | None:
    """PaddleFlow's "2006-01-02 15:04:05" as a protobuf JSON timestamp."""
    if not text:
        return None
    value = str(text).strip()
    date, _, clock = value.partition(" ")
    if len(date) != 10 or len(clock) != 8:
        raise PaddleFlowError(INVALID_ARGUMENTS, f"{name}[{value}] is not YYYY-MM-DD hh:mm:ss")
    return f"{date}T{clock}Z"


def schedule_json(schedule: dict[str, Any]) -> dict[str, Any]:
    status = status_name(schedule["status"], "SCHEDULE_STATUS_")
    return {
        "scheduleID": schedule["schedule_id"],
        "name": schedule["name"],
        "desc": schedule["description"],
        "pipelineID": schedule["pipeline_id"],
        "pipelineVersionID": schedule["pipeline_version_id"],
        "username": schedule["username"],
        "fsConfig": {"username": schedule["username"]},
        "crontab": schedule["crontab"],
        "options": {
            "catchup": schedule["catchup"],
            "expireInterval": int(schedule["expire_interval"]),
            "concurrency": schedule["concurrency"],
            "concurrencyPolicy": status_name(schedule["concurrency_policy"], "CONCURRENCY_POLICY_"),
        },
        "startTime": pf_time(schedule.get("start_time", "")),
        "endTime": pf_time(schedule.get("end_time", "")),
        "createTime": pf_time(schedule.get("create_time", "")),
        "updateTime": pf_time(schedule.get("update_time", "")),
        "nextRunTime": pf_time(schedule.get("next_run_time", "")),
        "scheduleMsg": schedule["message"],
        "status": STATUS_TO_PF.get(status, status),
    }


def _status_filter(raw: str, table: dict[str, str]) -> str:
    values = names(raw)
    unknown = [value for value in values if value not in table]
    if unknown:
        raise PaddleFlowError(INVALID_ARGUMENTS, f"statusFilter {unknown} unknown")
    return ",".join(table[value] for value in values)


def routes(api: PaddleFlowApi) -> list[web.RouteDef]:
    async def create_schedule(call: Call) -> Answer:
        # client/paddleflow/schedule/schedule_api.py create_schedule
        body = await call.body()
        policy = text(body, "concurrencyPolicy")
        if policy not in POLICIES:
            raise PaddleFlowError(
                INVALID_ARGUMENTS, f"concurrencyPolicy[{policy}] is not suspend, replace or skip"
            )
        request: dict[str, Any] = {
            "name": text(body, "name"),
            "description": text(body, "desc"),
            "pipeline_id": text(body, "pipelineID"),
            "pipeline_version_id": text(body, "pipelineVersionID"),
            "crontab": text(body, "crontab"),
            "concurrency": number(body, "concurrency"),
            "concurrency_policy": POLICIES[policy],
            "expire_interval": number(body, "expireInterval"),
            "catchup": flag(body, "catchup"),
            "username": text(body, "username"),
        }
        for field, key in (("start_time", "startTime"), ("end_time", "endTime")):
            stamp = _timestamp(key, text(body, key))
            if stamp is not None:
                request[field] = stamp
        answer = await api.call(call, WORKFLOW, "CreateSchedule", request)
        return Answer({"scheduleID": answer["schedule"]["schedule_id"]}, 201)

    async def list_schedule(call: Call) -> dict[str, Any]:
        # client/paddleflow/schedule/schedule_api.py list_schedule
        page = page_of(call)
        where = {
            "username": call.query("userFilter"),
            "pipeline_id": call.query("pplFilter"),
            "pipeline_version_id": call.query("pplVersionFilter"),
            "schedule_id": call.query("scheduleFilter"),
            "name": call.query("nameFilter"),
            "status": _status_filter(call.query("statusFilter"), STATUS_FROM_PF),
        }
        answer = await api.call(
            call, WORKFLOW, "ListSchedules", page.request() | {"filter": filter_text(where)}
        )
        schedules = [schedule_json(s) for s in answer["schedules"]]
        return page.answer(answer["next_page_token"], scheduleList=schedules)

    async def get_schedule(call: Call) -> dict[str, Any]:
        # client/paddleflow/schedule/schedule_api.py show_schedule: the schedule and a
        # page of its runs (runFilter, statusFilter, marker, maxKeys).
        page = page_of(call)
        schedule_id = call.path("scheduleID")
        answer = await api.call(call, WORKFLOW, "GetSchedule", {"schedule_id": schedule_id})
        where = {
            "schedule_id": schedule_id,
            "run_id": call.query("runFilter"),
            "status": call.query("statusFilter"),
        }
        runs = await api.call(
            call, WORKFLOW, "ListRuns", page.request() | {"filter": filter_text(where)}
        )
        return schedule_json(answer["schedule"]) | {
            "runs": page.answer(
                runs["next_page_token"], runList=[run_brief(run) for run in runs["runs"]]
            )
        }

    async def stop_schedule(call: Call) -> None:
        await api.call(call, WORKFLOW, "StopSchedule", {"schedule_id": call.path("scheduleID")})

    async def delete_schedule(call: Call) -> None:
        await api.call(call, WORKFLOW, "DeleteSchedule", {"schedule_id": call.path("scheduleID")})

    one = "/schedule/{scheduleID}"
    return [
        api.route("POST", "/schedule", create_schedule),
        api.route("GET", "/schedule", list_schedule),
        api.route("GET", one, get_schedule),
        api.route("PUT", one, stop_schedule),
        api.route("DELETE", one, delete_schedule),
    ]
