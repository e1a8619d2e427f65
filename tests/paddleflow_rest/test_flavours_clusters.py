"""Flavours and clusters over PaddleFlow's paths, with the bodies its SDK sends
(client/paddleflow/flavour/flavour_api.py, client/paddleflow/cluster/cluster_api.py)."""

from __future__ import annotations

import pytest

from tests.paddleflow_rest.conftest import PaddleFlow

pytestmark = pytest.mark.timeout(60)


async def test_a_flavour_is_created_listed_shown_and_deleted(root: PaddleFlow) -> None:
    # add_flavour: {name, cpu, mem, scalarResources}
    created = await root.request(
        "POST",
        "/flavour",
        json_body={
            "name": "gpu1",
            "cpu": "4",
            "mem": "8Gi",
            "scalarResources": {"nvidia.com/gpu": "1"},
        },
    )
    # list_flavour: {maxKeys, name}; reads flavourList[].name, cpu, mem, scalarResources.
    listed = await root.request("GET", "/flavour", params={"maxKeys": 100, "name": "gpu1"})
    shown = await root.request("GET", "/flavour/gpu1")
    deleted = await root.request("DELETE", "/flavour/gpu1")
    gone = await root.request("GET", "/flavour/gpu1")

    assert created.status == 200 and created.body == {"name": "gpu1"}
    assert [(f["name"], f["cpu"], f["mem"]) for f in listed.body["flavourList"]] == [
        ("gpu1", "4", "8Gi")
    ]
    assert shown.body["scalarResources"] == {"nvidia.com/gpu": "1"}
    assert deleted.status == 200
    assert gone.status == 404 and gone.body["code"] == "FlavourNotFound"


async def test_a_flavour_update_is_refused_saying_why(root: PaddleFlow) -> None:
    await root.request("POST", "/flavour", json_body={"name": "small", "cpu": "1", "mem": "1Gi"})
    # update_flavour: PUT /flavour/{name} {cpu}
    reply = await root.request("PUT", "/flavour/small", json_body={"cpu": "2"})

    assert reply.status == 403
    assert reply.body["code"] == "ActionNotAllowed"
    assert "immutable" in reply.body["message"]


async def test_a_ray_cluster_is_created_listed_shown_and_deleted(root: PaddleFlow) -> None:
    # create_cluster: {clusterName, endpoint, clusterType, description}; reads id.
    created = await root.request(
        "POST",
        "/cluster",
        json_body={
            "clusterName": "ray-a",
            "endpoint": "10.0.0.5:10001",
            "clusterType": "ray",
            "description": "a ray head",
        },
    )
    # list_cluster: {maxKeys, clusterNames}; reads clusterList.
    listed = await root.request("GET", "/cluster", params={"clusterNames": "ray-a,local"})
    shown = await root.request("GET", "/cluster/ray-a")
    deleted = await root.request("DELETE", "/cluster/ray-a")
    gone = await root.request("GET", "/cluster/ray-a")

    assert created.status == 200, created.body
    assert created.body["id"] == "ray-a"
    assert sorted(c["clusterName"] for c in listed.body["clusterList"]) == ["local", "ray-a"]
    assert (shown.body["endpoint"], shown.body["clusterType"]) == ("10.0.0.5:10001", "ray")
    assert deleted.status == 200
    assert gone.status == 400 and gone.body["code"] == "ClusterNotFound"


async def test_a_kubernetes_cluster_is_refused_saying_why(root: PaddleFlow) -> None:
    reply = await root.request(
        "POST",
        "/cluster",
        json_body={
            "clusterName": "k8s",
            "endpoint": "https://k8s:6443",
            "clusterType": "Kubernetes",
        },
    )

    assert reply.status == 400
    assert reply.body["code"] == "InvalidClusterProperties"
    assert "pods" in reply.body["message"]


async def test_list_cluster_resource_answers_each_clusters_total_and_idle(
    root: PaddleFlow,
) -> None:
    # list_cluster_resource: GET /cluster/resource {clusterNames}
    reply = await root.request("GET", "/cluster/resource", params={"clusterNames": "local"})

    assert reply.status == 200, reply.body
    assert list(reply.body) == ["local"]
    summary = reply.body["local"]["summary"]
    assert float(summary["total"]["cpu"]) > 0
    assert set(summary["idle"]) == {"cpu", "mem", "scalarResources"}


async def test_list_flavour_by_a_missing_name_is_empty(root: PaddleFlow) -> None:
    await root.request("POST", "/flavour", json_body={"name": "small", "cpu": "1", "mem": "1Gi"})
    # list_flavour: {name} filters.
    reply = await root.request("GET", "/flavour", params={"name": "large"})

    assert reply.status == 200, reply.body
    assert reply.body["flavourList"] == []
