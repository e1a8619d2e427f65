"""QueueService (``dagwire.v1``) calls as data: queues with quotas and grants, flavours
and clusters. The asyncio client performs them (client/_async.py), and the blocking one
generated from it."""

from __future__ import annotations

from collections.abc import Iterable

from dagwire.v1 import queue_message_pb2 as qm
from dagwire.v1 import queue_request_response_pb2 as qr

from ._call import _Call
from ._queue_models import (
    Cluster,
    ClusterResource,
    Flavour,
    Grant,
    Queue,
    Resources,
    _grant_to_proto,
)

_STATUSES = {"open": qm.QUEUE_STATUS_OPEN, "closed": qm.QUEUE_STATUS_CLOSED}


def _queue(response: object) -> Queue:
    return Queue._from_proto(response.queue)  # type: ignore[attr-defined]


def create_queue_call(name: str, max: Resources, min: Resources | None) -> _Call[Queue]:
    request = qr.CreateQueueRequest(
        name=name,
        max_resources=max._to_proto(),
        min_resources=(min or Resources())._to_proto(),
    )
    return _Call("CreateQueue", request, _queue, "queues")


def update_queue_call(
    name: str, max: Resources | None, min: Resources | None, status: str | None
) -> _Call[Queue]:
    request = qr.UpdateQueueRequest(name=name)
    if max is not None:
        request.max_resources.CopyFrom(max._to_proto())
    if min is not None:
        request.min_resources.CopyFrom(min._to_proto())
    if status is not None:
        if status not in _STATUSES:
            raise ValueError(f"status must be open or closed, not {status!r}")
        request.status = _STATUSES[status]
    return _Call("UpdateQueue", request, _queue, "queues")


def get_queue_call(name: str) -> _Call[Queue]:
    return _Call("GetQueue", qr.GetQueueRequest(name=name), _queue, "queues")


def list_queues_call() -> _Call[list[Queue]]:
    return _Call(
        "ListQueues",
        qr.ListQueuesRequest(),
        lambda r: [Queue._from_proto(q) for q in r.queues],
        "queues",
    )


def close_queue_call(name: str) -> _Call[Queue]:
    return _Call("CloseQueue", qr.CloseQueueRequest(name=name), _queue, "queues")


def delete_queue_call(name: str) -> _Call[None]:
    return _Call("DeleteQueue", qr.DeleteQueueRequest(name=name), lambda r: None, "queues")


def grant_queue_call(name: str, grants: Iterable[Grant], revoke: bool) -> _Call[Queue]:
    wire = [_grant_to_proto(g) for g in grants]
    if revoke:
        return _Call("RevokeQueue", qr.RevokeQueueRequest(name=name, grants=wire), _queue, "queues")
    return _Call("GrantQueue", qr.GrantQueueRequest(name=name, grants=wire), _queue, "queues")


def create_flavour_call(name: str, resources: Resources) -> _Call[Flavour]:
    request = qr.CreateFlavourRequest(name=name, resources=resources._to_proto())
    return _Call("CreateFlavour", request, lambda r: Flavour._from_proto(r.flavour), "queues")


def get_flavour_call(name: str) -> _Call[Flavour]:
    request = qr.GetFlavourRequest(name=name)
    return _Call("GetFlavour", request, lambda r: Flavour._from_proto(r.flavour), "queues")


def list_flavours_call() -> _Call[list[Flavour]]:
    return _Call(
        "ListFlavours",
        qr.ListFlavoursRequest(),
        lambda r: [Flavour._from_proto(f) for f in r.flavours],
        "queues",
    )


def delete_flavour_call(name: str) -> _Call[None]:
    return _Call("DeleteFlavour", qr.DeleteFlavourRequest(name=name), lambda r: None, "queues")


def create_cluster_call(
    name: str, address: str, resources: Resources, description: str
) -> _Call[Cluster]:
    request = qr.CreateClusterRequest(
        name=name,
        kind=qm.CLUSTER_KIND_RAY,
        address=address,
        resources=resources._to_proto(),
        description=description,
    )
    return _Call("CreateCluster", request, lambda r: Cluster._from_proto(r.cluster), "queues")


def list_clusters_call() -> _Call[list[Cluster]]:
    return _Call(
        "ListClusters",
        qr.ListClustersRequest(),
        lambda r: [Cluster._from_proto(c) for c in r.clusters],
        "queues",
    )


def delete_cluster_call(name: str) -> _Call[None]:
    return _Call("DeleteCluster", qr.DeleteClusterRequest(name=name), lambda r: None, "queues")


def list_cluster_resources_call() -> _Call[list[ClusterResource]]:
    return _Call(
        "ListClusterResources",
        qr.ListClusterResourcesRequest(),
        lambda r: [ClusterResource._from_proto(c) for c in r.cluster_resources],
        "queues",
    )
