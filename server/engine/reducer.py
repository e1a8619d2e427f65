"""The job reducer: (job, command, now) -> (new job, effects). Pure; no I/O, no clock.

Commands are what users ask for (stop, suspend, ...) and what executors report
(a process started, progressed, exited). Effects are what the runtime must then do
(launch a task's processes, terminate them, arm a timeout). The runtime persists
the new job first and carries out the effects after, so a crash in between is
recovered from the stored state rather than from half-done work.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from dagwire.server.engine.conditions import ConditionError, evaluate
from dagwire.server.engine.errors import IllegalTaskAction, InvalidApproval, TaskNotFound
from dagwire.server.engine.model import (
    ApprovalState,
    ExecutionPolicy,
    FailureStrategy,
    Job,
    JobKind,
    JobSpec,
    JobState,
    PartyRun,
    PartyState,
    SkipCause,
    Stage,
    TaskEvent,
    TaskRun,
    TaskSpec,
    TaskState,
)
from dagwire.server.engine.planner import assess_job, blocking, failed_intolerably, ready_tasks
from dagwire.server.engine.task_transitions import TaskMove, move
from dagwire.server.engine.transitions import JobEvent, next_state

# --- commands -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stop:
    """Stop the job. With keep_post, a post task that has not run yet still runs (the
    job settles after it); otherwise the job fails at once."""

    reason: str = ""
    keep_post: bool = False


@dataclass(frozen=True, slots=True)
class Suspend:
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Restart:
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Cancel:
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Approve:
    """A party's decision; domain_id None decides for every undecided party."""

    domain_id: str | None
    accept: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ProcessStarted:
    alias: str
    attempt: int
    domain_id: str


@dataclass(frozen=True, slots=True)
class ProgressReported:
    alias: str
    attempt: int
    domain_id: str
    progress: float


@dataclass(frozen=True, slots=True)
class ProcessExited:
    alias: str
    attempt: int
    domain_id: str
    exit_code: int
    message: str = ""
    cached_from: str = ""  # set when the party reused recorded outputs instead of running
    metrics: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProcessLost:
    """A party's process is gone without an exit record (it vanished while the server
    was down, or was never started before a crash)."""

    alias: str
    attempt: int
    domain_id: str
    message: str


class Deadline(enum.Enum):
    """What a task attempt must have done by a time, or fail."""

    START = "start"  # every party's process has started (the task got scheduled)
    RUN = "run"  # the attempt has finished


@dataclass(frozen=True, slots=True)
class TaskTimedOut:
    alias: str
    attempt: int
    deadline: Deadline = Deadline.RUN


@dataclass(frozen=True, slots=True)
class RetryTask:
    """Run a failed, stopped or held task again (new attempt), with parameter overrides."""

    alias: str
    parameters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StopTask:
    """Stop one running task; its execution policy says what the job does next."""

    alias: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ContinueTask:
    """Release a held task: a confirmation step runs (with the overrides), a held
    failure is waived so that its dependents run."""

    alias: str
    parameters: Mapping[str, str] = field(default_factory=dict)


# How often a task is relaunched after losing a process before it fails for good.
MAX_RELAUNCHES = 2


Command = (
    Stop
    | Suspend
    | Restart
    | Cancel
    | Approve
    | ProcessStarted
    | ProgressReported
    | ProcessExited
    | ProcessLost
    | TaskTimedOut
    | RetryTask
    | StopTask
    | ContinueTask
)

# --- effects --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LaunchTask:
    """Start one process per party of this attempt of the task."""

    alias: str
    attempt: int


@dataclass(frozen=True, slots=True)
class TerminateTask:
    """Kill these parties' processes of this attempt of the task."""

    alias: str
    attempt: int
    domains: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class ArmTimeout:
    """Report TaskTimedOut(deadline) for this attempt after `seconds`; the reducer decides
    then whether the attempt missed it."""

    alias: str
    attempt: int
    seconds: int
    deadline: Deadline = Deadline.RUN


def deadlines(spec: TaskSpec) -> dict[Deadline, int]:
    """The deadlines (seconds after launch) a task's attempts have."""
    limits = {Deadline.START: spec.start_timeout_seconds, Deadline.RUN: spec.timeout_seconds}
    return {deadline: seconds for deadline, seconds in limits.items() if seconds > 0}


Effect = LaunchTask | TerminateTask | ArmTimeout


@dataclass(frozen=True, slots=True)
class Outcome:
    job: Job
    effects: tuple[Effect, ...] = ()


# --- entry points ---------------------------------------------------------------------


MAX_TASK_EVENTS = 100


def create_job(spec: JobSpec, now: datetime, approval_domains: frozenset[str]) -> Outcome:
    """A new job: admitted and scheduled, or parked until its parties approve it."""
    outcome = _create_job(spec, now, approval_domains)
    if spec.kind is JobKind.RUN:
        return Outcome(_record_events(None, outcome.job, now), outcome.effects)
    return outcome


def _create_job(spec: JobSpec, now: datetime, approval_domains: frozenset[str]) -> Outcome:
    tasks = tuple(
        TaskRun(
            alias=task.alias,
            state=TaskState.SKIPPED if task.disabled else TaskState.PENDING,
            parties=tuple(PartyRun(party.domain_id) for party in task.parties),
            create_time=now,
            err_msg="disabled" if task.disabled else "",
            skip_cause=SkipCause.DISABLED if task.disabled else None,
        )
        for task in spec.tasks
    )
    approvals = {
        domain: ApprovalState.AWAITING for domain in spec.domains if domain in approval_domains
    }
    job = Job(
        spec=spec, state=JobState.INITIALIZED, tasks=tasks, create_time=now, approvals=approvals
    )
    if approvals:
        return Outcome(_transition(job, JobEvent.AWAIT_APPROVAL))
    return _schedule(_transition(job, JobEvent.ADMIT), now)


def apply(job: Job, command: Command, now: datetime) -> Outcome:
    """Apply one command. User commands raise IllegalTransition / InvalidApproval /
    IllegalTaskAction when the state forbids them; stale executor reports are ignored.
    A run's tasks record every status change in their event history."""
    outcome = _apply(job, command, now)
    if job.spec.kind is JobKind.RUN and outcome.job is not job:
        return Outcome(_record_events(job, outcome.job, now), outcome.effects)
    return outcome


def _record_events(before: Job | None, after: Job, now: datetime) -> Job:
    old = {task.alias: task for task in before.tasks} if before else {}
    tasks = []
    changed = False
    for task in after.tasks:
        previous = old.get(task.alias)
        if previous is None or (previous.state, previous.attempt) != (task.state, task.attempt):
            event = TaskEvent(now, task.state, _event_message(task))
            task = replace(task, events=(*task.events, event)[-MAX_TASK_EVENTS:])
            changed = True
        tasks.append(task)
    return replace(after, tasks=tuple(tasks)) if changed else after


def _event_message(task: TaskRun) -> str:
    if task.state is TaskState.RUNNING:
        return task.err_msg or f"attempt {task.attempt} started"
    if task.state is TaskState.SUCCEEDED and task.cached_from:
        return f"reused the outputs of {task.cached_from}"
    return task.err_msg


def _apply(job: Job, command: Command, now: datetime) -> Outcome:
    match command:
        case Stop(reason, keep_post):
            reason = reason or "stopped by user"
            if keep_post and _post_pending(job):
                return _stop_before_post(job, reason, now)
            return _halt(job, JobEvent.STOP, Stage.STOP, reason, now)
        case Suspend(reason):
            return _halt(job, JobEvent.SUSPEND, Stage.SUSPEND, reason or "suspended by user", now)
        case Cancel(reason):
            return _halt(job, JobEvent.CANCEL, Stage.CANCEL, reason or "cancelled by user", now)
        case Restart():
            return _restart(job, now)
        case Approve():
            return _approve(job, command, now)
        case (
            ProcessStarted() | ProgressReported() | ProcessExited() | ProcessLost() | TaskTimedOut()
        ):
            return _on_report(job, command, now)
        case RetryTask() | StopTask() | ContinueTask():
            return _act(job, command, now)


def termination_effects(job: Job, reason: str) -> tuple[Effect, ...]:
    """What must be killed when a job goes away without another state change (delete)."""
    return tuple(
        TerminateTask(task.alias, task.attempt, alive, reason)
        for task in job.tasks
        if task.state is TaskState.RUNNING and (alive := _alive_parties(task))
    )


# --- user operations ------------------------------------------------------------------


def _transition(job: Job, event: JobEvent) -> Job:
    return replace(job, state=next_state(job.job_id, job.state, event))


def _halt(job: Job, event: JobEvent, stage: Stage, reason: str, now: datetime) -> Outcome:
    """Stop, suspend or cancel: terminate what runs; pending tasks stay pending so that
    a restart picks them up. A transition to the job's own state changes nothing."""
    halted = _transition(job, event)
    if halted.state is job.state:
        return Outcome(job)
    tasks, effects = _stop_running_tasks(_settle_holds(halted.tasks, reason, now), reason, now)
    end_time = now if halted.state.is_terminal else None
    return Outcome(
        replace(halted, tasks=tasks, stage=stage, err_msg=reason, end_time=end_time), effects
    )


def _post_pending(job: Job) -> bool:
    """The job is under way and has a post task that has not started yet."""
    return job.state in (JobState.PENDING, JobState.RUNNING) and any(
        spec.post and job.task(spec.alias).state is TaskState.PENDING for spec in job.spec.tasks
    )


def _stop_before_post(job: Job, reason: str, now: datetime) -> Outcome:
    """Stop everything but the post task, which then runs; the job fails after it."""
    next_state(job.job_id, job.state, JobEvent.STOP)  # the same refusals as a plain stop
    return _schedule(replace(job, stage=Stage.STOP, err_msg=reason), now)


def _restart(job: Job, now: datetime) -> Outcome:
    restarted = _transition(job, JobEvent.RESTART)
    tasks = tuple(
        task
        if task.state is TaskState.SUCCEEDED or job.spec.task(task.alias).disabled
        else _reset_task(task, now)
        for task in job.tasks
    )
    restarted = replace(restarted, tasks=tasks, stage=Stage.RESTART, err_msg="", end_time=None)
    if any(state is not ApprovalState.ACCEPTED for state in restarted.approvals.values()):
        return Outcome(_transition(restarted, JobEvent.AWAIT_APPROVAL))
    return _schedule(restarted, now)


def _reset_task(task: TaskRun, now: datetime) -> TaskRun:
    """Back to pending. What a user gave it (overrides, a confirmation) and its history
    stay; what its last attempt produced goes."""
    return move(
        task,
        TaskMove.RESET,
        now,
        parties=tuple(PartyRun(party.domain_id) for party in task.parties),
        err_msg="",
        progress=0.0,
        cached_from="",
        skip_cause=None,
        waived=False,
        metrics={},
        condition_result=None,
        condition_values=(),
    )


def _approve(job: Job, command: Approve, now: datetime) -> Outcome:
    event = JobEvent.APPROVE if command.accept else JobEvent.REJECT
    if job.state is not JobState.AWAITING_APPROVAL:
        next_state(job.job_id, job.state, event)  # raises with the precise reason
    undecided = [d for d, s in job.approvals.items() if s is ApprovalState.AWAITING]
    if command.domain_id is None:
        deciding = undecided
    elif command.domain_id in undecided:
        deciding = [command.domain_id]
    else:
        raise InvalidApproval(
            f"domain {command.domain_id!r} has no pending approval on job {job.job_id!r}; "
            f"awaiting: {', '.join(undecided) or 'nobody'}"
        )
    decision = ApprovalState.ACCEPTED if command.accept else ApprovalState.REJECTED
    approvals = {**job.approvals, **dict.fromkeys(deciding, decision)}
    decided = replace(job, approvals=approvals)
    if not command.accept:
        reason = f"rejected by {', '.join(deciding)}" + (
            f": {command.reason}" if command.reason else ""
        )
        rejected = _transition(decided, JobEvent.REJECT)
        return Outcome(replace(rejected, err_msg=reason, end_time=now))
    if all(state is ApprovalState.ACCEPTED for state in approvals.values()):
        return _schedule(_transition(decided, JobEvent.APPROVE), now)
    return Outcome(decided)


# --- step actions ---------------------------------------------------------------------

_RETRYABLE = frozenset({TaskState.FAILED, TaskState.STOPPED, TaskState.HOLD})


def _act(job: Job, command: RetryTask | StopTask | ContinueTask, now: datetime) -> Outcome:
    try:
        task = job.task(command.alias)
    except KeyError:
        raise TaskNotFound(job.job_id, command.alias) from None
    spec = job.spec.task(command.alias)

    def refuse(action: str, hint: str) -> IllegalTaskAction:
        return IllegalTaskAction(job.job_id, task, action, hint)

    match command:
        case StopTask(reason=reason):
            if job.state is not JobState.RUNNING or task.state is not TaskState.RUNNING:
                raise refuse("stop", "only a running step can be stopped")
            (stopped,), effects = _stop_running_tasks([task], reason or "stopped by user", now)
            if spec.execution_policy is ExecutionPolicy.CONTINUE:
                stopped = replace(stopped, waived=True)
            elif spec.execution_policy is ExecutionPolicy.RETRY:
                stopped = move(stopped, TaskMove.HOLD, now)
            outcome = _schedule(_with_task(job, stopped), now)
            return Outcome(outcome.job, effects + outcome.effects)
        case RetryTask(parameters=parameters):
            if task.state not in _RETRYABLE or (task.state is TaskState.HOLD and task.attempt == 0):
                raise refuse(
                    "retry", "only a failed, stopped, timed-out or held failed step can be retried"
                )
            finished = job.state is JobState.FAILED
            if not finished and job.state is not JobState.RUNNING:
                raise refuse("retry", f"its run is {job.state.value}")
            retried = replace(_reset_task(task, now), parameters={**task.parameters, **parameters})
            job = _with_task(job, retried)
            if finished:
                job = replace(
                    _transition(job, JobEvent.RESTART),
                    stage=Stage.RESTART,
                    err_msg="",
                    end_time=None,
                )
            job = replace(job, tasks=tuple(_reopen(t, finished, now) for t in job.tasks))
            return _schedule(job, now)
        case ContinueTask(parameters=parameters):
            if task.state is not TaskState.HOLD or job.state is not JobState.RUNNING:
                raise refuse("continue", "only a held step of a running run can continue")
            if task.attempt == 0:  # a confirmation step: it runs now
                released = move(
                    task,
                    TaskMove.RELEASE,
                    now,
                    err_msg="",
                    released=True,
                    parameters={**task.parameters, **parameters},
                )
            else:  # a held failure: let the run go on past it
                released = move(task, TaskMove.FAIL, now, waived=True)
            return _schedule(_with_task(job, released), now)


def _reopen(task: TaskRun, finished: bool, now: datetime) -> TaskRun:
    """After a retry, tasks that were only skipped because of the failure get another
    chance (the planner skips them again if they are still blocked); in a finished job,
    so do the tasks its failure stopped."""
    if task.state is TaskState.SKIPPED and task.skip_cause in (SkipCause.UPSTREAM, SkipCause.HALT):
        return _reset_task(task, now)
    if finished and task.state is TaskState.STOPPED and not task.waived:
        return _reset_task(task, now)
    return task


# --- executor reports -----------------------------------------------------------------

Report = ProcessStarted | ProgressReported | ProcessExited | ProcessLost | TaskTimedOut


def _on_report(job: Job, report: Report, now: datetime) -> Outcome:
    try:
        task = job.task(report.alias)
    except KeyError:
        return Outcome(job)
    if task.state is not TaskState.RUNNING or task.attempt != report.attempt:
        return Outcome(job)  # a late report about an attempt that is already settled
    match report:
        case ProcessStarted(domain_id=domain):
            updated = _set_party(task, domain, PartyState.PENDING, PartyState.RUNNING, "")
            return Outcome(_with_task(job, updated))
        case ProgressReported(progress=progress):
            clamped = min(max(progress, 0.0), 1.0)
            if clamped <= task.progress:
                return Outcome(job)
            return Outcome(_with_task(job, replace(task, progress=clamped)))
        case ProcessExited(domain_id=domain, exit_code=code, message=message):
            if code == 0 and (report.cached_from or report.metrics):
                # Recorded before the exit is applied: a condition task scheduled by it
                # reads these metrics.
                task = replace(task, cached_from=report.cached_from, metrics=report.metrics)
                job = _with_task(job, task)
            return _on_exit(job, task, domain, code, message, now)
        case ProcessLost(domain_id=domain, message=message):
            return _on_lost(job, task, domain, message, now)
        case TaskTimedOut(deadline=Deadline.START):
            waiting = [p.domain_id for p in task.parties if p.state is PartyState.PENDING]
            if not waiting:
                return Outcome(job)  # scheduled in time
            seconds = job.spec.task(task.alias).start_timeout_seconds
            reason = (
                f"not scheduled within {seconds} s (schedule_config.task_timeout_seconds): "
                f"the process of {', '.join(waiting)} had not started"
            )
            return _fail_task(job, task, reason, now)
        case TaskTimedOut():
            spec = job.spec.task(task.alias)
            reason = f"timed out after {spec.timeout_seconds} s"
            return _fail_task(job, task, reason, now)


def _on_exit(
    job: Job, task: TaskRun, domain: str, code: int, message: str, now: datetime
) -> Outcome:
    party = task.party(domain)
    if party is None or party.state not in (PartyState.PENDING, PartyState.RUNNING):
        return Outcome(job)
    if code != 0:
        failed = _set_party(task, domain, party.state, PartyState.FAILED, message)
        reason = f"party {domain} failed: {message or f'exit code {code}'}"
        return _fail_task(job, failed, reason, now)
    updated = _set_party(task, domain, party.state, PartyState.SUCCEEDED, "")
    if all(p.state is PartyState.SUCCEEDED for p in updated.parties):
        updated = move(updated, TaskMove.SUCCEED, now, progress=1.0)
    return _schedule(_with_task(job, updated), now)


def _on_lost(job: Job, task: TaskRun, domain: str, message: str, now: datetime) -> Outcome:
    """Relaunch the whole task (its parties work together) while the budget lasts. The
    task's err_msg says so until another outcome replaces it (it stays on a success):
    a relaunch leaves a trace in QueryJob, GetRun and the step's events."""
    reason = f"party {domain} {message}"
    if task.relaunches >= MAX_RELAUNCHES:
        return _fail_task(job, task, f"{reason} (relaunched {task.relaunches} times)", now)
    alive = tuple(
        p.domain_id for p in task.parties if p.domain_id != domain and not _party_done(p.state)
    )
    found = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    requeued = replace(
        _reset_task(task, now),
        relaunches=task.relaunches + 1,
        err_msg=f"{reason}, found at {found}; relaunched as attempt {task.attempt + 1}",
    )
    effects: tuple[Effect, ...] = (
        (TerminateTask(task.alias, task.attempt, alive, reason),) if alive else ()
    )
    outcome = _schedule(_with_task(job, requeued), now)
    return Outcome(outcome.job, effects + outcome.effects)


def _fail_task(job: Job, task: TaskRun, reason: str, now: datetime) -> Outcome:
    """Fail a running task and terminate the parties of it still running."""
    alive = _alive_parties(task)
    parties = tuple(
        replace(p, state=PartyState.STOPPED, err_msg=reason) if p.domain_id in alive else p
        for p in task.parties
    )
    spec = job.spec.task(task.alias)
    failed = move(task, _failure_move(spec.execution_policy), now, parties=parties, err_msg=reason)
    effects: tuple[Effect, ...] = (
        (TerminateTask(task.alias, task.attempt, alive, reason),) if alive else ()
    )
    outcome = _schedule(_with_task(job, failed), now)
    return Outcome(outcome.job, effects + outcome.effects)


# --- scheduling -----------------------------------------------------------------------


def _schedule(job: Job, now: datetime) -> Outcome:
    """Move a pending or running job forward: start it, apply its failure strategy,
    settle it once every task has, else launch the ready tasks."""
    if job.state is JobState.PENDING:
        job = replace(_transition(job, JobEvent.START), start_time=job.start_time or now)
    if job.state is not JobState.RUNNING:
        return Outcome(job)
    job, stops = _settle_blocked(job, now)
    verdict = assess_job(job)
    if verdict is JobState.FAILED:
        reason = job.err_msg if job.stage is Stage.STOP else _failure_reason(job)
        ended = replace(_transition(job, JobEvent.FAIL), err_msg=reason, end_time=now)
        return Outcome(ended, stops)
    if verdict is JobState.SUCCEEDED:
        return Outcome(replace(_transition(job, JobEvent.SUCCEED), end_time=now), stops)
    effects: list[Effect] = list(stops)
    decided = False  # a hold or condition settled without launching: look again after
    for alias in ready_tasks(job):
        spec = job.spec.task(alias)
        task = job.task(alias)
        if spec.hold and not task.released:
            job = _with_task(job, move(task, TaskMove.HOLD, now, err_msg="awaiting confirmation"))
            decided = True
            continue
        if spec.branching is not None:
            job = _decide(job, alias, now)
            decided = True
            continue
        launched = move(
            _reset_task(task, now),
            TaskMove.LAUNCH,
            now,
            attempt=task.attempt + 1,
            # A pending task's err_msg says why it is launched again (a lost party).
            err_msg=task.err_msg if task.state is TaskState.PENDING else "",
        )
        job = _with_task(job, launched)
        effects.append(LaunchTask(alias, launched.attempt))
        for deadline, seconds in deadlines(spec).items():
            effects.append(ArmTimeout(alias, launched.attempt, seconds, deadline))
    if decided:
        again = _schedule(job, now)
        return Outcome(again.job, (*effects, *again.effects))
    return Outcome(job, tuple(effects))


def _decide(job: Job, alias: str, now: datetime) -> Job:
    """Evaluate a condition task and skip the branch it does not take."""
    spec = job.spec.task(alias)
    assert spec.branching is not None
    # A condition runs no process: it launches and settles in the same instant.
    task = move(job.task(alias), TaskMove.LAUNCH, now, attempt=job.task(alias).attempt + 1)
    metrics = {f"{t.alias}.{name}": value for t in job.tasks for name, value in t.metrics.items()}
    try:
        result, values = evaluate(spec.branching.conditions, metrics)
    except ConditionError as error:
        how = _failure_move(spec.execution_policy)
        return _with_task(job, move(task, how, now, err_msg=f"condition: {error}"))
    decided = move(
        task,
        TaskMove.SUCCEED,
        now,
        progress=1.0,
        condition_result=result,
        condition_values=values,
        err_msg=f"condition is {'true' if result else 'false'}",
    )
    job = _with_task(job, decided)
    not_taken = spec.branching.else_then if result else spec.branching.if_then
    reason = f"condition {alias} is {'true' if result else 'false'}"
    for other in not_taken:
        job = _with_task(job, _skip(job.task(other), reason, now, SkipCause.CONDITION))
    return job


def _settle_blocked(job: Job, now: datetime) -> tuple[Job, tuple[Effect, ...]]:
    """Settle the tasks that can no longer run. Fail fast (or a stopped job): once a task
    failed intolerably, stop what runs and skip what waits, post tasks aside. Always:
    skip the pending tasks whose dependencies will never let them run."""
    states = {task.state for task in job.tasks}
    if job.stage is not Stage.STOP and states.isdisjoint(_BLOCKING_STATES):
        return job, ()  # nothing failed, stopped or was skipped: nothing is blocked
    specs = {task.alias: task for task in job.spec.tasks}
    effects: tuple[Effect, ...] = ()
    failed = next((run for run in job.tasks if failed_intolerably(specs[run.alias], run)), None)
    halting = job.stage is Stage.STOP or (
        failed is not None and job.spec.failure_strategy is FailureStrategy.FAIL_FAST
    )
    tasks = job.tasks
    if halting:
        reason = job.err_msg if job.stage is Stage.STOP else _failure_reason(job)
        main = [t for t in tasks if not specs[t.alias].post]
        stopped, effects = _stop_running_tasks(main, reason, now)
        settled = {t.alias: t for t in stopped}
        tasks = tuple(
            _skip(settled[t.alias], reason, now, SkipCause.HALT) if t.alias in settled else t
            for t in tasks
        )
    runs = {t.alias: t for t in tasks}
    changed = True
    while changed:  # a skip can block the next task down the chain
        changed = False
        for spec in job.spec.tasks:
            run = runs[spec.alias]
            if run.state is not TaskState.PENDING or spec.post:
                continue
            blocker = next(
                (dep for dep in spec.dependencies if blocking(specs[dep], runs[dep])), None
            )
            if blocker is not None:
                state = runs[blocker].state.value
                runs[spec.alias] = _skip(
                    run, f"upstream task {blocker} {state}", now, SkipCause.UPSTREAM
                )
                changed = True
    if all(runs[t.alias] is t for t in job.tasks):
        return job, effects
    return replace(job, tasks=tuple(runs[t.alias] for t in job.tasks)), effects


# The states a task must be in to block its dependents or fail its job.
_BLOCKING_STATES = frozenset({TaskState.FAILED, TaskState.STOPPED, TaskState.SKIPPED})


def _skip(task: TaskRun, reason: str, now: datetime, cause: SkipCause) -> TaskRun:
    if task.state is not TaskState.PENDING:
        return task
    return move(task, TaskMove.SKIP, now, err_msg=reason, skip_cause=cause)


def _failure_reason(job: Job) -> str:
    """Why a settled job failed: its first intolerable failure, else its first stop.
    A run's steps are named by step name, a Kuscia job's tasks by task id."""
    specs = {task.alias: task for task in job.spec.tasks}
    name = {
        alias: alias if job.spec.kind is JobKind.RUN else spec.task_id
        for alias, spec in specs.items()
    }
    for run in job.tasks:
        if run.state is TaskState.FAILED and failed_intolerably(specs[run.alias], run):
            return f"task {name[run.alias]} failed: {run.err_msg}"
    for run in job.tasks:
        if run.state is TaskState.STOPPED:
            return f"task {name[run.alias]} stopped: {run.err_msg}"
    return job.err_msg or "failed"


def _stop_running_tasks(
    tasks: Iterable[TaskRun], reason: str, now: datetime
) -> tuple[tuple[TaskRun, ...], tuple[Effect, ...]]:
    stopped: list[TaskRun] = []
    effects: list[Effect] = []
    for task in tasks:
        if task.state is not TaskState.RUNNING:
            stopped.append(task)
            continue
        alive = _alive_parties(task)
        parties = tuple(
            replace(p, state=PartyState.STOPPED) if p.domain_id in alive else p
            for p in task.parties
        )
        stopped.append(move(task, TaskMove.STOP, now, parties=parties, err_msg=reason))
        if alive:
            effects.append(TerminateTask(task.alias, task.attempt, alive, reason))
    return tuple(stopped), tuple(effects)


def _settle_holds(tasks: Iterable[TaskRun], reason: str, now: datetime) -> tuple[TaskRun, ...]:
    """A job that stops settles its held tasks: a held failure stays failed, a step that
    never ran is skipped."""
    settled = []
    for task in tasks:
        if task.state is TaskState.HOLD:
            if task.attempt > 0:
                task = move(task, TaskMove.FAIL, now)
            else:
                task = move(task, TaskMove.SKIP, now, err_msg=reason, skip_cause=SkipCause.HALT)
        settled.append(task)
    return tuple(settled)


def _alive_parties(task: TaskRun) -> tuple[str, ...]:
    return tuple(p.domain_id for p in task.parties if not _party_done(p.state))


# --- helpers --------------------------------------------------------------------------


def _failure_move(policy: ExecutionPolicy) -> TaskMove:
    """A failure fails the task, or holds it for a user when its policy says so."""
    return TaskMove.FAIL if policy is ExecutionPolicy.STOP else TaskMove.HOLD


def _party_done(state: PartyState) -> bool:
    return state in (PartyState.SUCCEEDED, PartyState.FAILED, PartyState.STOPPED)


def _set_party(
    task: TaskRun, domain: str, expected: PartyState, state: PartyState, err_msg: str
) -> TaskRun:
    parties = tuple(
        replace(p, state=state, err_msg=err_msg)
        if p.domain_id == domain and p.state is expected
        else p
        for p in task.parties
    )
    return replace(task, parties=parties)


def _with_task(job: Job, task: TaskRun) -> Job:
    tasks = list(job.tasks)
    tasks[job.spec.index(task.alias)] = task
    return replace(job, tasks=tuple(tasks))


__all__ = [
    "Approve",
    "ArmTimeout",
    "Cancel",
    "Command",
    "ContinueTask",
    "Deadline",
    "Effect",
    "LaunchTask",
    "Outcome",
    "ProcessExited",
    "ProcessLost",
    "ProcessStarted",
    "ProgressReported",
    "Restart",
    "RetryTask",
    "Stop",
    "StopTask",
    "Suspend",
    "TaskTimedOut",
    "TerminateTask",
    "apply",
    "create_job",
    "deadlines",
    "termination_effects",
]
