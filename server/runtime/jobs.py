"""JobRuntime: the application service behind JobService.

Per command: load the job, call the pure reducer, store the result together with its
event (optimistic version check), publish the event, then carry out the effects.
One lock per job makes the runtime the single writer of each job; the group committer
writes the changes of all jobs in shared transactions and announces them in
resource_version order. Executor reports are queued per job and applied in batches, so
a burst of reports costs one write, not one each.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from dagwire.server.bus.base import EventBus
from dagwire.server.engine import reducer
from dagwire.server.engine.errors import InvalidRequest, JobNotFound
from dagwire.server.engine.model import (
    ChangeType,
    Job,
    JobChange,
    JobSpec,
    PartyState,
    TaskState,
)
from dagwire.server.engine.reducer import (
    ArmTimeout,
    Command,
    Effect,
    LaunchTask,
    Outcome,
    TerminateTask,
)
from dagwire.server.engine.validation import Limits, validate_job_spec
from dagwire.server.executors.base import (
    ClusterParty,
    Executor,
    ExecutorReport,
    PartyExited,
    PartyKey,
    PartyLaunch,
    PartyProgress,
    PartyStarted,
    ReportSink,
)
from dagwire.server.runtime.committer import GroupCommitter
from dagwire.server.store.base import InsertJob, JobStore, RemoveJob, UpdateJob

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
# Checked against the stored job under its lock, before anything is done to it: the API
# passes its authorization here, so that no check-then-act gap separates the two.
Guard = Callable[[Job], None]


def allow_all(job: Job) -> None:
    return None


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RuntimeSettings:
    approval_domains: frozenset[str] = frozenset()
    limits: Limits = field(default_factory=Limits)
    event_retention: int = 100_000

    @property
    def compact_every(self) -> int:
        """Compact often enough that the log never holds much more than it retains."""
        return min(1_000, max(1, self.event_retention // 10))


class JobRuntime:
    def __init__(
        self,
        *,
        store: JobStore,
        bus: EventBus,
        executor_factory: Callable[[ReportSink], Executor],
        settings: RuntimeSettings = RuntimeSettings(),
        clock: Clock = utc_now,
    ) -> None:
        self._store = store
        self._bus = bus
        self._settings = settings
        self._clock = clock
        self.executor = executor_factory(self.report)
        self._job_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._committer = GroupCommitter(store, self._published)
        self._active: dict[str, Job] = {}
        self._inbox: dict[str, list[Command | ExecutorReport]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._timers: dict[tuple[str, str, int], asyncio.TimerHandle] = {}
        self._commits = 0
        self._closed = False

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Pick up where the last process left off: ask the executor about every party
        that was running and re-arm timeouts. Nothing needs launching here: a job is
        stored only after its ready tasks were launched, and a task stored as running
        whose process never started comes back from the executor as lost and relaunches."""
        self._committer.start()
        for job in await self._store.list_jobs(active_only=True):
            self._active[job.job_id] = job
            keys = [
                PartyKey(
                    job.job_id, job.spec.task(task.alias).task_id, party.domain_id, task.attempt
                )
                for task in job.tasks
                if task.state is TaskState.RUNNING
                for party in task.parties
                if party.state in (PartyState.PENDING, PartyState.RUNNING)
            ]
            if keys:
                await self.executor.recover(keys)
            self._rearm_timeouts(job)

    async def close(self) -> None:
        """Stop reacting: no more reports, timers or background work. Processes keep
        running; the next start recovers them."""
        self._closed = True
        await self.executor.close()
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self._committer.close()

    # --- queries ---------------------------------------------------------------------

    async def get(self, job_id: str, guard: Guard = allow_all) -> Job:
        job = await self._load(job_id)
        if job is None:
            raise JobNotFound(job_id)
        guard(job)
        return job

    async def _load(self, job_id: str) -> Job | None:
        """The job as last committed. Unfinished jobs are served from memory: this
        runtime is their only writer, and they are the ones commands and reports touch."""
        job = self._active.get(job_id)
        return job if job is not None else await self._store.get_job(job_id)

    async def get_many(self, job_ids: Sequence[str], guard: Guard = allow_all) -> list[Job]:
        """The jobs in request order; JobNotFound names the first missing one."""
        found = {job.job_id: job for job in await self._store.get_jobs(job_ids)}
        for job_id in job_ids:
            if job_id not in found:
                raise JobNotFound(job_id)
            guard(found[job_id])
        return [found[job_id] for job_id in job_ids]

    # --- commands --------------------------------------------------------------------

    async def create(self, spec: JobSpec) -> Job:
        validate_job_spec(spec, self._settings.limits)
        for index, task in enumerate(spec.tasks):
            if not self.executor.knows_image(task.app_image):
                raise InvalidRequest(
                    f"tasks[{index}] ({task.alias!r}).app_image {task.app_image!r} is not in the "
                    "app-image registry"
                )
        outcome = reducer.create_job(spec, self._clock(), self._settings.approval_domains)
        async with self._lock(spec.job_id):
            change = await self._committer.write(InsertJob(outcome.job))
            await self._carry_out(change.job, outcome.effects)
        log.info("job created", job_id=spec.job_id, state=change.job.state.value)
        return change.job

    async def stop(
        self, job_id: str, reason: str, guard: Guard = allow_all, *, keep_post: bool = False
    ) -> Job:
        return await self._command(job_id, reducer.Stop(reason, keep_post), guard)

    async def suspend(self, job_id: str, reason: str, guard: Guard = allow_all) -> Job:
        return await self._command(job_id, reducer.Suspend(reason), guard)

    async def restart(self, job_id: str, reason: str, guard: Guard = allow_all) -> Job:
        return await self._command(job_id, reducer.Restart(reason), guard)

    async def cancel(self, job_id: str, reason: str, guard: Guard = allow_all) -> Job:
        return await self._command(job_id, reducer.Cancel(reason), guard)

    async def approve(
        self,
        job_id: str,
        domain_id: str | None,
        accept: bool,
        reason: str,
        guard: Guard = allow_all,
    ) -> Job:
        return await self._command(job_id, reducer.Approve(domain_id, accept, reason), guard)

    async def delete(self, job_id: str, guard: Guard = allow_all) -> None:
        """Stop what runs and remove the job; watchers get DELETED."""
        async with self._lock(job_id):
            job = await self.get(job_id, guard)
            await self._committer.write(RemoveJob(job_id))
            await self._carry_out(job, reducer.termination_effects(job, "job deleted"))
        log.info("job deleted", job_id=job_id)

    async def _command(self, job_id: str, command: Command, guard: Guard) -> Job:
        async with self._lock(job_id):
            job = await self.get(job_id, guard)
            outcome = reducer.apply(job, command, self._clock())
            return await self._save(job, outcome)

    # --- executor reports ------------------------------------------------------------

    def report(self, report: ExecutorReport) -> None:
        """The executor's sink: queue the report and make sure its job gets drained."""
        self._post(report.key.job_id, report)

    def _post(self, job_id: str, item: Command | ExecutorReport) -> None:
        if self._closed:
            return  # recovered from the executor's on-disk records at the next start
        queue = self._inbox.setdefault(job_id, [])
        queue.append(item)
        if len(queue) == 1:
            self._spawn(self._drain(job_id))

    async def _drain(self, job_id: str) -> None:
        async with self._lock(job_id):
            items = self._inbox.pop(job_id, [])
            job = await self._load(job_id)
            if job is None or not items:
                return
            now = self._clock()
            current = job
            effects: list[Effect] = []
            for item in items:
                command = _as_command(current, item)
                if command is not None:
                    outcome = reducer.apply(current, command, now)
                    current = outcome.job
                    effects.extend(outcome.effects)
            await self._save(job, Outcome(current, tuple(effects)))

    # --- persistence and effects -----------------------------------------------------

    async def _save(self, before: Job, outcome: Outcome) -> Job:
        if outcome.job is before:
            return before
        change = await self._committer.write(UpdateJob(outcome.job, before.version))
        await self._carry_out(change.job, outcome.effects)
        return change.job

    def _published(self, change: JobChange) -> None:
        job = change.job
        if change.type is ChangeType.DELETED or job.state.is_terminal:
            self._active.pop(job.job_id, None)
        else:
            self._active[job.job_id] = job
        self._bus.publish(change)
        self._commits += 1
        if self._commits % self._settings.compact_every == 0:
            self._spawn(self._compact())

    async def _compact(self) -> None:
        dropped = await self._store.compact(self._settings.event_retention)
        if dropped:
            log.info("event log compacted", dropped=dropped)

    async def _carry_out(self, job: Job, effects: Iterable[Effect]) -> None:
        for effect in effects:
            match effect:
                case LaunchTask(alias, attempt):
                    await self._launch(job, alias, attempt)
                case TerminateTask(alias, attempt, domains, reason):
                    task_id = job.spec.task(alias).task_id
                    self._cancel_timer(job.job_id, alias, attempt)
                    for domain in domains:
                        key = PartyKey(job.job_id, task_id, domain, attempt)
                        self._spawn(self.executor.terminate(key, reason))
                case ArmTimeout(alias, attempt, seconds):
                    self._arm_timer(job.job_id, alias, attempt, seconds)

    async def _launch(self, job: Job, alias: str, attempt: int) -> None:
        spec = job.spec.task(alias)
        cluster = tuple(ClusterParty(p.domain_id, p.role) for p in spec.parties)
        for party in spec.parties:
            key = PartyKey(job.job_id, spec.task_id, party.domain_id, attempt)
            launch = PartyLaunch(
                key=key,
                app_image=spec.app_image,
                role=party.role,
                task_alias=alias,
                task_input_config=spec.task_input_config,
                parties=cluster,
                resources=party.resources,
                custom_fields=job.spec.custom_fields,
                job_kind=job.spec.kind,
            )
            try:
                await self.executor.launch(launch)
            except Exception as error:  # any launch failure fails the party, not the server
                log.warning(
                    "launch failed",
                    job_id=job.job_id,
                    task_id=spec.task_id,
                    domain_id=party.domain_id,
                    error=str(error),
                )
                self.report(PartyExited(key, 127, f"could not start: {error}"))

    def _arm_timer(self, job_id: str, alias: str, attempt: int, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        command = reducer.TaskTimedOut(alias, attempt)
        self._timers[(job_id, alias, attempt)] = loop.call_later(
            max(seconds, 0.0), self._timer_fired, job_id, alias, attempt, command
        )

    def _timer_fired(self, job_id: str, alias: str, attempt: int, command: Command) -> None:
        self._timers.pop((job_id, alias, attempt), None)
        self._post(job_id, command)

    def _cancel_timer(self, job_id: str, alias: str, attempt: int) -> None:
        handle = self._timers.pop((job_id, alias, attempt), None)
        if handle is not None:
            handle.cancel()

    def _rearm_timeouts(self, job: Job) -> None:
        now = self._clock()
        for task in job.tasks:
            timeout = job.spec.task(task.alias).timeout_seconds
            if task.state is TaskState.RUNNING and timeout > 0 and task.start_time:
                left = timeout - (now - task.start_time).total_seconds()
                self._arm_timer(job.job_id, task.alias, task.attempt, left)

    # --- plumbing --------------------------------------------------------------------

    def _lock(self, job_id: str) -> asyncio.Lock:
        lock = self._job_locks.get(job_id)
        if lock is None:
            lock = asyncio.Lock()
            self._job_locks[job_id] = lock
        return lock

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background work failed", error=repr(task.exception()))


def _as_command(job: Job, item: Command | ExecutorReport) -> Command | None:
    """Executor reports name the task by id; the engine names it by alias."""
    if not isinstance(item, PartyStarted | PartyProgress | PartyExited):
        return item
    key = item.key
    alias = next((t.alias for t in job.spec.tasks if t.task_id == key.task_id), None)
    if alias is None:
        return None
    match item:
        case PartyStarted():
            return reducer.ProcessStarted(alias, key.attempt, key.domain_id)
        case PartyProgress(progress=progress):
            return reducer.ProgressReported(alias, key.attempt, key.domain_id, progress)
        case PartyExited(message=message, lost=True):
            return reducer.ProcessLost(alias, key.attempt, key.domain_id, message)
        case PartyExited(exit_code=code, message=message, cached_from=cached_from):
            return reducer.ProcessExited(
                alias, key.attempt, key.domain_id, code, message, cached_from
            )
