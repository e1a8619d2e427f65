"""Admission: party processes start only within their queue's quota.

The AdmittingExecutor wraps the executor that starts processes. A launch names its
queue (PaddleFlow's PF_JOB_QUEUE_NAME in a step's env, or the job's custom field of
that name) and its size (PF_JOB_FLAVOUR names a flavour; else the party's resources;
else one CPU); a launch that names no queue goes to the server's own capacity, the
`default` queue (--capacity-cpu / --capacity-mem: the machine's cores and memory), so
that a burst of process-heavy jobs queues instead of starting every process at once and
starving the API. engine/quota.py decides; this module holds what runs and what waits
per queue, starts what the decision admits, and releases a party's share at its exit.
The parties of one task attempt are one request (a gang): they wait for each other, so
they start together or not at all.

What waits says so (PartyQueued, recorded on the party and the task: "queued in demo-q:
needs cpu 1, 2 of 2 in use"), not a silent pending. At recovery the parties that run
count against their queue at once, even above its max (they are running); a party that
was waiting and of which the executor finds no trace waits again instead of being
reported lost.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from dagwire.server.engine import quota
from dagwire.server.engine.queues import DEFAULT_QUEUE, Flavour, Queue, QueueStatus
from dagwire.server.engine.quota import Request, Resources
from dagwire.server.engine.tenancy import Tenant
from dagwire.server.executors.base import (
    Executor,
    ExecutorReport,
    PartyExited,
    PartyKey,
    PartyLaunch,
    PartyQueued,
    ReportSink,
)
from dagwire.server.executors.sandbox import quantity

log = structlog.get_logger(__name__)

QUEUE_VARIABLE = "PF_JOB_QUEUE_NAME"
FLAVOUR_VARIABLE = "PF_JOB_FLAVOUR"
# What a launch that says nothing of its size holds: one core, as one process.
ONE_PROCESS = Resources(cpu=1000)
# The exit code of a party refused before it started (as for a missing command).
REFUSED_EXIT_CODE = 127
# The code a process killed by SIGTERM gives: what a waiting party that is stopped reports.
TERMINATED_EXIT_CODE = -15

QueueLookup = Callable[[str], Queue | None]
FlavourLookup = Callable[[str], Flavour | None]


def machine_capacity() -> Resources:
    """The machine's cores and memory: the default queue's max when none is configured."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        memory = 0
    return Resources(cpu=(cores or 1) * 1000, mem=memory)


# The parties of one attempt of one task: admitted together or not at all, since the
# parties of a multi-party task wait for each other (a half-admitted task would hold its
# share while its peers wait behind it).
GangKey = tuple[str, str, int]  # job id, task id, attempt


def _gang(key: PartyKey) -> GangKey:
    return key.job_id, key.task_id, key.attempt


@dataclass(slots=True)
class _Waiter:
    """A whole gang waiting for its queue: its launches and their summed demand."""

    launches: dict[PartyKey, PartyLaunch]
    demands: dict[PartyKey, Resources]
    request: Request
    reported: bool = False  # reported queued (once: each report is a write)


@dataclass(slots=True)
class _Lane:
    """One queue's book: what holds its quota and what waits for it."""

    held: dict[PartyKey, Resources] = field(default_factory=dict)
    waiting: dict[GangKey, _Waiter] = field(default_factory=dict)

    @property
    def used(self) -> Resources:
        return quota.total(self.held.values())


@dataclass(frozen=True, slots=True)
class Usage:
    """What a queue holds and how many launches wait for it, for its status."""

    used: Resources
    running: int
    waiting: int


class AdmittingExecutor:
    """An Executor that starts the launches of each queue within the queue's max."""

    def __init__(
        self,
        inner: Callable[[ReportSink], Executor],
        sink: ReportSink,
        *,
        capacity: Resources,
        queues: QueueLookup = lambda name: None,
        flavours: FlavourLookup = lambda name: None,
        free_images: frozenset[str] = frozenset(),
    ) -> None:
        self._sink = sink
        self._inner = inner(self._on_report)
        self._capacity = capacity
        self._queues = queues
        self._flavours = flavours
        self._free_images = free_images  # run in the server itself: no process to admit
        self._lanes: dict[str, _Lane] = {}
        self._lane_of: dict[PartyKey, str] = {}
        # Parties of gangs not complete yet (the runtime launches a task's parties one
        # after the other), with their queue and demand.
        self._gathering: dict[GangKey, dict[PartyKey, tuple[PartyLaunch, str, Resources]]] = {}
        # Recovered parties that were waiting: a loss reported for them means they never
        # started, and they wait again.
        self._was_waiting: dict[PartyKey, PartyLaunch] = {}
        self._arrivals = itertools.count()
        self._background: set[asyncio.Task[None]] = set()

    # --- the Executor protocol -------------------------------------------------------

    def knows_image(self, app_image: str) -> bool:
        return self._inner.knows_image(app_image)

    async def launch(self, launch: PartyLaunch) -> None:
        """Start the launch now if its queue admits it (returning once it started), else
        leave it waiting, reported queued."""
        admitted = self._enqueue(launch)
        mine = next((a for a in admitted if a.key == launch.key), None)
        self._start_later([a for a in admitted if a is not mine])
        if mine is not None:
            await self._inner_launch(mine)

    async def terminate(self, key: PartyKey, reason: str) -> None:
        gathering = self._gathering.get(_gang(key))
        if gathering is not None and gathering.pop(key, None) is not None:
            if not gathering:
                del self._gathering[_gang(key)]
            self._sink(PartyExited(key, TERMINATED_EXIT_CODE, f"terminated: {reason}"))
            return
        name = self._lane_of.get(key)
        lane = self._lanes.get(name) if name is not None else None
        waiter = lane.waiting.get(_gang(key)) if lane is not None else None
        if name is not None and lane is not None and waiter is not None and key in waiter.launches:
            self._drop_waiting(lane, key)
            self._sink(PartyExited(key, TERMINATED_EXIT_CODE, f"terminated: {reason}"))
            self._start_later(self._decide(name))  # the head may have been what blocked
            return
        await self._inner.terminate(key, reason)

    async def recover(self, launches: Iterable[PartyLaunch]) -> None:
        """Every recovered party holds its share at once (it runs, or its exit record is
        about to release it); one that was waiting and left no trace waits again."""
        launches = list(launches)
        for launch in launches:
            name, demand, _ = self._placement(launch)
            self._lanes.setdefault(name, _Lane()).held[launch.key] = demand
            self._lane_of[launch.key] = name
            if launch.queued:
                self._was_waiting[launch.key] = launch
        await self._inner.recover(launches)

    def log_path(self, key: PartyKey) -> str:
        return self._inner.log_path(key)

    async def close(self) -> None:
        await self._inner.close()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    # --- queue status ----------------------------------------------------------------

    def usage(self, queue: str) -> Usage:
        lane = self._lanes.get(queue)
        if lane is None:
            return Usage(quota.NOTHING, 0, 0)
        waiting = sum(len(waiter.launches) for waiter in lane.waiting.values())
        return Usage(lane.used, len(lane.held), waiting)

    def in_use(self, queue: str) -> bool:
        lane = self._lanes.get(queue)
        return lane is not None and bool(lane.held or lane.waiting)

    def queue_changed(self, name: str) -> None:
        """The queue's max or status changed (or it was deleted): decide again."""
        self._start_later(self._decide(name))

    # --- admission -------------------------------------------------------------------

    def _enqueue(self, launch: PartyLaunch) -> list[PartyLaunch]:
        """Put the launch in its queue once its whole gang is there, and decide: the
        launches admitted now (none when the launch was refused, which is reported)."""
        name, demand, problem = self._placement(launch)
        if problem is not None:
            self._refuse(launch.key, problem)
            return []
        if demand == quota.NOTHING:
            return [launch]  # holds nothing: never waits, not even behind a blocked head
        gang = _gang(launch.key)
        members = self._gathering.setdefault(gang, {})
        members[launch.key] = (launch, name, demand)
        if len(members) < max(len(launch.parties), 1):
            return []  # its peers are on their way
        del self._gathering[gang]
        lane = self._lanes.setdefault(name, _Lane())
        demands = {key: member[2] for key, member in members.items()}
        demand = quota.total(demands.values())
        if name == DEFAULT_QUEUE:
            # The server's own capacity runs a launch larger than all of it alone rather
            # than never: what it asks is clamped to the capacity.
            demand = _clamped(demand, self._capacity)
        request = Request(repr(gang), demand, launch.priority, next(self._arrivals))
        lane.waiting[gang] = _Waiter({k: m[0] for k, m in members.items()}, demands, request)
        for key in members:
            self._lane_of[key] = name
        return self._decide(name)

    def _placement(self, launch: PartyLaunch) -> tuple[str, Resources, str | None]:
        """The launch's queue, its demand, and why it cannot be admitted at all (None)."""
        variables: Mapping[str, str] = {**launch.custom_fields, **launch.env}
        name = variables.get(QUEUE_VARIABLE, "") or DEFAULT_QUEUE
        if launch.app_image in self._free_images and not launch.command:
            return name, quota.NOTHING, None
        demand, problem = self._demand(launch, variables.get(FLAVOUR_VARIABLE, ""))
        if name != DEFAULT_QUEUE and problem is None:
            queue = self._queues(name)
            tenant = launch.tenant or Tenant(domain=launch.key.domain_id, user="")
            if queue is None or not queue.usable_by(tenant):
                problem = f"queue {name!r} not found"  # an ungranted one answers the same
            elif queue.status is QueueStatus.CLOSED:
                problem = f"queue {name!r} is closed"
        return name, demand, problem

    def _demand(self, launch: PartyLaunch, flavour_name: str) -> tuple[Resources, str | None]:
        flavour = self._flavours(flavour_name) if flavour_name else None
        if flavour is not None:
            return flavour.size, None
        # A flavour nobody defined here (PaddleFlow's examples name flavour1, small, ...,
        # which its own server defines) sizes nothing: the party's resources decide.
        cpu, memory = launch.resources.get("cpu", ""), launch.resources.get("memory", "")
        try:
            asked = Resources(
                cpu=round(quantity(cpu, "cpu") * 1000) if cpu else ONE_PROCESS.cpu,
                mem=round(quantity(memory, "memory")) if memory else 0,
            )
        except ValueError as error:
            return quota.NOTHING, str(error)
        return asked, None

    def _limit(self, name: str) -> Resources | None:
        """The queue's max (None: gone or closed, nothing more is admitted)."""
        if name == DEFAULT_QUEUE:
            return self._capacity
        queue = self._queues(name)
        if queue is None or queue.status is QueueStatus.CLOSED:
            return None
        return queue.max

    def _decide(self, name: str) -> list[PartyLaunch]:
        """Apply the quota decision to the queue's waiting launches: the admitted ones
        hold their share (returned, to be started), the others say why they wait, and
        what can never fit is refused."""
        lane = self._lanes.get(name)
        if lane is None or not lane.waiting:
            return []
        limit = self._limit(name)
        if limit is None:
            gone = "closed" if self._queues(name) is not None else "deleted"
            for waiter in list(lane.waiting.values()):
                for key in list(waiter.launches):
                    self._drop_waiting(lane, key)
                    self._refuse(key, f"queue {name!r} was {gone}")
            return []
        by_request = {waiter.request.key: gang for gang, waiter in lane.waiting.items()}
        requests = [waiter.request for waiter in lane.waiting.values()]
        unreported = {w.request.key for w in lane.waiting.values() if not w.reported}
        decision = quota.decide(name, limit, lane.used, requests, unreported)
        admitted = []
        for request_key in decision.admit:
            waiter = lane.waiting.pop(by_request[request_key])
            for key, launch in waiter.launches.items():
                lane.held[key] = waiter.demands[key]
                admitted.append(launch)
        for waiting in decision.wait:
            waiter = lane.waiting[by_request[waiting.key]]
            if not waiter.reported:
                # Reported once: each report is a write, and the first reason says enough.
                waiter.reported = True
                for key in waiter.launches:
                    self._sink(PartyQueued(key, waiting.reason))
        for refused in decision.refuse:
            waiter = lane.waiting.pop(by_request[refused.key])
            for key in waiter.launches:
                self._lane_of.pop(key, None)
                self._refuse(key, refused.reason)
        return admitted

    def _drop_waiting(self, lane: _Lane, key: PartyKey) -> None:
        """Take one party out of its waiting gang (the whole gang when it is the last)."""
        self._lane_of.pop(key, None)
        waiter = lane.waiting.get(_gang(key))
        if waiter is None:
            return
        waiter.launches.pop(key, None)
        waiter.demands.pop(key, None)
        if not waiter.launches:
            del lane.waiting[_gang(key)]

    def _refuse(self, key: PartyKey, reason: str) -> None:
        log.info("launch refused", job_id=key.job_id, task_id=key.task_id, reason=reason)
        self._sink(PartyExited(key, REFUSED_EXIT_CODE, reason))

    def _start_later(self, launches: list[PartyLaunch]) -> None:
        for launch in launches:
            self._spawn(self._inner_launch(launch))

    async def _inner_launch(self, launch: PartyLaunch) -> None:
        try:
            await self._inner.launch(launch)
        except Exception as error:  # a launch that fails frees its share at once
            self._sink(PartyExited(launch.key, REFUSED_EXIT_CODE, f"could not start: {error}"))
            self._release(launch.key)

    def _release(self, key: PartyKey) -> None:
        """A party's process ended: free its share, and admit what now fits."""
        name = self._lane_of.pop(key, None)
        if name is not None and self._lanes[name].held.pop(key, None) is not None:
            self._start_later(self._decide(name))

    # --- reports ---------------------------------------------------------------------

    def _on_report(self, report: ExecutorReport) -> None:
        key = report.key
        waited = self._was_waiting.pop(key, None)
        if isinstance(report, PartyExited) and report.lost and waited is not None:
            # Waiting when the server stopped and never started: it waits again, unless
            # a peer of its gang runs (the gang was admitted just before the stop).
            name = self._lane_of.get(key)
            lane = self._lanes[name] if name is not None else None
            admitted = lane is not None and any(
                _gang(peer) == _gang(key) and peer != key and peer not in self._was_waiting
                for peer in lane.held
            )
            if admitted:
                self._start_later([waited])
                return
            self._lane_of.pop(key, None)
            if lane is not None:
                lane.held.pop(key, None)
            self._start_later(self._enqueue(waited))
            return
        self._sink(report)
        if isinstance(report, PartyExited):
            self._release(key)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _clamped(demand: Resources, limit: Resources) -> Resources:
    return Resources(
        cpu=min(demand.cpu, limit.cpu) if limit.cpu else demand.cpu,
        mem=min(demand.mem, limit.mem) if limit.mem else demand.mem,
        scalar=demand.scalar,
    )


def parse_resources(cpu: str, mem: str, scalar: Mapping[str, str]) -> Resources:
    """Resources from the quantities a user writes ("2", "500m", "8Gi"); ValueError
    names a bad one. Scalars are whole units (a GPU cannot be split)."""
    amounts: dict[str, int] = {}
    for name, text in scalar.items():
        value = quantity(text, name)
        if value != int(value):
            raise ValueError(f"resource {name} {text!r} must be a whole number")
        amounts[name] = int(value)
    return Resources(
        cpu=round(quantity(cpu, "cpu") * 1000) if cpu else 0,
        mem=round(quantity(mem, "mem")) if mem else 0,
        scalar={name: amount for name, amount in amounts.items() if amount},
    )
