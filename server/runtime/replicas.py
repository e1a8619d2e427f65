"""Replication: what makes one server one replica among several on a shared
PostgreSQL database.

It ties together the store's side (dagwire.server.store.pg: ordered log, owner rows,
leases), the bus that delivers every replica's changes in order
(dagwire.server.bus.replicated) and the runtime (dagwire.server.runtime.jobs), which
runs the jobs this replica owns:

- the lease: renewed every lease/5 seconds. The runtime acts for its jobs (launches
  processes, writes their reports) only while `lease_valid()`: until 3/4 of the lease
  after the last renewal was *sent*, so a replica that stalls stops acting before
  others may take its jobs. A renewal that finds the lease expired re-registers, asks
  the database which jobs are still ours, terminates the processes it still runs for
  the others and drops them from memory (`Owner.disown`), all before it acts again;
- fencing (dagwire.server.executors.fencing): every registration raises the lease's
  epoch, which every launch carries; every renewal that succeeded moves this replica's
  fence deadline forward, and its processes die by themselves once it passes, so a
  replica killed, stopped or cut off from the database stops running its parties soon
  after its lease expires, without having to notice;
- the sweep, after every renewal: jobs of replicas whose lease expired are taken over
  and handed to the runtime (`Owner.adopt`), which recovers their processes as after a
  restart, but reports a party it cannot find lost (and so runs it again) only once the
  previous owner's processes are surely dead: `fence_seconds` after the takeover;
- the bus: notifications of commits (other replicas' and this one's) and local commits
  make the poller read the commit horizon (dagwire.server.store.pg) and hand it to the
  bus; it also reads it every second in case a notification was lost, and again soon
  while the horizon is below a version known to be committed (an earlier one is still
  in flight, or the commit's lock release has not been seen yet).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import time
from collections.abc import Sequence
from typing import Protocol

import structlog

from dagwire.server.bus.base import EventBus
from dagwire.server.bus.replicated import ReplicatedBus
from dagwire.server.engine.model import Job, JobChange
from dagwire.server.executors.fencing import FenceBoard, deadline
from dagwire.server.store.pg import PgListener, PgReplicaStore

log = structlog.get_logger(__name__)

TAKE_OVER_BATCH = 500
# While the horizon is below a committed version: how soon it is read again.
_CATCH_UP_SECONDS = 0.005
# With no watcher, how long commits are gathered before the horizon is read.
_GATHER_SECONDS = 0.02
# How long after a renewal was sent this replica still acts, as a share of the lease.
_ACTING_SHARE = 0.75


def default_replica_id() -> str:
    """Unique per process: a restarted replica's jobs are taken over once its old lease
    expires (a stable --replica-id makes the restarted replica pick them up itself)."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class Owner(Protocol):
    """What the runtime does for the replication."""

    def interested(self, job_id: str) -> bool:
        """Whether changes other replicas make to this job matter here (it is ours)."""
        ...

    def foreign(self, change: JobChange) -> None:
        """Another replica changed a job this one is interested in."""
        ...

    async def adopt(self, job_ids: Sequence[str], settled_at: float) -> None:
        """These jobs are ours now: load them and recover their processes; whatever their
        previous owner may still run is dead by `settled_at` (time.monotonic)."""
        ...

    async def disown(self, keep: set[str]) -> None:
        """Our lease expired: terminate the processes of every job not in `keep` (others
        took them over), then forget those jobs."""
        ...


class Replication:
    def __init__(
        self,
        url: str,
        *,
        replica_id: str,
        lease_seconds: float,
        bus: EventBus,
        poll_interval: float = 1.0,
        fences: FenceBoard | None = None,
        fence_seconds: float | None = None,
    ) -> None:
        self.replica_id = replica_id
        self.lease_seconds = lease_seconds
        # How long after the lease expires this replica's processes may still run.
        self.fence_seconds = lease_seconds if fence_seconds is None else fence_seconds
        self._fences = fences
        self.epoch = 0
        self._pg = PgReplicaStore(url, replica_id, lease_seconds, self.fence_seconds)
        self.hooks = self._pg.hooks
        self.bus = ReplicatedBus(bus, self._pg.events_between, own=self._pg.hooks.own)
        self._poll_interval = poll_interval
        self._listener = PgListener(self._pg.dsn, self._notified, self._poll_soon)
        self._valid_until = 0.0
        # Re-registered (when, time.monotonic) after losing the lease; not yet disowned.
        self._registered_at: float | None = None
        self._owner: Owner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._poll_now = asyncio.Event()
        self._heard = 0  # the largest resource version known to be committed
        self._renewed = asyncio.Event()
        # Taken over but not adopted yet (reading them failed): tried again next sweep,
        # with when their previous owners' processes are surely dead.
        self._unadopted: list[str] = []
        self._unadopted_settled_at = 0.0

    # --- lifecycle --------------------------------------------------------------------

    async def start(self, owner: Owner) -> None:
        """Take the lease and start following the log; the runtime then adopts the jobs
        it owns (`owned_jobs`). Followed from the log's end as of now: anything the
        runtime reads from the store afterwards is at least that new."""
        self._owner = owner
        self.bus.interested = owner.interested
        self.bus.on_foreign = owner.foreign
        self.bus.on_local = self._committed
        await self._pg.open()
        sent = time.monotonic()
        self.epoch = await self._pg.register()
        self._extend(sent)
        await self._listener.start()
        self.bus.start(await self._pg.latest())
        self._tasks = [
            asyncio.create_task(self._keep_lease(), name="dagwire lease"),
            asyncio.create_task(self._poll(), name="dagwire log poll"),
        ]
        log.info("replica started", replica_id=self.replica_id, lease_seconds=self.lease_seconds)

    async def close(self) -> None:
        """Stop following the log and give up the lease at once, so that other replicas
        take over this one's jobs without waiting for it to expire. Called once the
        runtime stopped acting."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self._listener.close()
        await self.bus.stop()
        with contextlib.suppress(Exception):  # expiry does the same, later
            await self._pg.release()
        await self._pg.close()

    # --- the lease --------------------------------------------------------------------

    def lease_valid(self) -> bool:
        return time.monotonic() < self._valid_until

    async def wait_valid(self) -> None:
        """Until the lease is known to be held (acting is paused meanwhile)."""
        while not self.lease_valid():
            self._renewed.clear()
            if self.lease_valid():
                return
            await self._renewed.wait()

    def _extend(self, sent: float) -> None:
        """A renewal (or registration) sent at `sent` (time.monotonic) succeeded: act,
        and let our processes run, a while longer."""
        if self._fences is not None:
            sent_wall = time.time() - (time.monotonic() - sent)
            until = deadline(sent_wall, self.lease_seconds, self.fence_seconds)
            self._fences.renew(self.replica_id, until)
        self._valid_until = sent + self.lease_seconds * _ACTING_SHARE
        self._renewed.set()

    async def _keep_lease(self) -> None:
        interval = self.lease_seconds / 5
        sweeps = 0
        while True:
            await asyncio.sleep(interval)
            try:
                await self._renew()
                await self._sweep()
                sweeps += 1
                if sweeps % 100 == 0:
                    await self._pg.forget_dead_replicas()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database is unreachable: acting pauses
                log.warning("lease renewal failed", error=repr(error))

    async def _renew(self) -> None:
        if self._registered_at is None:
            sent = time.monotonic()
            if await self._pg.renew():
                self._extend(sent)
                return
            log.warning("lease expired; re-registering", replica_id=self.replica_id)
            sent = time.monotonic()
            self.epoch = await self._pg.register()
            # Until the jobs others took are disowned, the lease is not extended (even
            # should this fail and a later renewal succeed).
            self._registered_at = sent
        keep = await self._pg.owned_ids()
        assert self._owner is not None
        # Before anything else (acting waits meanwhile, and the fence deadline does not
        # move): stop what we still run for the jobs others took.
        await self._owner.disown(keep)
        sent, self._registered_at = self._registered_at, None
        self._extend(sent)

    async def _sweep(self) -> None:
        """Take over the jobs of replicas whose lease expired."""
        assert self._owner is not None
        while self.lease_valid():
            fresh, fence_seconds = await self._pg.take_over(TAKE_OVER_BATCH)
            taken = [*self._unadopted, *fresh]
            if not taken:
                return
            # Taken after their owners' leases expired: their processes are dead
            # fence_seconds from now at the latest.
            settled_at = max(self._unadopted_settled_at, time.monotonic() + fence_seconds)
            log.info("taking over jobs", count=len(taken), replica_id=self.replica_id)
            self._unadopted, self._unadopted_settled_at = taken, settled_at
            await self._owner.adopt(taken, settled_at)
            self._unadopted, self._unadopted_settled_at = [], 0.0
            if len(taken) < TAKE_OVER_BATCH:
                return

    # --- ownership, for the runtime ---------------------------------------------------

    async def owned_jobs(self, job_ids: Sequence[str] | None = None) -> list[Job]:
        """The jobs this replica owns (at start: with those no replica owns yet)."""
        if job_ids is None:
            claimed = await self._pg.claim_unowned()
            if claimed:
                log.info("claimed unowned jobs", count=len(claimed))
        return await self._pg.owned_jobs(job_ids)

    # --- following the log ------------------------------------------------------------

    def _notified(self, origin: str, resource_version: int) -> None:
        self._committed(resource_version)

    def _committed(self, resource_version: int) -> None:
        """A transaction that wrote up to `resource_version` committed (a notification
        from any replica, or a local commit): read the horizon soon."""
        self._heard = max(self._heard, resource_version)
        self._poll_now.set()

    def _poll_soon(self) -> None:
        self._poll_now.set()

    async def _poll(self) -> None:
        interval = self._poll_interval
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._poll_now.wait()
            if self.bus.subscriber_count == 0:
                # Nobody watches: gather the commits of a moment into one read (the
                # runtime's interest in others' changes to its jobs can wait that long).
                await asyncio.sleep(_GATHER_SECONDS)
            self._poll_now.clear()
            try:
                horizon = await self._pg.latest()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("reading the log's end failed", error=repr(error))
                interval = self._poll_interval
                continue
            self.bus.notified(horizon)
            interval = _CATCH_UP_SECONDS if horizon < self._heard else self._poll_interval
