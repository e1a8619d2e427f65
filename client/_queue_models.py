"""Typed results of QueueService (``dagwire.v1``): queues with their quotas and use,
flavours and clusters. Frozen dataclasses built by ``_from_proto`` that keep the proto as
``raw``, as for runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dagwire.v1 import queue_message_pb2 as qm

from ._workflow_models import _time


@dataclass(frozen=True)
class Resources:
    """An amount of resources in Kubernetes quantities ("2", "500m", "8Gi"); scalars by
    name, e.g. ``{"nvidia.com/gpu": "1"}``."""

    cpu: str = ""
    mem: str = ""
    scalar: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def _from_proto(cls, message: qm.Resources) -> Resources:
        return cls(message.cpu, message.mem, dict(message.scalar_resources))

    def _to_proto(self) -> qm.Resources:
        return qm.Resources(cpu=self.cpu, mem=self.mem, scalar_resources=dict(self.scalar))


@dataclass(frozen=True)
class Grant:
    """Who may use a queue: ``kind`` is ``user`` or ``domain``."""

    kind: str
    name: str


_GRANT_KINDS = {"user": qm.GRANT_KIND_USER, "domain": qm.GRANT_KIND_DOMAIN}


def _grant_to_proto(grant: Grant) -> qm.Grant:
    if grant.kind not in _GRANT_KINDS:
        raise ValueError(f"grant kind must be user or domain, not {grant.kind!r}")
    return qm.Grant(kind=_GRANT_KINDS[grant.kind], name=grant.name)


def _enum_name(enum: Any, value: int, prefix: str) -> str:
    return str(enum.Name(value)).removeprefix(prefix).lower()


@dataclass(frozen=True)
class Queue:
    """A queue: its max and min, status (``open``/``closed``), grants (operators only),
    and what runs and waits in it now."""

    name: str
    max: Resources
    min: Resources
    status: str
    grants: tuple[Grant, ...]
    used: Resources
    running: int
    waiting: int
    create_time: datetime | None
    update_time: datetime | None
    raw: qm.Queue = field(repr=False, compare=False)

    @classmethod
    def _from_proto(cls, message: qm.Queue) -> Queue:
        return cls(
            name=message.name,
            max=Resources._from_proto(message.max_resources),
            min=Resources._from_proto(message.min_resources),
            status=_enum_name(qm.QueueStatus, message.status, "QUEUE_STATUS_"),
            grants=tuple(
                Grant(_enum_name(qm.GrantKind, g.kind, "GRANT_KIND_"), g.name)
                for g in message.grants
            ),
            used=Resources._from_proto(message.used_resources),
            running=message.running,
            waiting=message.waiting,
            create_time=_time(message, "create_time"),
            update_time=_time(message, "update_time"),
            raw=message,
        )


@dataclass(frozen=True)
class Flavour:
    """A named size that a step picks with ``PF_JOB_FLAVOUR``."""

    name: str
    resources: Resources
    create_time: datetime | None
    raw: qm.Flavour = field(repr=False, compare=False)

    @classmethod
    def _from_proto(cls, message: qm.Flavour) -> Flavour:
        return cls(
            message.name,
            Resources._from_proto(message.resources),
            _time(message, "create_time"),
            message,
        )


@dataclass(frozen=True)
class Cluster:
    """Where processes run: ``local`` (the server's machine) or a Ray cluster."""

    name: str
    kind: str
    address: str
    resources: Resources
    used: Resources
    description: str
    create_time: datetime | None
    raw: qm.Cluster = field(repr=False, compare=False)

    @classmethod
    def _from_proto(cls, message: qm.Cluster) -> Cluster:
        return cls(
            name=message.name,
            kind=_enum_name(qm.ClusterKind, message.kind, "CLUSTER_KIND_"),
            address=message.address,
            resources=Resources._from_proto(message.resources),
            used=Resources._from_proto(message.used_resources),
            description=message.description,
            create_time=_time(message, "create_time"),
            raw=message,
        )


@dataclass(frozen=True)
class ClusterResource:
    """One cluster's resources: total, in use and free."""

    cluster_name: str
    total: Resources
    used: Resources
    free: Resources
    raw: qm.ClusterResource = field(repr=False, compare=False)

    @classmethod
    def _from_proto(cls, message: qm.ClusterResource) -> ClusterResource:
        return cls(
            message.cluster_name,
            Resources._from_proto(message.total),
            Resources._from_proto(message.used),
            Resources._from_proto(message.free),
            message,
        )
