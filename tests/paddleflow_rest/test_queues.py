"""Queues with grants over PaddleFlow's paths, with the bodies its SDK sends
(client/paddleflow/queue/queue_api.py): root creates, updates, closes and deletes a
queue and grants it to a user, who then sees it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.paddleflow_rest.conftest import PaddleFlow

pytestmark = pytest.mark.timeout(60)


def queue_body(name: str = "train") -> dict[str, Any]:
    # add_queue: {namespace, name, clusterName, maxResources, minResources}
    return {
        "namespace": "default",
        "name": name,
        "clusterName": "local",
        "maxResources": {"cpu": "2", "mem": "4Gi", "scalarResources": {"nvidia.com/gpu": "1"}},
        "minResources": {"cpu": "1", "mem": "1Gi"},
    }


async def test_root_creates_a_queue_with_its_resources(root: PaddleFlow) -> None:
    created = await root.request("POST", "/queue", json_body=queue_body())
    # show_queue reads name, status, maxResources, minResources, usedResources.
    shown = await root.request("GET", "/queue/train")

    assert created.status == 200, created.body
    assert created.body == {"name": "train"}
    assert shown.body["status"] == "open"
    assert shown.body["maxResources"] == {
        "cpu": "2",
        "mem": "4Gi",
        "scalarResources": {"nvidia.com/gpu": "1"},
    }
    assert shown.body["minResources"]["cpu"] == "1"


async def test_a_tenant_may_not_create_a_queue(alice: PaddleFlow) -> None:
    reply = await alice.request("POST", "/queue", json_body=queue_body())

    assert reply.status == 403
    assert reply.body["code"] == "AccessDenied"


async def test_update_queue_changes_its_max(root: PaddleFlow) -> None:
    await root.request("POST", "/queue", json_body=queue_body())
    # update_queue: PUT /queue/{name} {maxResources}
    reply = await root.request(
        "PUT", "/queue/train", json_body={"maxResources": {"cpu": "8", "mem": "16Gi"}}
    )

    assert reply.status == 200, reply.body
    assert reply.body["maxResources"]["cpu"] == "8"


async def test_a_closed_queue_must_be_closed_before_delete(root: PaddleFlow) -> None:
    await root.request("POST", "/queue", json_body=queue_body())
    closed = await root.request("PUT", "/queue/train", params={"action": "close"})
    # del_queue: DELETE /queue/{name}
    deleted = await root.request("DELETE", "/queue/train")
    gone = await root.request("GET", "/queue/train")

    assert closed.body["status"] == "closed"
    assert deleted.status == 200, deleted.body
    assert gone.status == 400 and gone.body["code"] == "QueueNameNotFound"


async def test_list_queue_shows_the_queues(root: PaddleFlow) -> None:
    await root.request("POST", "/queue", json_body=queue_body())
    # list_queue: {maxKeys}; reads queueList.
    reply = await root.request("GET", "/queue", params={"maxKeys": 100})

    assert "train" in [q["name"] for q in reply.body["queueList"]]


async def test_a_granted_user_sees_the_queue_and_loses_it_when_ungranted(
    root: PaddleFlow, alice: PaddleFlow
) -> None:
    await root.request("POST", "/queue", json_body=queue_body())
    hidden = await alice.request("GET", "/queue/train")
    # grant_queue: POST /grant {username, resourceType: queue, resourceID}
    granted = await root.request(
        "POST",
        "/grant",
        json_body={"username": "alice", "resourceType": "queue", "resourceID": "train"},
    )
    seen = await alice.request("GET", "/queue/train")
    # show_grant: GET /grant {username}; reads grantList[].userName, resourceID.
    grants = await root.request("GET", "/grant", params={"username": "alice"})
    # ungrant_queue: DELETE /grant with the grant in the query.
    ungranted = await root.request(
        "DELETE",
        "/grant",
        params={"username": "alice", "resourceType": "queue", "resourceID": "train"},
    )
    hidden_again = await alice.request("GET", "/queue/train")

    assert hidden.status == 400 and hidden.body["code"] == "QueueNameNotFound"
    assert granted.status == 200, granted.body
    assert seen.status == 200 and seen.body["name"] == "train"
    assert [(g["userName"], g["resourceID"]) for g in grants.body["grantList"]] == [
        ("alice", "train")
    ]
    assert ungranted.status == 200
    assert hidden_again.status == 400


async def test_a_grant_of_another_resource_type_is_refused(root: PaddleFlow) -> None:
    reply = await root.request(
        "POST", "/grant", json_body={"username": "alice", "resourceType": "fs", "resourceID": "x"}
    )

    assert reply.status == 400
    assert reply.body["code"] == "GrantResourceTypeNotFound"
