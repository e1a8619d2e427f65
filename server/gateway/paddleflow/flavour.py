"""Flavours at PaddleFlow's paths (pkg/apiserver/router/v1/flavour.go), backed by
QueueService. Bodies and fields as the SDK sends and reads them
(client/paddleflow/flavour/flavour_api.py): {name, cpu, mem, scalarResources}.

dagwire's flavours are immutable and belong to no cluster: an update is refused
(delete and create it again), `clusterName` is accepted and not kept."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from dagwire.server.gateway.paddleflow.common import (
    ACTION_NOT_ALLOWED,
    FLAVOUR_NOT_FOUND,
    Call,
    PaddleFlowApi,
    PaddleFlowError,
    page_of,
    pf_time,
    text,
)
from dagwire.server.gateway.paddleflow.queue import resources_in, resources_out

QUEUES = "QueueService"


def flavour_json(flavour: dict[str, Any]) -> dict[str, Any]:
    resources = resources_out(flavour.get("resources"))
    return {
        "name": flavour["name"],
        "cpu": resources["cpu"],
        "mem": resources["mem"],
        "scalarResources": resources["scalarResources"],
        "clusterName": "",
        "createTime": pf_time(flavour.get("create_time", "")),
        "updateTime": pf_time(flavour.get("create_time", "")),
    }


def routes(api: PaddleFlowApi) -> list[web.RouteDef]:
    async def create_flavour(call: Call) -> dict[str, Any]:
        # client/paddleflow/flavour/flavour_api.py add_flavour
        body = await call.body()
        resources = resources_in(body, "flavour")
        request = {"name": text(body, "name"), "resources": resources}
        answer = await api.call(call, QUEUES, "CreateFlavour", request)
        return {"name": answer["flavour"]["name"]}

    async def list_flavour(call: Call) -> dict[str, Any]:
        # client/paddleflow/flavour/flavour_api.py list_flavour: `name` names one
        # (GetFlavour; none when it does not exist). QueueService lists every flavour
        # at once: one page.
        page = page_of(call)
        wanted = call.query("name")
        if not wanted:
            answer = await api.call(call, QUEUES, "ListFlavours", {})
            return page.answer("", flavourList=[flavour_json(f) for f in answer["flavours"]])
        try:
            found = await api.call(call, QUEUES, "GetFlavour", {"name": wanted})
        except PaddleFlowError as error:
            if error.code != FLAVOUR_NOT_FOUND:
                raise
            return page.answer("", flavourList=[])
        return page.answer("", flavourList=[flavour_json(found["flavour"])])

    async def get_flavour(call: Call) -> dict[str, Any]:
        answer = await api.call(call, QUEUES, "GetFlavour", {"name": call.path("flavourName")})
        return flavour_json(answer["flavour"])

    async def update_flavour(call: Call) -> None:
        raise PaddleFlowError(
            ACTION_NOT_ALLOWED,
            "dagwire's flavours are immutable (what runs holds their size): delete the "
            "flavour and create it again",
        )

    async def delete_flavour(call: Call) -> None:
        await api.call(call, QUEUES, "DeleteFlavour", {"name": call.path("flavourName")})

    one = "/flavour/{flavourName}"
    return [
        api.route("POST", "/flavour", create_flavour),
        api.route("GET", "/flavour", list_flavour),
        api.route("GET", one, get_flavour),
        api.route("PUT", one, update_flavour),
        api.route("DELETE", one, delete_flavour),
    ]
