"""Queues, flavours and clusters: the application service behind QueueService.

Stored in the server's database (store/queues.py) and held in memory too, since the
admission of every launch (runtime/admission.py) looks its queue and flavour up
synchronously. Every change is written first and then applied to the memory copy and
announced to admission, which decides again (a raised max admits more, a closed queue
refuses what waits). Operators manage everything (the API checks); a tenant lists and
gets the queues granted to its domain or user, and any other answers as missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from dagwire.server.engine.errors import FieldViolation, InvalidArgument
from dagwire.server.engine.queues import (
    DEFAULT_QUEUE,
    MAX_GRANTS,
    Cluster,
    ClusterKind,
    Flavour,
    Grant,
    Queue,
    QueueStatus,
    fits_within,
    name_problem,
    resources_problem,
)
from dagwire.server.engine.quota import Resources
from dagwire.server.engine.tenancy import Tenant
from dagwire.server.runtime.admission import Usage
from dagwire.server.store.queues import NameTaken, SqlQueueStore
from dagwire.server.workflow.errors import AlreadyExists, FailedPrecondition, NotFound

Clock = Callable[[], datetime]
MAX_ADDRESS = 253
MAX_DESCRIPTION = 1024
# Queues, flavours and clusters a server holds at most (each list is one message).
MAX_ENTRIES = 1_000


class Admission(Protocol):
    """What the queue service asks of admission (runtime/admission.py)."""

    def usage(self, queue: str) -> Usage: ...

    def in_use(self, queue: str) -> bool: ...

    def queue_changed(self, name: str) -> None: ...


class _Idle:
    """Admission before the runtime built it: nothing runs."""

    def usage(self, queue: str) -> Usage:
        return Usage(Resources(), 0, 0)

    def in_use(self, queue: str) -> bool:
        return False

    def queue_changed(self, name: str) -> None:
        return None


@dataclass(frozen=True, slots=True)
class QueueView:
    """A queue with what runs in it now."""

    queue: Queue
    usage: Usage


@dataclass(frozen=True, slots=True)
class ClusterView:
    """A cluster with what the server's queues hold of it (the local machine's is the
    default queue's use; a Ray cluster's is not tracked here)."""

    cluster: Cluster
    used: Resources


class Queues:
    def __init__(self, store: SqlQueueStore, clock: Clock, capacity: Resources) -> None:
        self._store = store
        self._clock = clock
        self._capacity = capacity
        self._queues: dict[str, Queue] = {}
        self._flavours: dict[str, Flavour] = {}
        self._admission: Admission = _Idle()

    async def open(self) -> None:
        await self._store.open()
        self._queues = {q.name: q for q in await self._store.list_queues()}
        self._flavours = {f.name: f for f in await self._store.list_flavours()}

    def attach(self, admission: Admission) -> None:
        self._admission = admission

    # --- lookups for admission (synchronous, from memory) ----------------------------

    def queue(self, name: str) -> Queue | None:
        return self._queues.get(name)

    def flavour(self, name: str) -> Flavour | None:
        return self._flavours.get(name)

    # --- queues ----------------------------------------------------------------------

    async def create_queue(self, name: str, max_: Resources, min_: Resources) -> QueueView:
        _check_name("name", name)
        if name == DEFAULT_QUEUE:
            raise AlreadyExists("queue", name, "it is the server's own capacity")
        _check_sizes(max_, min_)
        if len(self._queues) >= MAX_ENTRIES:
            raise FailedPrecondition("queue", name, f"a server holds at most {MAX_ENTRIES} queues")
        now = self._clock()
        queue = Queue(name, max_, min_, QueueStatus.OPEN, frozenset(), now, now)
        try:
            stored = await self._store.insert_queue(queue)
        except NameTaken:
            raise AlreadyExists("queue", name) from None
        self._queues[name] = stored
        return self._view(stored)

    async def update_queue(
        self, name: str, max_: Resources | None, min_: Resources | None, status: QueueStatus | None
    ) -> QueueView:
        """Change the max, min or status (close, or open again); admission decides again."""

        def change(queue: Queue) -> Queue:
            new_max, new_min = max_ or queue.max, min_ or queue.min
            _check_sizes(new_max, new_min)
            return replace(queue, max=new_max, min=new_min, status=status or queue.status)

        return self._view(await self._change(name, change))

    async def close_queue(self, name: str) -> QueueView:
        """What runs finishes; what waits is refused; nothing new is admitted."""
        return await self.update_queue(name, None, None, QueueStatus.CLOSED)

    async def grant(self, name: str, grants: Sequence[Grant], revoke: bool = False) -> QueueView:
        for index, grant in enumerate(grants):
            if not grant.name or len(grant.name) > MAX_ADDRESS or "\0" in grant.name:
                raise InvalidArgument.of(
                    f"grants[{index}].name", f"1 to {MAX_ADDRESS} characters, no NUL"
                )

        def change(queue: Queue) -> Queue:
            granted = queue.grants - set(grants) if revoke else queue.grants | set(grants)
            if len(granted) > MAX_GRANTS:
                raise InvalidArgument.of("grants", f"a queue has at most {MAX_GRANTS} grants")
            return replace(queue, grants=frozenset(granted))

        return self._view(await self._change(name, change))

    async def get_queue(self, tenant: Tenant, name: str) -> QueueView:
        return self._view(self._visible(tenant, name))

    def list_queues(self, tenant: Tenant) -> list[QueueView]:
        return [
            self._view(q)
            for q in sorted(self._queues.values(), key=lambda q: q.name)
            if q.usable_by(tenant)
        ]

    def default_queue(self) -> QueueView:
        """The server's own capacity, as a queue nobody can change."""
        epoch = datetime.fromtimestamp(0).astimezone()
        queue = Queue(
            DEFAULT_QUEUE, self._capacity, Resources(), QueueStatus.OPEN, frozenset(), epoch, epoch
        )
        return self._view(queue)

    async def delete_queue(self, name: str) -> None:
        """Refused while anything runs or waits in the queue (close it first and let it
        drain, as PaddleFlow refuses to delete a queue in use)."""
        if name not in self._queues:
            raise NotFound("queue", name)
        if self._admission.in_use(name):
            usage = self._admission.usage(name)
            raise FailedPrecondition(
                "queue",
                name,
                f"in use: {usage.running} running, {usage.waiting} waiting; close it and "
                "let it drain first",
            )
        await self._store.delete_queue(name)
        self._queues.pop(name, None)
        self._admission.queue_changed(name)

    async def _change(self, name: str, change: Callable[[Queue], Queue]) -> Queue:
        for _ in range(8):  # another operator's change won the race: apply ours again
            current = await self._store.get_queue(name)
            if current is None:
                raise NotFound("queue", name)
            changed = replace(change(current), update_time=self._clock())
            stored = await self._store.update_queue(changed, current.version)
            if stored is not None:
                self._queues[name] = stored
                self._admission.queue_changed(name)
                return stored
        raise FailedPrecondition("queue", name, "changed concurrently too often; try again")

    def _visible(self, tenant: Tenant, name: str) -> Queue:
        queue = self._queues.get(name)
        if queue is None or not queue.usable_by(tenant):
            raise NotFound("queue", name)  # an ungranted queue answers as a missing one
        return queue

    def _view(self, queue: Queue) -> QueueView:
        return QueueView(queue, self._admission.usage(queue.name))

    # --- flavours --------------------------------------------------------------------

    async def create_flavour(self, name: str, size: Resources) -> Flavour:
        _check_name("name", name)
        _check_resources("size", size)
        if len(self._flavours) >= MAX_ENTRIES:
            raise FailedPrecondition("flavour", name, f"at most {MAX_ENTRIES} flavours")
        flavour = Flavour(name, size, self._clock())
        try:
            await self._store.insert_flavour(flavour)
        except NameTaken:
            raise AlreadyExists("flavour", name) from None
        self._flavours[name] = flavour
        return flavour

    def get_flavour(self, name: str) -> Flavour:
        flavour = self._flavours.get(name)
        if flavour is None:
            raise NotFound("flavour", name)
        return flavour

    def list_flavours(self) -> list[Flavour]:
        return sorted(self._flavours.values(), key=lambda f: f.name)

    async def delete_flavour(self, name: str) -> None:
        if not await self._store.delete_flavour(name):
            raise NotFound("flavour", name)
        self._flavours.pop(name, None)

    # --- clusters --------------------------------------------------------------------

    async def create_cluster(
        self, name: str, kind: ClusterKind, address: str, resources: Resources, description: str
    ) -> Cluster:
        _check_name("name", name)
        _check_resources("resources", resources)
        if kind is ClusterKind.RAY and not address:
            raise InvalidArgument.of("address", "a Ray cluster needs its address (host:port)")
        if len(address) > MAX_ADDRESS or any(c.isspace() for c in address):
            raise InvalidArgument.of("address", f"at most {MAX_ADDRESS} characters, no spaces")
        if len(description) > MAX_DESCRIPTION:
            raise InvalidArgument.of("description", f"at most {MAX_DESCRIPTION} characters")
        if kind is ClusterKind.LOCAL:
            raise InvalidArgument.of("kind", "the local machine is built in as cluster 'local'")
        cluster = Cluster(name, kind, address, resources, self._clock(), description)
        if name == LOCAL_CLUSTER:
            raise AlreadyExists("cluster", name, "it is the server's own machine")
        if len(await self._store.list_clusters()) >= MAX_ENTRIES:
            raise FailedPrecondition("cluster", name, f"at most {MAX_ENTRIES} clusters")
        try:
            await self._store.insert_cluster(cluster)
        except NameTaken:
            raise AlreadyExists("cluster", name) from None
        return cluster

    async def list_clusters(self) -> list[ClusterView]:
        """The local machine first (its capacity, the default queue's use), then the
        registered Ray clusters."""
        epoch = datetime.fromtimestamp(0).astimezone()
        local = Cluster(LOCAL_CLUSTER, ClusterKind.LOCAL, "", self._capacity, epoch, "this server")
        views = [ClusterView(local, self._admission.usage(DEFAULT_QUEUE).used)]
        views += [ClusterView(c, Resources()) for c in await self._store.list_clusters()]
        return views

    async def delete_cluster(self, name: str) -> None:
        if name == LOCAL_CLUSTER:
            raise FailedPrecondition("cluster", name, "the server's own machine cannot be deleted")
        if not await self._store.delete_cluster(name):
            raise NotFound("cluster", name)


LOCAL_CLUSTER = "local"


def _check_name(field: str, name: str) -> None:
    problem = name_problem(name)
    if problem is not None:
        raise InvalidArgument([FieldViolation(field, problem)])


def _check_resources(field: str, resources: Resources) -> None:
    problem = resources_problem(resources)
    if problem is not None:
        raise InvalidArgument([FieldViolation(field, problem)])


def _check_sizes(max_: Resources, min_: Resources) -> None:
    _check_resources("max", max_)
    _check_resources("min", min_)
    if not fits_within(min_, max_):
        raise InvalidArgument.of("min", "must not exceed max in any resource")
