"""JobRuntime: the application service behind JobService.

Per command: load the job, call the pure reducer, store the result together with its
event (optimistic version check), publish the event, then carry out the effects.
One lock per job makes the runtime the single writer of each job; the group committer
writes the changes of all jobs in shared transactions and announces them in
resource_version order. Executor reports are queued per job and applied in batches, so
a burst of reports costs one write, not one each.

With several replicas on PostgreSQL (`replication` given; see
dagwire.server.runtime.replicas) each runtime runs the jobs it owns: those it created
or took over from a replica that died. Only the owner launches and terminates a job's
processes, arms its timers and writes its executor reports; `_active` holds the jobs it
owns and runs, as the snapshot whose effects it carried out. A command may still reach
any replica: it is applied to the stored job (optimistic version check, retried on
conflict), and the owner catches up with the new snapshot when the bus brings it
(`foreign`) or when a conflict makes it read the store, carrying out the difference
(dagwire.server.runtime.reconcile). Queries read the store, since the owner's memory may
lag behind another replica's commit.
"""

from __future__ import annotations

import asyncio
import math
import weakref
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog

from dagwire.server.bus.base import EventBus
from dagwire.server.engine import moments, reducer
from dagwire.server.engine.errors import ConcurrentModification, InvalidRequest, JobNotFound
from dagwire.server.engine.model import (
    ChangeType,
    Job,
    JobChange,
    JobSpec,
    JobState,
    PartyState,
    TaskState,
)
from dagwire.server.engine.names import directory_name_problem
from dagwire.server.engine.quoting import quoted, shortened
from dagwire.server.engine.reducer import (
    ArmTimeout,
    Command,
    Effect,
    LaunchTask,
    Outcome,
    TerminateTask,
)
from dagwire.server.engine.usage import UsageRecord
from dagwire.server.engine.validation import Limits, validate_job_spec
from dagwire.server.executors.base import (
    ClusterParty,
    Executor,
    ExecutorReport,
    Fence,
    PartyExited,
    PartyKey,
    PartyLaunch,
    PartyLoop,
    PartyProgress,
    PartyQueued,
    PartyStarted,
    ReportSink,
)
from dagwire.server.runtime.committer import GroupCommitter
from dagwire.server.runtime.reconcile import effects_between
from dagwire.server.store.base import InsertJob, JobStore, RemoveJob, Rider, UpdateJob
from dagwire.server.store.usage import ForgetUsage, RecordUsage

if TYPE_CHECKING:
    from dagwire.server.runtime.replicas import Replication

log = structlog.get_logger(__name__)

# The exit code of a party that never started, as a shell reports a missing command.
_NOT_STARTED = 127
# How often a replica retries a write that another replica's write to the same job beat.
_CONFLICT_RETRIES = 8

Clock = Callable[[], datetime]
# (job_id, task_id, domain_id) -> the party's endpoints for the task.
Endpoints = Callable[[str, str, str], tuple[str, ...]]
# Checked against the stored job under its lock, before anything is done to it: the API
# passes its authorization here, so that no check-then-act gap separates the two.
Guard = Callable[[Job], None]
# The rows an applied successful exit of a party brings along into the save of the exit
# (a pipeline step's artifacts and cache entry): given the job as saved, the task's
# alias, the report and the time.
ExitRiders = Callable[[Job, str, PartyExited, datetime], Sequence[Rider]]


def no_riders(job: Job, alias: str, exited: PartyExited, now: datetime) -> Sequence[Rider]:
    return ()


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
        replication: Replication | None = None,
        exit_riders: ExitRiders = no_riders,
    ) -> None:
        self._store = store
        self._exit_riders = exit_riders
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
        self._timers: dict[tuple[str, str, int, reducer.Deadline], asyncio.TimerHandle] = {}
        self._commits = 0
        self._closed = False
        self._replication = replication
        # Replicas only: owned jobs that failed (a restart would make them run again) with
        # the resource version they failed at, and the changes of other replicas held
        # back while jobs are being adopted.
        self._dormant: dict[str, int] = {}
        self._adopting = 0
        self._held_back: list[JobChange] = []

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Pick up where the last process left off: ask the executor about every party
        that was running and re-arm timeouts. Nothing needs launching here: a job is
        stored only after its ready tasks were launched, and a task stored as running
        whose process never started comes back from the executor as lost and relaunches."""
        self._committer.start()
        if self._replication is not None:
            await self._replication.start(self)
            await self._adopt(None)
            return
        for job in await self._store.list_jobs(active_only=True):
            await self._take_up(job)

    async def _take_up(self, job: Job, settled_at: float = 0.0) -> None:
        """Run a stored job from where it is: recover its running parties (exit records,
        still-running processes, or lost ones that relaunch) and re-arm timeouts. On a
        replica, a party found nowhere is lost only after `settled_at`, when whatever
        the job's previous owner may still run is dead."""
        self._active[job.job_id] = job
        launches = _running_launches(job, self._fence(settled_at), self.party_endpoints)
        recoverable = [
            launch
            for launch in launches
            if self.runs_here(launch.key.domain_id) and not self._refused(launch, "recovered")
        ]
        if recoverable:
            try:
                await self.executor.recover(recoverable)
            except Exception as error:  # one job's records must never keep the server down
                log.error("recovery failed", job_id=job.job_id, error=shortened(str(error)))
                for launch in recoverable:
                    self.report(
                        PartyExited(
                            launch.key,
                            _NOT_STARTED,
                            f"could not be recovered: {shortened(str(error), 500)}",
                        )
                    )
        for launch in recoverable:  # re-attached to a stopped step's process: stop it again
            task = job.task(launch.task_alias)
            if task.state is TaskState.STOPPED:
                self._spawn(self.executor.terminate(launch.key, task.err_msg or "stopped"))
        self._rearm_timeouts(job)

    def _refused(self, launch: PartyLaunch, verb: str) -> bool:
        """Fail a party whose ids cannot name its directory (stored by an older version
        that did not check them) instead of handing it to the executor; True if so."""
        key = launch.key
        named = (("job_id", key.job_id), ("task_id", key.task_id), ("domain_id", key.domain_id))
        problems = [
            f"its {name} {quoted(value)} {problem}"
            for name, value in named
            if (problem := directory_name_problem(value)) is not None
        ]
        if not problems:
            return False
        message = f"cannot be {verb}: {problems[0]}"
        log.warning("party refused", job_id=shortened(key.job_id), reason=message)
        self.report(PartyExited(key, _NOT_STARTED, message))
        return True

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
        if self._replication is not None:
            await self._replication.close()

    # --- queries ---------------------------------------------------------------------

    async def get(self, job_id: str, guard: Guard = allow_all) -> Job:
        if self._replication is not None:
            job = await self._store.get_job(job_id)
        else:
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

    async def create(
        self,
        spec: JobSpec,
        riders: Sequence[Rider] = (),
        approval_domains: frozenset[str] | None = None,
    ) -> Job:
        """Validate and store a new job, its riders' rows in the same transaction (a
        refusing rider's error is raised and nothing is stored), then start it. The job
        awaits the approval of the parties in `approval_domains` (default: the
        configured ones)."""
        validate_job_spec(spec, self._settings.limits)
        for index, task in enumerate(spec.tasks):
            if not self.executor.knows_image(task.app_image):
                raise InvalidRequest(
                    f"tasks[{index}] ({task.alias!r}).app_image {task.app_image!r} is not in the "
                    "app-image registry"
                )
        awaited = self._settings.approval_domains if approval_domains is None else approval_domains
        outcome = reducer.create_job(spec, self._clock(), awaited)
        async with self._lock(spec.job_id):
            change = await self._committer.write(InsertJob(outcome.job, tuple(riders)))
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

    async def act_on_task(
        self,
        job_id: str,
        command: reducer.RetryTask | reducer.StopTask | reducer.ContinueTask,
        guard: Guard = allow_all,
    ) -> Job:
        """A user's action on one task of a job: retry, stop or continue it."""
        return await self._command(job_id, command, guard)

    async def delete(self, job_id: str, guard: Guard = allow_all) -> None:
        """Stop what runs and remove the job; watchers get DELETED."""
        async with self._lock(job_id):
            job = await self._current(job_id, guard)
            owned = self._owns(job_id)
            await self._committer.write(RemoveJob(job_id, (ForgetUsage(job_id),)))
            await self._carry_out(job, reducer.termination_effects(job, "job deleted"), owned)
        log.info("job deleted", job_id=job_id)

    async def _command(self, job_id: str, command: Command, guard: Guard) -> Job:
        async with self._lock(job_id):
            for attempt in range(_CONFLICT_RETRIES):
                job = await self._current(job_id, guard)
                outcome = moments.apply(job, command, self._clock())
                try:
                    return await self._save(job, outcome)
                except ConcurrentModification:
                    # Another replica wrote the job since we read it: read it again.
                    if self._replication is None or attempt == _CONFLICT_RETRIES - 1:
                        raise
            raise AssertionError("unreachable")

    async def _current(self, job_id: str, guard: Guard) -> Job:
        """The job a command acts on, under its lock. On a replica: as stored, after the
        owner (if this is it) caught up with it."""
        if self._replication is None:
            return await self.get(job_id, guard)
        job = await self._store.get_job(job_id)
        await self._catch_up(job_id, job)
        if job is None:
            raise JobNotFound(job_id)
        guard(job)
        return job

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
            if self._replication is not None:
                await self._drain_owned(job_id, items)
                return
            job = await self._load(job_id)
            if job is None or not items:
                return
            await self._save_reports(job, items)

    async def _drain_owned(self, job_id: str, items: list[Command | ExecutorReport]) -> None:
        """A replica writes reports only for the jobs it owns and runs; for others they
        are stale (the job settled, or its new owner recovers the processes itself)."""
        for _ in range(_CONFLICT_RETRIES):
            if not items:
                return
            if not await self._may_act(job_id):
                await self._record_exits(job_id, items)
                return
            job = self._active[job_id]
            try:
                await self._save_reports(job, items)
                return
            except ConcurrentModification:
                # A command on another replica changed the job: catch up, apply again.
                await self._catch_up(job_id, await self._store.get_job(job_id))
        log.error("reports dropped after repeated conflicts", job_id=job_id)

    async def _record_exits(self, job_id: str, items: list[Command | ExecutorReport]) -> None:
        """A finished run is no replica's to run, yet the processes its stop told to
        terminate ran here and report their exit here: record them (moments.py), so its
        steps end stopping. Nothing else of a finished job changes on a report."""
        exits = [item for item in items if isinstance(item, PartyExited)]
        if not exits:
            return
        job = await self._store.get_job(job_id)
        if job is None or not job.state.is_terminal or not _exiting(job):
            return
        now = self._clock()
        try:
            await self._save(job, _apply_all(job, exits, now), _usage_riders(exits, now))
        except ConcurrentModification:  # a user acted on it (a retry) meanwhile: moot
            log.info("exit of a stopped step not recorded", job_id=job_id)

    # --- persistence and effects -----------------------------------------------------

    async def _save_reports(self, before: Job, items: list[Command | ExecutorReport]) -> Job:
        """Apply queued commands and reports and save the result, with the rows the exits
        it applied bring along (only those: a stale report's go nowhere)."""
        now = self._clock()
        outcome = _apply_all(before, items, now)
        riders = [
            rider
            for item in items
            if isinstance(item, PartyExited)
            and (alias := _exit_applied(before, outcome.job, item)) is not None
            for rider in self._exit_riders(outcome.job, alias, item, now)
        ]
        exits = [item for item in items if isinstance(item, PartyExited)]
        return await self._save(before, outcome, [*riders, *_usage_riders(exits, now)])

    async def _save(self, before: Job, outcome: Outcome, riders: Sequence[Rider] = ()) -> Job:
        if outcome.job is before:
            return before
        owned = self._owns(before.job_id)
        change = await self._committer.write(UpdateJob(outcome.job, before.version, tuple(riders)))
        await self._carry_out(change.job, outcome.effects, owned)
        return change.job

    def _published(self, change: JobChange) -> None:
        job = change.job
        if self._replication is None:
            if change.type is ChangeType.DELETED or job.state.is_terminal:
                self._active.pop(job.job_id, None)
            else:
                self._active[job.job_id] = job
        elif change.type is ChangeType.ADDED or self._owns(job.job_id):
            self._hold(job.job_id, None if change.type is ChangeType.DELETED else job)
        self._bus.publish(change)
        self._commits += 1
        if self._commits % self._settings.compact_every == 0:
            self._spawn(self._compact())

    async def _compact(self) -> None:
        dropped = await self._store.compact(self._settings.event_retention)
        if dropped:
            log.info("event log compacted", dropped=dropped)

    async def _carry_out(self, job: Job, effects: Iterable[Effect], owned: bool = True) -> None:
        """Carry out effects; on a replica only for jobs it owns, and launches only while
        its lease holds (else the job may be another replica's by now)."""
        if not owned:
            return
        replica = self._replication is not None
        for effect in effects:
            match effect:
                case LaunchTask(alias, attempt):
                    if replica and not await self._may_act(job.job_id):
                        continue
                    await self._launch(job, alias, attempt)
                case TerminateTask(alias, attempt, domains, reason):
                    task_id = job.spec.task(alias).task_id
                    self._cancel_timer(job.job_id, alias, attempt)
                    for domain in domains:
                        key = PartyKey(job.job_id, task_id, domain, attempt)
                        self._spawn(self.executor.terminate(key, reason))
                case ArmTimeout(alias, attempt, seconds, deadline):
                    if replica and job.job_id not in self._active:
                        continue
                    self._arm_timer(job.job_id, alias, attempt, seconds, deadline)

    async def _launch(self, job: Job, alias: str, attempt: int) -> None:
        launches = _party_launches(job, alias, attempt, self._fence(), self.party_endpoints)
        here = [launch for launch in launches if self.runs_here(launch.key.domain_id)]
        for launch in here:
            if self._refused(launch, "started"):
                continue
            launch = replace(launch, gang_size=len(here))
            try:
                await self.executor.launch(launch)
            except Exception as error:  # any launch failure fails the party, not the server
                log.warning(
                    "launch failed",
                    job_id=job.job_id,
                    task_id=launch.key.task_id,
                    domain_id=launch.key.domain_id,
                    error=str(error),
                )
                self.report(PartyExited(launch.key, _NOT_STARTED, f"could not start: {error}"))

    def _arm_timer(
        self, job_id: str, alias: str, attempt: int, seconds: float, deadline: reducer.Deadline
    ) -> None:
        loop = asyncio.get_running_loop()
        key = (job_id, alias, attempt, deadline)
        command = reducer.TaskTimedOut(alias, attempt, deadline)
        self._timers[key] = loop.call_later(max(seconds, 0.0), self._timer_fired, key, command)

    def _timer_fired(self, key: tuple[str, str, int, reducer.Deadline], command: Command) -> None:
        self._timers.pop(key, None)
        self._post(key[0], command)

    def _cancel_timer(self, job_id: str, alias: str, attempt: int) -> None:
        for deadline in reducer.Deadline:
            handle = self._timers.pop((job_id, alias, attempt, deadline), None)
            if handle is not None:
                handle.cancel()

    def _rearm_timeouts(self, job: Job) -> None:
        now = self._clock()
        for task in job.tasks:
            if task.state is not TaskState.RUNNING or not task.start_time:
                continue
            spent = (now - task.start_time).total_seconds()
            for deadline, seconds in reducer.deadlines(job.spec.task(task.alias)).items():
                self._arm_timer(job.job_id, task.alias, task.attempt, seconds - spent, deadline)

    # --- replicas --------------------------------------------------------------------

    def _fence(self, settled_at: float = 0.0) -> Fence | None:
        """The lease launches run under: this replica's, in its current epoch."""
        if self._replication is None:
            return None
        return Fence(self._replication.replica_id, self._replication.epoch, settled_at)

    def _owns(self, job_id: str) -> bool:
        """Whether this runtime runs the job: always without replicas; on a replica when
        it owns the job (running, or failed and restartable)."""
        return self._replication is None or job_id in self._active or job_id in self._dormant

    def _hold(self, job_id: str, job: Job | None) -> None:
        """Keep the newest snapshot of an owned job (None: deleted)."""
        if job is not None and not job.state.is_terminal:
            self._active[job_id] = job
            self._dormant.pop(job_id, None)
            return
        self._active.pop(job_id, None)
        if job is not None and job.state is JobState.FAILED:
            self._dormant[job_id] = job.resource_version
        else:
            self._dormant.pop(job_id, None)

    async def _may_act(self, job_id: str) -> bool:
        """Whether this replica may act for the job now: it runs the job and its lease
        holds (waiting while the lease is in doubt)."""
        assert self._replication is not None
        if not self._replication.lease_valid():
            await self._replication.wait_valid()
        return job_id in self._active

    def _locked(self, job_id: str) -> bool:
        lock = self._job_locks.get(job_id)
        return lock is not None and lock.locked()

    def interested(self, job_id: str) -> bool:
        """Replication callback: changes to this job matter here (we own it, or we are
        writing it: a job being created is owned once its commit is handed over)."""
        return bool(self._adopting) or self._owns(job_id) or self._locked(job_id)

    def foreign(self, change: JobChange) -> None:
        """Replication callback: another replica changed a job; its owner catches up."""
        if self._closed:
            return  # whoever takes our jobs over reads them from the store
        if self._adopting:
            self._held_back.append(change)
            return
        job_id = change.job.job_id
        if self._owns(job_id) or self._locked(job_id):
            self._spawn(self._follow(change))

    async def _follow(self, change: JobChange) -> None:
        job_id = change.job.job_id
        latest = None if change.type is ChangeType.DELETED else change.job
        async with self._lock(job_id):
            await self._catch_up(job_id, latest, change.resource_version)

    async def _catch_up(self, job_id: str, latest: Job | None, position: float = 0) -> None:
        """Bring an owned job's processes in line with `latest` (None: deleted), written
        by another replica, unless it is not newer than what we hold. `position` is the
        resource version of that news (default: latest's own; a deletion read from the
        store is newer than anything held)."""
        held = self._active.get(job_id)
        since = held.resource_version if held is not None else self._dormant.get(job_id)
        if since is None:
            return
        if not position:
            position = latest.resource_version if latest is not None else math.inf
        if position <= since:
            return
        effects = effects_between(held, latest, self._clock())
        self._hold(job_id, latest)
        reference = latest if latest is not None else held
        if effects and reference is not None:
            log.info("caught up with another replica's change", job_id=job_id)
            await self._carry_out(reference, effects)

    async def adopt(self, job_ids: Sequence[str], settled_at: float) -> None:
        """Replication callback: these jobs were taken over from a replica that died;
        its processes are dead by `settled_at`."""
        await self._adopt(job_ids, settled_at)

    async def _adopt(self, job_ids: Sequence[str] | None, settled_at: float = 0.0) -> None:
        """Run the jobs this replica owns now (None: all it owns, at start) from where
        they are, as a restarted server does. Changes of other replicas wait meanwhile:
        those committed before the read are in it, the others are caught up with after."""
        assert self._replication is not None
        self._adopting += 1
        try:
            for job in await self._replication.owned_jobs(job_ids):
                if job.job_id in self._active:
                    continue
                if job.state.is_terminal:
                    self._hold(job.job_id, job)
                else:
                    await self._take_up(job, settled_at)
        finally:
            self._adopting -= 1
            if not self._adopting:
                held_back, self._held_back = self._held_back, []
                for change in held_back:
                    self.foreign(change)

    async def disown(self, keep: set[str]) -> None:
        """Replication callback: our lease expired; terminate the processes we still run
        for the jobs others took over (their new owners run them again once our fence
        deadline has passed, or re-attach to them where they share our data dir, which
        the executor leaves alone), then forget those jobs; their reports are dropped."""
        lost = [job_id for job_id in (*self._active, *self._dormant) if job_id not in keep]
        running = [
            launch.key
            for job_id in lost
            if (job := self._active.get(job_id)) is not None
            for launch in _running_launches(job, None, self.party_endpoints)
        ]
        reason = "its replica lost the job to another replica"
        await asyncio.gather(
            *(self.executor.terminate(key, reason) for key in running), return_exceptions=True
        )
        for job_id in lost:
            self._active.pop(job_id, None)
            self._dormant.pop(job_id, None)
        for key in [key for key in self._timers if key[0] in lost]:
            self._timers.pop(key).cancel()
        if lost:
            log.warning(
                "jobs taken over by other replicas", count=len(lost), terminated=len(running)
            )

    # --- federation hooks ------------------------------------------------------------

    def runs_here(self, domain_id: str) -> bool:
        """Whether this server runs the parties of the domain: a single server runs
        every domain's; a federated node only its own (dagwire.server.federation)."""
        return True

    def party_endpoints(self, job_id: str, task_id: str, domain_id: str) -> tuple[str, ...]:
        """The host:port endpoints a party's process of a task listens on, as the
        cluster definition lists them; none on a single server."""
        return ()

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


def _apply_all(job: Job, items: Iterable[Command | ExecutorReport], now: datetime) -> Outcome:
    """Apply queued commands and reports in order; the effects of all of them."""
    current = job
    effects: list[Effect] = []
    for item in items:
        command = _as_command(current, item)
        if command is not None:
            outcome = moments.apply(current, command, now)
            if isinstance(command, reducer.ProcessLost):
                _log_lost(current, outcome.job, command)
            current = outcome.job
            effects.extend(outcome.effects)
    return Outcome(current, tuple(effects))


def _usage_riders(exits: Sequence[PartyExited], now: datetime) -> list[Rider]:
    """What each exit's process cost, riding with the save of the exits whatever they
    were (a failure's figures count too); keyed by attempt, so a stale exit's figures
    are still that attempt's own."""
    return [
        RecordUsage(
            UsageRecord(e.key.job_id, e.key.task_id, e.key.domain_id, e.key.attempt, e.usage), now
        )
        for e in exits
        if e.usage is not None
    ]


def _exit_applied(before: Job, after: Job, exited: PartyExited) -> str | None:
    """The alias of the task that succeeded with this exit (its party and the task at
    the exit's attempt are SUCCEEDED now, and were not before); None for a report that
    made nothing succeed (stale: an older attempt, a task stopped meanwhile)."""
    if exited.exit_code != 0 or exited.lost:
        return None
    key = exited.key
    alias = next((t.alias for t in after.spec.tasks if t.task_id == key.task_id), None)
    if alias is None:
        return None

    def succeeded(job: Job) -> bool:
        task = job.task(alias)
        party = task.party(key.domain_id)
        return (
            task.attempt == key.attempt
            and task.state is TaskState.SUCCEEDED
            and party is not None
            and party.state is PartyState.SUCCEEDED
        )

    return alias if succeeded(after) and not succeeded(before) else None


def _exiting(job: Job) -> bool:
    return any(party.exiting for task in job.tasks for party in task.parties)


def _log_lost(before: Job, after: Job, lost: reducer.ProcessLost) -> None:
    """A lost party is worth a line: the task relaunched, or failed for good."""
    if after is before:
        return  # a stale report, ignored
    task = after.task(lost.alias)
    log.warning(
        "party lost",
        job_id=after.job_id,
        task=lost.alias,
        domain=lost.domain_id,
        attempt=lost.attempt,
        reason=task.err_msg or after.err_msg,
    )


def _running_launches(job: Job, fence: Fence | None, endpoints: Endpoints) -> list[PartyLaunch]:
    """The launches of the job's parties that run (or were about to), and of a stopped
    step's processes whose exit was not recorded yet: their exit record (or their loss)
    ends the step's stopping."""
    return [
        launch
        for task in job.tasks
        if task.state in (TaskState.RUNNING, TaskState.STOPPED)
        for launch in _party_launches(job, task.alias, task.attempt, fence, endpoints)
        if (party := task.party(launch.key.domain_id)) is not None
        and (party.state in (PartyState.PENDING, PartyState.RUNNING) or party.exiting)
    ]


def _party_launches(
    job: Job, alias: str, attempt: int, fence: Fence | None, endpoints: Endpoints
) -> list[PartyLaunch]:
    """What each party's process of this attempt of the task needs (to start, or to be
    recovered after a restart), under the owner's lease on a replica."""
    spec = job.spec.task(alias)
    cluster = tuple(
        ClusterParty(p.domain_id, p.role, endpoints(job.job_id, spec.task_id, p.domain_id))
        for p in spec.parties
    )
    return [
        PartyLaunch(
            key=PartyKey(job.job_id, spec.task_id, party.domain_id, attempt),
            app_image=spec.app_image,
            role=party.role,
            task_alias=alias,
            task_input_config=spec.task_input_config,
            parties=cluster,
            resources=party.resources,
            custom_fields=job.spec.custom_fields,
            job_kind=job.spec.kind,
            parameters=job.task(alias).parameters,
            fence=fence,
            priority=spec.priority,
            queued=_waited(job, alias, party.domain_id),
            loop_item=spec.loop_item,
        )
        for party in spec.parties
    ]


def _waited(job: Job, alias: str, domain: str) -> bool:
    """Whether the party was last seen waiting for its queue (engine ProcessQueued): it
    has not started and carries the queue's reason."""
    party = job.task(alias).party(domain)
    return party is not None and party.state is PartyState.PENDING and bool(party.err_msg)


def _as_command(job: Job, item: Command | ExecutorReport) -> Command | None:
    """Executor reports name the task by id; the engine names it by alias."""
    if not isinstance(item, PartyStarted | PartyQueued | PartyProgress | PartyExited | PartyLoop):
        return item
    key = item.key
    alias = next((t.alias for t in job.spec.tasks if t.task_id == key.task_id), None)
    if alias is None:
        return None
    match item:
        case PartyStarted():
            return reducer.ProcessStarted(alias, key.attempt, key.domain_id)
        case PartyQueued(reason=reason):
            return reducer.ProcessQueued(alias, key.attempt, key.domain_id, reason)
        case PartyProgress(progress=progress):
            return reducer.ProgressReported(alias, key.attempt, key.domain_id, progress)
        case PartyLoop(items=items):
            return reducer.LoopExpanded(alias, key.attempt, items)
        case PartyExited(message=message, lost=True):
            return reducer.ProcessLost(alias, key.attempt, key.domain_id, message)
        case PartyExited(exit_code=code, message=message):
            return reducer.ProcessExited(
                alias, key.attempt, key.domain_id, code, message, item.cached_from, item.metrics
            )
