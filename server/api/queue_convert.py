"""QueueService's messages <-> the engine's queues, flavours and clusters."""

from __future__ import annotations

from collections.abc import Mapping

from dagwire.server.api.workflow_convert import timestamp
from dagwire.server.engine.errors import InvalidArgument
from dagwire.server.engine.queues import (
    ClusterKind,
    Flavour,
    Grant,
    GrantKind,
    QueueStatus,
)
from dagwire.server.engine.quota import Resources
from dagwire.server.runtime.admission import parse_resources
from dagwire.server.workflow.queues import ClusterView, QueueView
from dagwire.v1 import queue_message_pb2 as pb

MAX_QUANTITY = 64  # characters of one quantity
QUEUE_STATUS: Mapping[QueueStatus, pb.QueueStatus.ValueType] = {
    QueueStatus.OPEN: pb.QUEUE_STATUS_OPEN,
    QueueStatus.CLOSED: pb.QUEUE_STATUS_CLOSED,
}
GRANT_KIND: Mapping[GrantKind, pb.GrantKind.ValueType] = {
    GrantKind.USER: pb.GRANT_KIND_USER,
    GrantKind.DOMAIN: pb.GRANT_KIND_DOMAIN,
}
CLUSTER_KIND: Mapping[ClusterKind, pb.ClusterKind.ValueType] = {
    ClusterKind.LOCAL: pb.CLUSTER_KIND_LOCAL,
    ClusterKind.RAY: pb.CLUSTER_KIND_RAY,
}


def resources_from_proto(field: str, message: pb.Resources) -> Resources:
    texts = [
        message.cpu,
        message.mem,
        *message.scalar_resources,
        *message.scalar_resources.values(),
    ]
    if any(len(text) > MAX_QUANTITY for text in texts):
        raise InvalidArgument.of(field, f"each quantity and name at most {MAX_QUANTITY} characters")
    try:
        return parse_resources(message.cpu, message.mem, message.scalar_resources)
    except ValueError as error:
        raise InvalidArgument.of(field, str(error)) from None


def resources_to_proto(resources: Resources) -> pb.Resources:
    return pb.Resources(
        cpu=_cpu_text(resources.cpu) if resources.cpu else "",
        mem=_mem_text(resources.mem) if resources.mem else "",
        scalar_resources={name: str(amount) for name, amount in resources.scalar.items()},
    )


def status_from_proto(value: int) -> QueueStatus | None:
    for status, wire in QUEUE_STATUS.items():
        if wire == value:
            return status
    if value == pb.QUEUE_STATUS_UNSPECIFIED:
        return None
    raise InvalidArgument.of("status", f"unknown queue status {value}")


def grants_from_proto(grants: list[pb.Grant]) -> list[Grant]:
    found = []
    for index, grant in enumerate(grants):
        kind = next((k for k, wire in GRANT_KIND.items() if wire == grant.kind), None)
        if kind is None:
            raise InvalidArgument.of(f"grants[{index}].kind", "must be USER or DOMAIN")
        found.append(Grant(kind, grant.name))
    return found


def cluster_kind_from_proto(value: int) -> ClusterKind:
    for kind, wire in CLUSTER_KIND.items():
        if wire == value:
            return kind
    raise InvalidArgument.of("kind", "must be CLUSTER_KIND_RAY")


def queue_to_proto(view: QueueView, with_grants: bool) -> pb.Queue:
    queue = view.queue
    grants = sorted(queue.grants, key=lambda g: (g.kind.value, g.name)) if with_grants else []
    return pb.Queue(
        name=queue.name,
        max_resources=resources_to_proto(queue.max),
        min_resources=resources_to_proto(queue.min),
        status=QUEUE_STATUS[queue.status],
        grants=[pb.Grant(kind=GRANT_KIND[g.kind], name=g.name) for g in grants],
        used_resources=resources_to_proto(view.usage.used),
        running=view.usage.running,
        waiting=view.usage.waiting,
        create_time=timestamp(queue.create_time),
        update_time=timestamp(queue.update_time),
    )


def flavour_to_proto(flavour: Flavour) -> pb.Flavour:
    return pb.Flavour(
        name=flavour.name,
        resources=resources_to_proto(flavour.size),
        create_time=timestamp(flavour.create_time),
    )


def cluster_to_proto(view: ClusterView) -> pb.Cluster:
    cluster = view.cluster
    return pb.Cluster(
        name=cluster.name,
        kind=CLUSTER_KIND[cluster.kind],
        address=cluster.address,
        resources=resources_to_proto(cluster.resources),
        used_resources=resources_to_proto(view.used),
        description=cluster.description,
        create_time=timestamp(cluster.create_time),
    )


def cluster_resource_to_proto(view: ClusterView) -> pb.ClusterResource:
    total, used = view.cluster.resources, view.used
    left = total - used
    free = Resources(
        max(left.cpu, 0), max(left.mem, 0), {k: v for k, v in left.scalar.items() if v > 0}
    )
    return pb.ClusterResource(
        cluster_name=view.cluster.name,
        total=resources_to_proto(total),
        used=resources_to_proto(used),
        free=resources_to_proto(free),
    )


def _cpu_text(millicores: int) -> str:
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


def _mem_text(size: int) -> str:
    """Exact, in the largest binary unit that divides it."""
    for unit, factor in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)
