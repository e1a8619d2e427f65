"""The job reducer: (job, command, now) -> (new job, effects). Pure; no I/O, no clock.

Commands are what users ask for (stop, suspend, ...) and what executors report
(a process started, progressed, exited). Effects are what the runtime must then do
(launch a task's processes, terminate them, arm a timeout). The runtime persists
the new job first and carries out the effects after, so a crash in between is
recovered from the stored state rather than from half-done work.

This module holds the two entry points; the work is split along its seams:
commands.py (commands, effects, Outcome), lifecycle.py (what a user does to a job),
step_actions.py (what a user does to one task), reports.py (what executors report),
scheduling.py (moving a job forward) and job_edits.py (the edits they share).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from dagwire.server.engine.commands import (
    Approve,
    ArmTimeout,
    Cancel,
    Command,
    ContinueTask,
    Deadline,
    Effect,
    LaunchTask,
    LoopExpanded,
    Outcome,
    PeerWaiting,
    ProcessExited,
    ProcessLost,
    ProcessQueued,
    ProcessStarted,
    ProgressReported,
    Restart,
    RetryTask,
    Stop,
    StopTask,
    Suspend,
    TaskTimedOut,
    TerminateTask,
    deadlines,
)
from dagwire.server.engine.job_edits import transition
from dagwire.server.engine.lifecycle import on_user_op, termination_effects
from dagwire.server.engine.loops import expand as expand_loop
from dagwire.server.engine.model import (
    ApprovalState,
    Job,
    JobKind,
    JobSpec,
    JobState,
    PartyRun,
    SkipCause,
    TaskEvent,
    TaskRun,
    TaskState,
)
from dagwire.server.engine.peers import on_peer_waiting
from dagwire.server.engine.reports import MAX_RELAUNCHES, on_report
from dagwire.server.engine.scheduling import schedule
from dagwire.server.engine.step_actions import act
from dagwire.server.engine.transitions import JobEvent

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
        return Outcome(transition(job, JobEvent.AWAIT_APPROVAL))
    return schedule(transition(job, JobEvent.ADMIT), now)


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
        case Stop() | Suspend() | Cancel() | Restart() | Approve():
            return on_user_op(job, command, now)
        case (
            ProcessStarted()
            | ProcessQueued()
            | ProgressReported()
            | ProcessExited()
            | ProcessLost()
            | TaskTimedOut()
        ):
            return on_report(job, command, now)
        case RetryTask() | StopTask() | ContinueTask():
            return act(job, command, now)
        case PeerWaiting():
            return on_peer_waiting(job, command)
        case LoopExpanded():
            return expand_loop(job, command, now)


__all__ = [
    "MAX_RELAUNCHES",
    "Approve",
    "ArmTimeout",
    "Cancel",
    "Command",
    "ContinueTask",
    "Deadline",
    "Effect",
    "LaunchTask",
    "LoopExpanded",
    "Outcome",
    "PeerWaiting",
    "ProcessExited",
    "ProcessLost",
    "ProcessQueued",
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
