"""dagwire.v1.QueueService: thin servicer over Queues (workflow/queues.py).

Operators manage queues, flavours and clusters; any other caller is refused with
PERMISSION_DENIED. A tenant gets and lists the queues granted to it (without their
grant lists, which name other users and domains) and the flavours and clusters, which
say what sizes exist and where things run.
"""

from __future__ import annotations

from typing import Any

import grpc

from dagwire.server.api import queue_convert as convert
from dagwire.server.api.tenancy import current_tenant
from dagwire.server.api.workflow_status import workflow_errors
from dagwire.server.auth.errors import PermissionDenied
from dagwire.server.auth.principal import current_principal
from dagwire.server.engine.queues import DEFAULT_QUEUE
from dagwire.server.engine.quota import Resources
from dagwire.server.workflow.queues import ClusterView, Queues
from dagwire.v1 import queue_request_response_pb2 as rr
from dagwire.v1 import queue_service_pb2_grpc as rpc

Context = grpc.aio.ServicerContext[Any, Any]


def _operator(action: str) -> None:
    if not current_principal().is_operator:
        raise PermissionDenied(f"only an operator may {action}")


class QueueServicer(rpc.QueueServiceServicer):
    def __init__(self, queues: Queues) -> None:
        self._queues = queues

    # --- queues ----------------------------------------------------------------------

    @workflow_errors
    async def CreateQueue(
        self, request: rr.CreateQueueRequest, context: Context
    ) -> rr.CreateQueueResponse:
        _operator("create queues")
        view = await self._queues.create_queue(
            request.name,
            convert.resources_from_proto("max_resources", request.max_resources),
            convert.resources_from_proto("min_resources", request.min_resources),
        )
        return rr.CreateQueueResponse(queue=convert.queue_to_proto(view, True))

    @workflow_errors
    async def UpdateQueue(
        self, request: rr.UpdateQueueRequest, context: Context
    ) -> rr.UpdateQueueResponse:
        _operator("change queues")
        max_ = (
            convert.resources_from_proto("max_resources", request.max_resources)
            if request.HasField("max_resources")
            else None
        )
        min_ = (
            convert.resources_from_proto("min_resources", request.min_resources)
            if request.HasField("min_resources")
            else None
        )
        status = convert.status_from_proto(request.status)
        view = await self._queues.update_queue(request.name, max_, min_, status)
        return rr.UpdateQueueResponse(queue=convert.queue_to_proto(view, True))

    @workflow_errors
    async def GetQueue(self, request: rr.GetQueueRequest, context: Context) -> rr.GetQueueResponse:
        tenant = current_tenant()
        if request.name == DEFAULT_QUEUE:
            view = self._queues.default_queue()
        else:
            view = await self._queues.get_queue(tenant, request.name)
        return rr.GetQueueResponse(queue=convert.queue_to_proto(view, tenant.is_operator))

    @workflow_errors
    async def ListQueues(
        self, request: rr.ListQueuesRequest, context: Context
    ) -> rr.ListQueuesResponse:
        tenant = current_tenant()
        views = [self._queues.default_queue(), *self._queues.list_queues(tenant)]
        return rr.ListQueuesResponse(
            queues=[convert.queue_to_proto(view, tenant.is_operator) for view in views]
        )

    @workflow_errors
    async def CloseQueue(
        self, request: rr.CloseQueueRequest, context: Context
    ) -> rr.CloseQueueResponse:
        _operator("close queues")
        view = await self._queues.close_queue(request.name)
        return rr.CloseQueueResponse(queue=convert.queue_to_proto(view, True))

    @workflow_errors
    async def DeleteQueue(
        self, request: rr.DeleteQueueRequest, context: Context
    ) -> rr.DeleteQueueResponse:
        _operator("delete queues")
        await self._queues.delete_queue(request.name)
        return rr.DeleteQueueResponse(name=request.name)

    @workflow_errors
    async def GrantQueue(
        self, request: rr.GrantQueueRequest, context: Context
    ) -> rr.GrantQueueResponse:
        _operator("grant queues")
        grants = convert.grants_from_proto(list(request.grants))
        view = await self._queues.grant(request.name, grants)
        return rr.GrantQueueResponse(queue=convert.queue_to_proto(view, True))

    @workflow_errors
    async def RevokeQueue(
        self, request: rr.RevokeQueueRequest, context: Context
    ) -> rr.RevokeQueueResponse:
        _operator("revoke queue grants")
        grants = convert.grants_from_proto(list(request.grants))
        view = await self._queues.grant(request.name, grants, revoke=True)
        return rr.RevokeQueueResponse(queue=convert.queue_to_proto(view, True))

    # --- flavours --------------------------------------------------------------------

    @workflow_errors
    async def CreateFlavour(
        self, request: rr.CreateFlavourRequest, context: Context
    ) -> rr.CreateFlavourResponse:
        _operator("create flavours")
        size = convert.resources_from_proto("resources", request.resources)
        flavour = await self._queues.create_flavour(request.name, size)
        return rr.CreateFlavourResponse(flavour=convert.flavour_to_proto(flavour))

    @workflow_errors
    async def GetFlavour(
        self, request: rr.GetFlavourRequest, context: Context
    ) -> rr.GetFlavourResponse:
        current_tenant()  # authenticated callers only
        flavour = self._queues.get_flavour(request.name)
        return rr.GetFlavourResponse(flavour=convert.flavour_to_proto(flavour))

    @workflow_errors
    async def ListFlavours(
        self, request: rr.ListFlavoursRequest, context: Context
    ) -> rr.ListFlavoursResponse:
        current_tenant()
        flavours = self._queues.list_flavours()
        return rr.ListFlavoursResponse(flavours=[convert.flavour_to_proto(f) for f in flavours])

    @workflow_errors
    async def DeleteFlavour(
        self, request: rr.DeleteFlavourRequest, context: Context
    ) -> rr.DeleteFlavourResponse:
        _operator("delete flavours")
        await self._queues.delete_flavour(request.name)
        return rr.DeleteFlavourResponse(name=request.name)

    # --- clusters --------------------------------------------------------------------

    @workflow_errors
    async def CreateCluster(
        self, request: rr.CreateClusterRequest, context: Context
    ) -> rr.CreateClusterResponse:
        _operator("register clusters")
        cluster = await self._queues.create_cluster(
            request.name,
            convert.cluster_kind_from_proto(request.kind),
            request.address,
            convert.resources_from_proto("resources", request.resources),
            request.description,
        )
        return rr.CreateClusterResponse(
            cluster=convert.cluster_to_proto(ClusterView(cluster, Resources()))
        )

    @workflow_errors
    async def ListClusters(
        self, request: rr.ListClustersRequest, context: Context
    ) -> rr.ListClustersResponse:
        current_tenant()
        views = await self._queues.list_clusters()
        return rr.ListClustersResponse(clusters=[convert.cluster_to_proto(v) for v in views])

    @workflow_errors
    async def DeleteCluster(
        self, request: rr.DeleteClusterRequest, context: Context
    ) -> rr.DeleteClusterResponse:
        _operator("delete clusters")
        await self._queues.delete_cluster(request.name)
        return rr.DeleteClusterResponse(name=request.name)

    @workflow_errors
    async def ListClusterResources(
        self, request: rr.ListClusterResourcesRequest, context: Context
    ) -> rr.ListClusterResourcesResponse:
        current_tenant()
        views = await self._queues.list_clusters()
        return rr.ListClusterResourcesResponse(
            cluster_resources=[convert.cluster_resource_to_proto(v) for v in views]
        )
