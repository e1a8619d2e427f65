"""Job watches: a consistent start (initial listing or exact replay), then live changes
from the bus, with a heartbeat after every quiet interval.

The subscription is opened before the store is read, so nothing committed in between
is lost; what both the read and the subscription return is filtered out by resource
version, so nothing arrives twice.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field, replace

from dagwire.server.bus.base import BusClosed, EventBus, Subscription
from dagwire.server.engine.errors import EngineError
from dagwire.server.engine.model import ChangeType, Job, JobChange
from dagwire.server.store.base import JobScope, JobStore

_REPLAY_PAGE = 1_000
_LISTING_PAGE = 1_000


class WatchEventType(enum.Enum):
    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"
    HEARTBEAT = "heartbeat"


_FROM_CHANGE = {
    ChangeType.ADDED: WatchEventType.ADDED,
    ChangeType.MODIFIED: WatchEventType.MODIFIED,
    ChangeType.DELETED: WatchEventType.DELETED,
}


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One item of a watch. For HEARTBEAT, `job` is None and `resource_version` is the
    latest position the watch has passed (events it filtered out included). `changed`,
    on a watch of deltas, lists the positions of the tasks that changed since the
    stream's previous event of the job (None: the event stands for the whole job)."""

    type: WatchEventType
    job: Job | None
    resource_version: int
    changed: tuple[int, ...] | None = None


class ResumeExpired(EngineError):
    """resume_from is outside the retained event log; the client must re-list."""


class WatchInterrupted(EngineError):
    """The server is shutting down: the watch ends before its time, and the client
    resumes from `resume_from` (0: re-list), on this server or any other replica."""

    def __init__(self, resume_from: int) -> None:
        super().__init__(
            f"the server is shutting down; watch again with resume_from={resume_from}, "
            "here or on another replica"
        )
        self.resume_from = resume_from


@dataclass(frozen=True, slots=True)
class WatchFilter:
    """Which jobs a watch shows: `visible` decides; `scope` (what the store can select
    without decoding a job) must cover every job `visible` accepts, so that opening a
    watch reads only the jobs its caller may see."""

    job_ids: frozenset[str] = frozenset()
    visible: Callable[[Job], bool] = lambda job: True
    scope: JobScope = field(default_factory=JobScope)

    def matches(self, job: Job) -> bool:
        return (not self.job_ids or job.job_id in self.job_ids) and self.visible(job)


async def watch_jobs(
    store: JobStore,
    bus: EventBus,
    *,
    where: WatchFilter,
    resume_from: int,
    heartbeat_interval: float,
    lifetime: float | None = None,
    deltas: bool = False,
) -> AsyncGenerator[WatchEvent, None]:
    """Watch jobs matching `where`. Ends after `lifetime` seconds when given; raises
    WatchInterrupted when the bus shuts down. With `deltas`, a MODIFIED event of a job
    whose previous version this watch sent says which tasks changed (WatchEvent.changed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + lifetime if lifetime else None
    subscription = bus.subscribe()
    # Where a client that saw everything yielded so far resumes. Not within an initial
    # listing (ordered by job, not by version): only its closing bookmark counts.
    resumable = resume_from
    try:
        if resume_from > 0:
            replay = _replay(store, where, resume_from)
        else:
            replay = _initial_listing(store, where)
        seen = _Seen()
        sent = _Deltas() if deltas else None
        async for item in replay(seen):
            if resume_from > 0 or item.type is WatchEventType.HEARTBEAT:
                resumable = item.resource_version
            yield sent.of(item) if sent else item
        async for item in _live(subscription, where, seen, heartbeat_interval, deadline):
            resumable = item.resource_version
            yield sent.of(item) if sent else item
    except BusClosed:
        raise WatchInterrupted(resumable) from None
    finally:
        subscription.close()


class _Seen:
    """What the starting phase already covered, for dropping duplicates from the bus."""

    def __init__(self) -> None:
        self.position = 0  # every change at or below this was covered
        self.per_job: dict[str, int] = {}  # initial listing: job -> its listed version

    def covers(self, change: JobChange) -> bool:
        if change.resource_version <= self.position:
            return True
        listed = self.per_job.get(change.job.job_id)
        return listed is not None and change.resource_version <= listed


def _initial_listing(
    store: JobStore, where: WatchFilter
) -> Callable[[_Seen], AsyncIterator[WatchEvent]]:
    async def run(seen: _Seen) -> AsyncIterator[WatchEvent]:
        # Read page by page, so a watch of 100k jobs never holds them all. Everything
        # up to `start` is in the listing; whatever changes after it reaches the stream
        # live, unless the listing already showed that version of the job.
        start = await store.latest_resource_version()
        seen.position = start
        after = None
        scope = _scope_of(where)
        while True:
            page = await store.list_jobs_page(after, _LISTING_PAGE, scope)
            for job in page:
                seen.per_job[job.job_id] = job.resource_version
                if where.matches(job):
                    yield WatchEvent(WatchEventType.ADDED, job, job.resource_version)
            if len(page) < _LISTING_PAGE:
                break
            after = page[-1]
        # A bookmark, as Kubernetes sends after its initial events: resuming from it
        # misses nothing (a resumed stream replays every change after it).
        yield WatchEvent(WatchEventType.HEARTBEAT, None, start)

    return run


def _replay(
    store: JobStore, where: WatchFilter, resume_from: int
) -> Callable[[_Seen], AsyncIterator[WatchEvent]]:
    async def run(seen: _Seen) -> AsyncIterator[WatchEvent]:
        latest = await store.latest_resource_version()
        if resume_from > latest:
            raise ResumeExpired(
                f"resource_version {resume_from} is ahead of this server's latest ({latest}); "
                "the store was reset: re-list and watch again without resume_from"
            )
        oldest = await store.oldest_resource_version()
        if resume_from < latest and resume_from < oldest - 1:
            raise ResumeExpired(
                f"resource_version {resume_from} is older than the retained event log "
                f"(oldest kept: {oldest}); re-list and watch again without resume_from"
            )
        # Only the caller's events are read (the scope), so a page may end short of
        # `latest`: everything up to `latest` was final before the pages were read, as
        # the initial listing assumes of its start. Nothing above it is read: with
        # several writers on PostgreSQL a later version may be committed while an
        # earlier one is still in flight; both reach this watch live, in order.
        cursor = resume_from
        scope = _scope_of(where)
        while True:
            page = await store.changes_after(cursor, _REPLAY_PAGE, scope, upto=latest)
            for change in page:
                cursor = change.resource_version
                if where.matches(change.job):
                    yield _event_of(change)
            seen.position = cursor
            if len(page) < _REPLAY_PAGE:
                seen.position = max(cursor, latest)
                return

    return run


def _scope_of(where: WatchFilter) -> JobScope:
    return replace(where.scope, job_ids=where.job_ids or where.scope.job_ids)


async def _live(
    subscription: Subscription,
    where: WatchFilter,
    seen: _Seen,
    heartbeat_interval: float,
    deadline: float | None,
) -> AsyncIterator[WatchEvent]:
    loop = asyncio.get_running_loop()
    position = max([seen.position, *seen.per_job.values()], default=0)
    quiet_until = loop.time() + heartbeat_interval
    while True:
        wake = quiet_until if deadline is None else min(quiet_until, deadline)
        try:
            # timeout_at, unlike wait_for, does not wrap every wait in a new task.
            async with asyncio.timeout_at(wake):
                change = await subscription.next()
        except TimeoutError:
            if deadline is not None and loop.time() >= deadline:
                return
            yield WatchEvent(WatchEventType.HEARTBEAT, None, position)
            quiet_until = loop.time() + heartbeat_interval
            continue
        if seen.covers(change):
            continue
        position = max(position, change.resource_version)
        if where.matches(change.job):
            yield _event_of(change)
            quiet_until = loop.time() + heartbeat_interval


class _Deltas:
    """What one watch of deltas sent of each unfinished job: the base of its next delta.
    A finished job is forgotten (a later change, a restart, arrives whole), so what is
    kept is bounded by the unfinished jobs the caller sees."""

    def __init__(self) -> None:
        self._last: dict[str, Job] = {}

    def of(self, event: WatchEvent) -> WatchEvent:
        job = event.job
        if job is None:
            return event
        previous = self._last.pop(job.job_id, None)
        if event.type is not WatchEventType.DELETED and not job.state.is_terminal:
            self._last[job.job_id] = job
        if (
            event.type is not WatchEventType.MODIFIED
            or previous is None
            or previous.version != job.version - 1
            or len(previous.tasks) != len(job.tasks)
        ):
            return event
        # Unchanged tasks are mostly the same objects from one version to the next;
        # equality decides for those decoded apart (a replay, another replica).
        changed = tuple(
            i
            for i, (before, after) in enumerate(zip(previous.tasks, job.tasks, strict=True))
            if before is not after and before != after
        )
        return replace(event, changed=changed)


def _event_of(change: JobChange) -> WatchEvent:
    return WatchEvent(_FROM_CHANGE[change.type], change.job, change.resource_version)
