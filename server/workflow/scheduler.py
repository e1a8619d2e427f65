"""Schedules at work: the ScheduleService behind the schedule RPCs, and the Scheduler, the
loop that fires their ticks.

The decisions are pure (`workflow.schedules`); this module loads, decides, acts and
saves. Per pass and schedule: load it, ask the RunStarter for its active runs, plan the
due ticks, stop what REPLACE replaces, start one run per fired tick, then store the new
`next_run_time`. A run's id is derived from its schedule and tick, and the RunStarter
refuses a taken id with AlreadyExists, which counts as fired: a tick whose run started
just before a crash (before `next_run_time` moved on) is handled again after the restart
and fires nothing new. One lock per schedule keeps the loop and the RPCs from
interleaving on it; a stored version check catches other replicas.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

import structlog

from dagwire.server.engine.errors import ConcurrentModification, EngineError
from dagwire.server.engine.tenancy import Tenant
from dagwire.server.store.schedules import ScheduleConflict, ScheduleRow, SqlScheduleStore
from dagwire.server.workflow.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from dagwire.server.workflow.schedules import (
    Schedule,
    ScheduleRequest,
    ScheduleStatus,
    apply_plan,
    fail,
    new_schedule,
    page_request,
    page_token,
    parse_filter,
    plan_ticks,
    run_id_for,
    schedule_from_doc,
    schedule_to_doc,
    stop,
    validate_request,
)

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
POLL_INTERVAL = 1.0
# Schedules one pass looks at, at most; a pass that hits it reports that more are due.
DUE_PER_PASS = 1000


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ScheduledRun:
    run_id: str  # deterministic per (schedule, tick): run_id_for(schedule_id, tick)
    schedule_id: str
    pipeline_id: str
    pipeline_version_id: str
    username: str
    parameters: Mapping[str, str]
    scheduled_time: datetime
    owner: str = ""


class RunStarter(Protocol):
    async def start_scheduled_run(self, run: ScheduledRun) -> None:
        """Create the run. Raises AlreadyExists when run_id is taken (the tick already fired:
        treat as done), NotFound when the pipeline version is gone."""
        ...

    async def active_runs(self, schedule_id: str) -> list[tuple[str, datetime]]:
        """(run_id, create_time) of the schedule's unfinished runs, oldest first."""
        ...

    async def force_stop(self, run_id: str, reason: str) -> None:
        """Force-stop a run (the replace policy)."""
        ...


class PipelineCatalog(Protocol):
    async def resolve_version(
        self, tenant: Tenant, pipeline_id: str, pipeline_version_id: str
    ) -> str:
        """The version id to run ("" means the latest); NotFound for an unknown pipeline/version."""
        ...


def new_schedule_id() -> str:
    return f"sch-{secrets.token_hex(4)}"


class ScheduleService:
    """Create, read, list, stop and delete schedules, and fire their due ticks."""

    def __init__(
        self,
        store: SqlScheduleStore,
        runs: RunStarter,
        catalog: PipelineCatalog,
        *,
        clock: Clock = utc_now,
        new_id: Callable[[], str] = new_schedule_id,
    ) -> None:
        self._store = store
        self._runs = runs
        self._catalog = catalog
        self._clock = clock
        self._new_id = new_id
        self._locks: dict[str, asyncio.Lock] = {}
        # Set whenever the next due time may have moved earlier (a schedule was created);
        # the Scheduler waits on it besides its timer.
        self.changed = asyncio.Event()

    # -- commands -----------------------------------------------------------------------

    async def create(self, tenant: Tenant, request: ScheduleRequest) -> Schedule:
        """Validate, resolve the version (the latest when none is named; only among the
        tenant's pipelines), store as the tenant's. A retry with the same request_id
        returns the first schedule. Raises InvalidArgument, NotFound (pipeline or
        version), AlreadyExists (the user has a schedule of that name)."""
        now = self._clock()
        valid = validate_request(request, now)
        owner = tenant.owner
        if valid.request_id:
            earlier = await self._store.find_by_request_id(owner, valid.request_id)
            if earlier is not None:
                return _schedule(earlier)
        version = await self._catalog.resolve_version(
            tenant, valid.pipeline_id, valid.pipeline_version_id
        )
        if await self._store.find_by_name(owner, valid.username, valid.name) is not None:
            raise _name_taken(valid.name)
        for _ in range(5):
            schedule = replace(new_schedule(valid, self._new_id(), version, now), owner=owner)
            try:
                stored = await self._store.insert(_row(schedule))
            except ScheduleConflict as conflict:
                if conflict.field == "schedule_id":
                    continue
                if conflict.field == "request_id":
                    earlier = await self._store.find_by_request_id(owner, valid.request_id)
                    if earlier is not None:
                        return _schedule(earlier)
                raise _name_taken(valid.name) from None
            self.changed.set()
            log.info(
                "schedule created",
                schedule_id=schedule.schedule_id,
                crontab=schedule.crontab,
                next_run_time=_iso(schedule.next_run_time),
            )
            return replace(schedule, version=stored.version)
        raise RuntimeError("could not draw a free schedule id")  # pragma: no cover

    async def get(self, tenant: Tenant, schedule_id: str) -> Schedule:
        """Raises NotFound, for another domain's schedule too."""
        _require_id(schedule_id)
        row = await self._store.get(schedule_id)
        if row is None or not tenant.sees(row.owner):
            raise NotFound("schedule", schedule_id)
        return _schedule(row)

    async def list(
        self, tenant: Tenant, page_size: int = 0, token: str = "", filter_text: str = ""
    ) -> tuple[list[Schedule], str]:
        """One page of the tenant's schedules, oldest first, and the token of the next
        page ("" on the last). Raises InvalidArgument for a bad filter, size or token."""
        criteria = parse_filter(filter_text)
        page = page_request(page_size, token, filter_text)
        filters = {
            key: str(value)
            for key, value in (
                ("schedule_id", criteria.schedule_id),
                ("username", criteria.username),
                ("pipeline_id", criteria.pipeline_id),
                ("pipeline_version_id", criteria.pipeline_version_id),
                ("name", criteria.name),
                ("status", criteria.status.value if criteria.status else None),
            )
            if value is not None
        }
        rows = await self._store.page(filters, page.after, page.size + 1, owner=tenant.domain)
        found = [_schedule(row) for row in rows[: page.size]]
        more = len(rows) > page.size
        return found, page_token(found[-1], filter_text) if more else ""

    async def stop(self, tenant: Tenant, schedule_id: str) -> Schedule:
        """Stop for good; its active runs go on. Raises NotFound, FailedPrecondition when
        it is not active."""
        _require_id(schedule_id)
        async with self._lock(schedule_id):
            schedule = await self.get(tenant, schedule_id)
            if schedule.status.is_final:
                raise FailedPrecondition(
                    "schedule",
                    schedule_id,
                    f"it is {schedule.status.value}; only an active schedule can be stopped",
                )
            stopped = await self._save(schedule, stop(schedule, self._clock()))
            if stopped is None:
                raise ConcurrentModification(
                    f"schedule {schedule_id!r} changed concurrently; try again"
                )
        log.info("schedule stopped", schedule_id=schedule_id)
        return stopped

    async def delete(self, tenant: Tenant, schedule_id: str) -> None:
        """Remove it; its runs are kept. Raises NotFound."""
        _require_id(schedule_id)
        async with self._lock(schedule_id):
            await self.get(tenant, schedule_id)
            if not await self._store.delete(schedule_id):
                raise NotFound("schedule", schedule_id)
        self._locks.pop(schedule_id, None)
        log.info("schedule deleted", schedule_id=schedule_id)

    async def active_schedules_of(
        self, pipeline_id: str, pipeline_version_id: str = ""
    ) -> builtins.list[Schedule]:
        """The active schedules that run a pipeline (or one version of it): what
        DeletePipeline and DeletePipelineVersion refuse to pull from under."""
        filters = {"pipeline_id": pipeline_id, "status": ScheduleStatus.ACTIVE.value}
        if pipeline_version_id:
            filters["pipeline_version_id"] = pipeline_version_id
        found: builtins.list[Schedule] = []
        after: tuple[datetime, str] | None = None
        while True:
            rows = await self._store.page(filters, after, 1000)
            found.extend(_schedule(row) for row in rows)
            if len(rows) < 1000:
                return found
            after = (rows[-1].create_time, rows[-1].schedule_id)

    # -- firing -------------------------------------------------------------------------

    async def fire_due(self, now: datetime, resumed_at: datetime) -> bool:
        """One pass: handle every schedule with a tick due at `now`. Ticks before
        `resumed_at` were missed while the server was down. One schedule's failure is
        logged and leaves the others alone. True when due ticks remain (a long catchup
        is handled in bounded slices)."""
        rows = await self._store.due(now, limit=DUE_PER_PASS)
        more = len(rows) == DUE_PER_PASS
        for row in rows:
            try:
                more |= await self._fire(row.schedule_id, now, resumed_at)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("schedule pass failed", schedule_id=row.schedule_id)
        return more

    async def next_due_after(self, now: datetime) -> datetime | None:
        return await self._store.next_run_time_after(now)

    async def _fire(self, schedule_id: str, now: datetime, resumed_at: datetime) -> bool:
        async with self._lock(schedule_id):
            row = await self._store.get(schedule_id)
            if row is None:
                return False
            schedule = _schedule(row)
            if schedule.status.is_final:
                return False
            active = await self._runs.active_runs(schedule_id)
            plan = plan_ticks(schedule, now, len(active), resumed_at)
            for run_id, _ in active[: plan.stop_oldest]:
                await self._stop_run(schedule, run_id)
            for tick in plan.fire:
                try:
                    await self._runs.start_scheduled_run(_scheduled_run(schedule, tick))
                except AlreadyExists:
                    log.info("tick had fired already", schedule_id=schedule_id, tick=_iso(tick))
                except NotFound as error:
                    message = f"the run of tick {tick.isoformat()} could not start: {error}"
                    log.warning("schedule failed", schedule_id=schedule_id, reason=message)
                    await self._save(schedule, fail(schedule, message, now))
                    return False
                except Exception:
                    # Transient (store trouble): keep this tick, try it again next pass.
                    log.exception("scheduled run did not start", schedule_id=schedule_id)
                    if tick != schedule.next_run_time:
                        await self._save(schedule, replace(schedule, next_run_time=tick))
                    return False
            await self._save(schedule, apply_plan(schedule, plan, now))
            if plan.fire or plan.skipped or plan.dropped_before or plan.stop_oldest:
                log.info(
                    "schedule ticks handled",
                    schedule_id=schedule_id,
                    fired=len(plan.fire),
                    skipped=len(plan.skipped),
                    replaced=plan.stop_oldest,
                    dropped_before=_iso(plan.dropped_before),
                    next_run_time=_iso(plan.next_run_time),
                    status=plan.status.value,
                )
            return plan.more

    async def _stop_run(self, schedule: Schedule, run_id: str) -> None:
        reason = (
            f"replaced by a newer run of schedule {schedule.schedule_id} "
            f"(concurrency {schedule.concurrency}, policy replace)"
        )
        try:
            await self._runs.force_stop(run_id, reason)
        except EngineError as error:  # finished meanwhile, or already stopping
            log.info("replaced run not stopped", run_id=run_id, reason=str(error))

    async def _save(self, before: Schedule, after: Schedule) -> Schedule | None:
        """Store `after` if it differs from `before`; None when the stored schedule
        changed meanwhile (another replica) or is gone."""
        if after == before:
            return before
        stored = await self._store.update(_row(after), before.version)
        if stored is None:
            log.info("schedule changed concurrently", schedule_id=before.schedule_id)
            return None
        return replace(after, version=stored.version)

    def _lock(self, schedule_id: str) -> asyncio.Lock:
        return self._locks.setdefault(schedule_id, asyncio.Lock())


class Scheduler:
    """The loop: a pass over the due schedules, then sleep until the next tick, at most
    `poll_interval` (held ticks wait for a run to finish, which is only seen by polling
    or `wake()`). Cancel-safe: `close()` cancels it between or within passes; whatever a
    cancelled pass did not store is redone by the next one without firing twice."""

    def __init__(
        self,
        service: ScheduleService,
        *,
        poll_interval: float = POLL_INTERVAL,
        clock: Clock = utc_now,
    ) -> None:
        self._service = service
        self._poll = poll_interval
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self.resumed_at = clock()

    async def start(self) -> None:
        self.resumed_at = self._clock()
        self._task = asyncio.create_task(self._loop(), name="dagwire-scheduler")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def wake(self) -> None:
        """Look at the schedules now (e.g. a scheduled run finished, freeing a slot)."""
        self._service.changed.set()

    async def _loop(self) -> None:
        changed = self._service.changed
        while True:
            changed.clear()
            delay = await self._pass()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), delay)
            else:
                await asyncio.sleep(0)

    async def _pass(self) -> float:
        """One pass; the seconds to wait before the next."""
        now = self._clock()
        try:
            if await self._service.fire_due(now, self.resumed_at):
                return 0.0
            upcoming = await self._service.next_due_after(now)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("scheduler pass failed")
            return self._poll
        if upcoming is None:
            return self._poll
        return max(0.0, min(self._poll, (upcoming - self._clock()).total_seconds()))


def _scheduled_run(schedule: Schedule, tick: datetime) -> ScheduledRun:
    return ScheduledRun(
        run_id=run_id_for(schedule.schedule_id, tick),
        schedule_id=schedule.schedule_id,
        pipeline_id=schedule.pipeline_id,
        pipeline_version_id=schedule.pipeline_version_id,
        username=schedule.username,
        parameters=dict(schedule.parameters),
        scheduled_time=tick,
        owner=schedule.owner,
    )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _require_id(schedule_id: str) -> None:
    if not schedule_id:
        raise InvalidArgument.of("schedule_id", "is required")


def _name_taken(name: str) -> AlreadyExists:
    return AlreadyExists(
        "schedule", name, "a user's schedule names are unique; choose another or delete it"
    )


def _row(schedule: Schedule) -> ScheduleRow:
    return ScheduleRow(
        schedule_id=schedule.schedule_id,
        name=schedule.name,
        username=schedule.username,
        pipeline_id=schedule.pipeline_id,
        pipeline_version_id=schedule.pipeline_version_id,
        status=schedule.status.value,
        next_run_time=schedule.next_run_time,
        create_time=schedule.create_time,
        doc=schedule_to_doc(schedule),
        request_id=schedule.request_id,
        version=schedule.version,
        owner=schedule.owner,
    )


def _schedule(row: ScheduleRow) -> Schedule:
    return replace(schedule_from_doc(row.doc, row.version), owner=row.owner)
