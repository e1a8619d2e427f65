"""Run caches at PaddleFlow's paths (GET /runCache, GET and DELETE /runCache/{id}),
backed by WorkflowService's cache RPCs. Fields as the SDK reads them
(client/paddleflow/run/run_api.py list_runcache, show_runcache)."""

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
from dagwire.server.gateway.paddleflow.run import no_fs

WORKFLOW = "WorkflowService"


def cache_json(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "cacheID": entry["cache_id"],
        "firstFp": entry["first_fp"],
        "secondFp": entry["second_fp"],
        "runID": entry["run_id"],
        "source": entry["pipeline_id"],
        "jobID": entry["step_name"],
        "fsname": "",
        "username": entry["username"],
        "expiredTime": str(entry["expired_time"]),
        "strategy": "FIFO",
        "custom": "",
        "createTime": pf_time(entry.get("create_time", "")),
        "updateTime": pf_time(entry.get("create_time", "")),
    }


def routes(api: PaddleFlowApi) -> list[web.RouteDef]:
    async def list_run_cache(call: Call) -> dict[str, Any]:
        page = page_of(call)
        no_fs(call.query("fsFilter"))
        where = {"username": call.query("userFilter"), "run_id": call.query("runFilter")}
        answer = await api.call(
            call, WORKFLOW, "ListCacheEntries", page.request() | {"filter": filter_text(where)}
        )
        entries = [cache_json(entry) for entry in answer["cache_entries"]]
        return page.answer(answer["next_page_token"], runCacheList=entries)

    async def get_run_cache(call: Call) -> dict[str, Any]:
        answer = await api.call(call, WORKFLOW, "GetCacheEntry", {"cache_id": call.path("id")})
        return cache_json(answer["cache_entry"])

    async def delete_run_cache(call: Call) -> None:
        await api.call(call, WORKFLOW, "DeleteCacheEntry", {"cache_id": call.path("id")})

    return [
        api.route("GET", "/runCache", list_run_cache),
        api.route("GET", "/runCache/{id}", get_run_cache),
        api.route("DELETE", "/runCache/{id}", delete_run_cache),
    ]
