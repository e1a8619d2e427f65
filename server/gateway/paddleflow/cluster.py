"""Clusters at PaddleFlow's paths (pkg/apiserver/router/v1/cluster.go), backed by
QueueService. Bodies and fields as the SDK sends and reads them
(client/paddleflow/cluster/cluster_api.py).

dagwire runs processes on its own machine (`local`) or on Ray clusters reached by
address: clusterType `local` and `ray` map (a Ray cluster's `endpoint` is its address);
Kubernetes and K3S clusters do not (dagwire starts no pods), nor do credentials,
namespaces or updates (a cluster is registered once: delete it and create it again)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from dagwire.server.gateway.paddleflow.common import (
    ACTION_NOT_ALLOWED,
    CLUSTER_NOT_FOUND,
    INVALID_ARGUMENTS,
    INVALID_CLUSTER_PROPERTIES,
    Call,
    PaddleFlowApi,
    PaddleFlowError,
    names,
    page_of,
    pf_time,
    text,
)
from dagwire.server.gateway.paddleflow.queue import resources_out

QUEUES = "QueueService"
KINDS = {"local": "CLUSTER_KIND_LOCAL", "ray": "CLUSTER_KIND_RAY"}


def cluster_json(cluster: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": cluster["name"],
        "clusterName": cluster["name"],
        "description": cluster["description"],
        "endpoint": cluster["address"],
        "source": "OnPremise",
        "clusterType": cluster["kind"].removeprefix("CLUSTER_KIND_").lower(),
        "version": "",
        "status": "online",
        "credential": "",
        "setting": "",
        "namespaceList": [],
        "createTime": pf_time(cluster.get("create_time", "")),
        "updateTime": pf_time(cluster.get("create_time", "")),
    }


def routes(api: PaddleFlowApi) -> list[web.RouteDef]:
    async def create_cluster(call: Call) -> dict[str, Any]:
        # client/paddleflow/cluster/cluster_api.py create_cluster
        body = await call.body()
        kind = text(body, "clusterType").lower()
        if kind not in KINDS:
            raise PaddleFlowError(
                INVALID_CLUSTER_PROPERTIES,
                f"clusterType[{body.get('clusterType')}] does not map onto dagwire: it runs "
                "processes locally or on Ray clusters (local, ray), it starts no pods",
            )
        if body.get("credential") or body.get("namespaceList"):
            raise PaddleFlowError(
                INVALID_CLUSTER_PROPERTIES,
                "credential and namespaceList do not map onto dagwire: a Ray cluster is "
                "reached by its address alone",
            )
        request = {
            "name": text(body, "clusterName"),
            "kind": KINDS[kind],
            "address": text(body, "endpoint"),
            "description": text(body, "description"),
        }
        answer = await api.call(call, QUEUES, "CreateCluster", request)
        return cluster_json(answer["cluster"])

    async def list_cluster(call: Call) -> dict[str, Any]:
        # client/paddleflow/cluster/cluster_api.py list_cluster: clusterNames
        # (comma-separated), clusterStatus. QueueService lists every cluster at once.
        page = page_of(call)
        wanted = set(names(call.query("clusterNames")))
        status = call.query("clusterStatus")
        answer = await api.call(call, QUEUES, "ListClusters", {})
        clusters = [
            cluster_json(c)
            for c in answer["clusters"]
            if (not wanted or c["name"] in wanted) and status in ("", "online")
        ]
        return page.answer("", clusterList=clusters)

    async def get_cluster(call: Call) -> dict[str, Any]:
        name = call.path("clusterName")
        answer = await api.call(call, QUEUES, "ListClusters", {})
        for cluster in answer["clusters"]:
            if cluster["name"] == name:
                return cluster_json(cluster)
        raise PaddleFlowError(CLUSTER_NOT_FOUND, f"cluster {name} does not exist")

    async def update_cluster(call: Call) -> None:
        raise PaddleFlowError(
            ACTION_NOT_ALLOWED,
            "dagwire registers a cluster once: delete it and create it again",
        )

    async def delete_cluster(call: Call) -> None:
        await api.call(call, QUEUES, "DeleteCluster", {"name": call.path("clusterName")})

    async def list_cluster_resource(call: Call) -> dict[str, Any]:
        # client/paddleflow/cluster/cluster_api.py list_cluster_resource: a map of
        # cluster name -> {nodeList, summary: {total, idle}, errMsg}.
        wanted = set(names(call.query("clusterNames")))
        answer = await api.call(call, QUEUES, "ListClusterResources", {})
        return {
            entry["cluster_name"]: {
                "nodeList": [],
                "summary": {
                    "total": resources_out(entry.get("total")),
                    "idle": resources_out(entry.get("free")),
                },
                "errMsg": "",
            }
            for entry in answer["cluster_resources"]
            if not wanted or entry["cluster_name"] in wanted
        }

    async def list_cluster_resource_v2(call: Call) -> None:
        raise PaddleFlowError(
            INVALID_ARGUMENTS,
            "POST /cluster/resource (per-node quotas by label) does not map onto dagwire: "
            "use GET /cluster/resource",
        )

    one = "/cluster/{clusterName}"
    return [
        api.route("POST", "/cluster", create_cluster),
        api.route("GET", "/cluster", list_cluster),
        # Before /cluster/{clusterName}, which would take "resource" for a name.
        api.route("GET", "/cluster/resource", list_cluster_resource),
        api.route("POST", "/cluster/resource", list_cluster_resource_v2),
        api.route("GET", one, get_cluster),
        api.route("PUT", one, update_cluster),
        api.route("DELETE", one, delete_cluster),
    ]
