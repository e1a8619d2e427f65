"""What a user does to a whole job: stop, suspend, cancel, restart it, approve or reject
it for a party; and what must be killed when it is deleted."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from dagwire.server.engine.commands import (
    Approve,
    Cancel,
    Effect,
    Outcome,
    Restart,
    Stop,
    Suspend,
    TerminateTask,
    UserOp,
)
from dagwire.server.engine.errors import InvalidApproval
from dagwire.server.engine.job_edits import (
    alive_parties,
    reset_task,
    stop_running_tasks,
    transition,
)
from dagwire.server.engine.model import (
    ApprovalState,
    Job,
    JobState,
    SkipCause,
    Stage,
    TaskRun,
    TaskState,
)
from dagwire.server.engine.scheduling import schedule
from dagwire.server.engine.task_transitions import TaskMove, move
from dagwire.server.engine.transitions import JobEvent, next_state


def on_user_op(job: Job, command: UserOp, now: datetime) -> Outcome:
    """Raises IllegalTransition / InvalidApproval when the job's state forbids it."""
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


def termination_effects(job: Job, reason: str) -> tuple[Effect, ...]:
    """What must be killed when a job goes away without another state change (delete)."""
    return tuple(
        TerminateTask(task.alias, task.attempt, alive, reason)
        for task in job.tasks
        if task.state is TaskState.RUNNING and (alive := alive_parties(task))
    )


def _halt(job: Job, event: JobEvent, stage: Stage, reason: str, now: datetime) -> Outcome:
    """Stop, suspend or cancel: terminate what runs. A suspended job's pending tasks stay
    pending, for its resume; a job that ends skips them, so that no task of a finished
    job is left waiting for ever (a restart resets them like every unfinished task).
    A transition to the job's own state changes nothing."""
    halted = transition(job, event)
    if halted.state is job.state:
        return Outcome(job)
    tasks = _settle_holds(halted.tasks, reason, now)
    if halted.state.is_terminal:
        tasks = _skip_pending(tasks, reason, now)
    tasks, effects = stop_running_tasks(tasks, reason, now)
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
    return schedule(replace(job, stage=Stage.STOP, err_msg=reason), now)


def _restart(job: Job, now: datetime) -> Outcome:
    restarted = transition(job, JobEvent.RESTART)
    tasks = tuple(
        task
        if task.state is TaskState.SUCCEEDED or job.spec.task(task.alias).disabled
        else reset_task(task, now)
        for task in job.tasks
    )
    restarted = replace(restarted, tasks=tasks, stage=Stage.RESTART, err_msg="", end_time=None)
    if any(state is not ApprovalState.ACCEPTED for state in restarted.approvals.values()):
        return Outcome(transition(restarted, JobEvent.AWAIT_APPROVAL))
    return schedule(restarted, now)


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
        rejected = transition(decided, JobEvent.REJECT)
        return Outcome(replace(rejected, err_msg=reason, end_time=now))
    if all(state is ApprovalState.ACCEPTED for state in approvals.values()):
        return schedule(transition(decided, JobEvent.APPROVE), now)
    return Outcome(decided)


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


def _skip_pending(tasks: Iterable[TaskRun], reason: str, now: datetime) -> tuple[TaskRun, ...]:
    """The tasks of a job that ends: those that never started will not."""
    return tuple(
        move(task, TaskMove.SKIP, now, err_msg=reason, skip_cause=SkipCause.HALT)
        if task.state is TaskState.PENDING
        else task
        for task in tasks
    )
