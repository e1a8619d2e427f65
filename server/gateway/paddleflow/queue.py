"""Queues and grants at PaddleFlow's paths (pkg/apiserver/router/v1/queue.go,
grant.go), backed by QueueService. Bodies and fields as the SDK sends and reads them
(client/paddleflow/queue/queue_api.py).

A dagwire queue belongs to no cluster or namespace: `clusterName`, `namespace`,
`quotaType`, `location` and `schedulingPolicy` are accepted and not kept (PaddleFlow's
SDK requires the first two), and shown as the local machine's. PaddleFlow grants name a
user: a grant here is dagwire's user grant (GRANT_KIND_USER) of a queue, the only
resourceType that maps. `PUT /queue/{name}?action=close` closes a queue (PaddleFlow's
queue stop); its other updates change the resources."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from dagwire.server.gateway.paddleflow.common import (
    GRANT_RESOURCE_TYPE_NOT_FOUND,
    INVALID_ARGUMENTS,
    QUEUE_ACTION_NOT_SUPPORTED,
    Call,
    PaddleFlowApi,
    PaddleFlowError,
    obj,
    page_of,
    pf_time,
    text,
)

QUEUES = "QueueService"
GRANT_RESOURCE = "queue"


def resources_in(body: Any, name: str) -> dict[str, Any] | None:
    """PaddleFlow's ResourceInfo ({cpu, mem, scalarResources}) as dagwire's Resources."""
    if body is None:
        return None
    if not isinstance(body, dict):
        raise PaddleFlowError(INVALID_ARGUMENTS, f"{name} is an object with cpu and mem")
    scalars = obj(body, "scalarResources")
    return {
        "cpu": text(body, "cpu"),
        "mem": text(body, "mem"),
        "scalar_resources": {str(k): str(v) for k, v in scalars.items()},
    }


def resources_out(resources: dict[str, Any] | None) -> dict[str, Any]:
    resources = resources or {}
    return {
        "cpu": resources.get("cpu", ""),
        "mem": resources.get("mem", ""),
        "scalarResources": resources.get("scalar_resources", {}),
    }


def queue_json(queue: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": queue["name"],
        "status": queue["status"].removeprefix("QUEUE_STATUS_").lower(),
        "namespace": "",
        "clusterName": "local",
        "quotaType": "",
        "maxResources": resources_out(queue.get("max_resources")),
        "minResources": resources_out(queue.get("min_resources")),
        "usedResources": resources_out(queue.get("used_resources")),
        "idleResources": {},
        "location": {},
        "schedulingPolicy": [],
        "createTime": pf_time(queue.get("create_time", "")),
        "updateTime": pf_time(queue.get("update_time", "")),
    }


def _grant(body: Any) -> tuple[str, str]:
    resource_type = text(body, "resourceType")
    if resource_type != GRANT_RESOURCE:
        raise PaddleFlowError(
            GRANT_RESOURCE_TYPE_NOT_FOUND,
            f"resourceType[{resource_type}]: dagwire grants queues only",
        )
    return text(body, "resourceID"), text(body, "username")


def routes(api: PaddleFlowApi) -> list[web.RouteDef]:
    async def create_queue(call: Call) -> dict[str, Any]:
        # client/paddleflow/queue/queue_api.py add_queue
        body = await call.body()
        request: dict[str, Any] = {"name": text(body, "name")}
        for field, key in (("max_resources", "maxResources"), ("min_resources", "minResources")):
            resources = resources_in(body.get(key), key)
            if resources is not None:
                request[field] = resources
        answer = await api.call(call, QUEUES, "CreateQueue", request)
        return {"name": answer["queue"]["name"]}

    async def list_queue(call: Call) -> dict[str, Any]:
        # client/paddleflow/queue/queue_api.py list_queue. QueueService lists every
        # queue at once: one page.
        page = page_of(call)
        answer = await api.call(call, QUEUES, "ListQueues", {})
        return page.answer("", queueList=[queue_json(q) for q in answer["queues"]])

    async def get_queue(call: Call) -> dict[str, Any]:
        answer = await api.call(call, QUEUES, "GetQueue", {"name": call.path("queueName")})
        return queue_json(answer["queue"])

    async def update_queue(call: Call) -> dict[str, Any]:
        # client/paddleflow/queue/queue_api.py update_queue; action=close stops it.
        name = call.path("queueName")
        if call.query("action") == "close":
            answer = await api.call(call, QUEUES, "CloseQueue", {"name": name})
            return queue_json(answer["queue"])
        if call.query("action"):
            raise PaddleFlowError(
                QUEUE_ACTION_NOT_SUPPORTED, f"action[{call.query('action')}] is not close"
            )
        body = await call.body()
        request: dict[str, Any] = {"name": name}
        for field, key in (("max_resources", "maxResources"), ("min_resources", "minResources")):
            resources = resources_in(body.get(key), key)
            if resources is not None:
                request[field] = resources
        answer = await api.call(call, QUEUES, "UpdateQueue", request)
        return queue_json(answer["queue"])

    async def delete_queue(call: Call) -> None:
        await api.call(call, QUEUES, "DeleteQueue", {"name": call.path("queueName")})

    async def create_grant(call: Call) -> dict[str, Any]:
        # client/paddleflow/queue/queue_api.py grant_queue
        queue, user = _grant(await call.body())
        grant = {"kind": "GRANT_KIND_USER", "name": user}
        await api.call(call, QUEUES, "GrantQueue", {"name": queue, "grants": [grant]})
        return {"grantID": f"{GRANT_RESOURCE}-{queue}-{user}"}

    async def delete_grant(call: Call) -> None:
        # client/paddleflow/queue/queue_api.py ungrant_queue: the grant in the query.
        queue, user = _grant(call.http.query)
        grant = {"kind": "GRANT_KIND_USER", "name": user}
        await api.call(call, QUEUES, "RevokeQueue", {"name": queue, "grants": [grant]})

    async def list_grant(call: Call) -> dict[str, Any]:
        # client/paddleflow/queue/queue_api.py show_grant: username filters.
        page = page_of(call)
        user = call.query("username")
        answer = await api.call(call, QUEUES, "ListQueues", {})
        grants = [
            {
                "userName": grant["name"],
                "resourceType": GRANT_RESOURCE,
                "resourceID": queue["name"],
                "createTime": pf_time(queue.get("update_time", "")),
                "updateTime": pf_time(queue.get("update_time", "")),
            }
            for queue in answer["queues"]
            for grant in queue["grants"]
            if grant["kind"] == "GRANT_KIND_USER" and (not user or grant["name"] == user)
        ]
        return page.answer("", grantList=grants)

    one = "/queue/{queueName}"
    return [
        api.route("POST", "/queue", create_queue),
        api.route("GET", "/queue", list_queue),
        api.route("GET", one, get_queue),
        api.route("PUT", one, update_queue),
        api.route("DELETE", one, delete_queue),
        api.route("POST", "/grant", create_grant),
        api.route("DELETE", "/grant", delete_grant),
        api.route("GET", "/grant", list_grant),
    ]
