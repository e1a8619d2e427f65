"""Executor reports: a party's process started, progressed, exited or was lost, or a task
attempt missed a deadline. A late report about an attempt already settled is ignored."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from dagwire.server.engine.commands import (
    Deadline,
    Effect,
    Outcome,
    ProcessExited,
    ProcessLost,
    ProcessQueued,
    ProcessStarted,
    ProgressReported,
    Report,
    TaskTimedOut,
    TerminateTask,
)
from dagwire.server.engine.job_edits import (
    alive_parties,
    failure_move,
    party_done,
    reset_task,
    with_task,
)
from dagwire.server.engine.model import Job, PartyState, TaskRun, TaskState
from dagwire.server.engine.scheduling import schedule
from dagwire.server.engine.task_transitions import TaskMove, move

# How often a task is relaunched after losing a process before it fails for good.
MAX_RELAUNCHES = 2


def on_report(job: Job, report: Report, now: datetime) -> Outcome:
    try:
        task = job.task(report.alias)
    except KeyError:
        return Outcome(job)
    if task.state is not TaskState.RUNNING or task.attempt != report.attempt:
        return Outcome(job)  # a late report about an attempt that is already settled
    match report:
        case ProcessStarted(domain_id=domain):
            updated = _set_party(task, domain, PartyState.PENDING, PartyState.RUNNING, "")
            party = task.party(domain)
            if party is not None and party.err_msg and party.err_msg == task.err_msg:
                # The task's message was this party's wait for its queue: it is over.
                updated = replace(updated, err_msg="")
            return Outcome(with_task(job, updated))
        case ProcessQueued(domain_id=domain, reason=reason):
            party = task.party(domain)
            if party is None or party.state is not PartyState.PENDING or party.err_msg == reason:
                return Outcome(job)
            updated = _set_party(task, domain, PartyState.PENDING, PartyState.PENDING, reason)
            return Outcome(with_task(job, replace(updated, err_msg=reason)))
        case ProgressReported(progress=progress):
            clamped = min(max(progress, 0.0), 1.0)
            if clamped <= task.progress:
                return Outcome(job)
            return Outcome(with_task(job, replace(task, progress=clamped)))
        case ProcessExited(domain_id=domain, exit_code=code, message=message):
            if code == 0 and (report.cached_from or report.metrics):
                # Recorded before the exit is applied: a condition task scheduled by it
                # reads these metrics.
                task = replace(task, cached_from=report.cached_from, metrics=report.metrics)
                job = with_task(job, task)
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
    return schedule(with_task(job, updated), now)


def _on_lost(job: Job, task: TaskRun, domain: str, message: str, now: datetime) -> Outcome:
    """Relaunch the whole task (its parties work together) while the budget lasts. The
    task's err_msg says so until another outcome replaces it (it stays on a success):
    a relaunch leaves a trace in QueryJob, GetRun and the step's events."""
    reason = f"party {domain} {message}"
    if task.relaunches >= MAX_RELAUNCHES:
        return _fail_task(job, task, f"{reason} (relaunched {task.relaunches} times)", now)
    alive = tuple(
        p.domain_id for p in task.parties if p.domain_id != domain and not party_done(p.state)
    )
    found = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    requeued = replace(
        reset_task(task, now),
        relaunches=task.relaunches + 1,
        err_msg=f"{reason}, found at {found}; relaunched as attempt {task.attempt + 1}",
    )
    effects: tuple[Effect, ...] = (
        (TerminateTask(task.alias, task.attempt, alive, reason),) if alive else ()
    )
    outcome = schedule(with_task(job, requeued), now)
    return Outcome(outcome.job, effects + outcome.effects)


def _fail_task(job: Job, task: TaskRun, reason: str, now: datetime) -> Outcome:
    """Fail a running task and terminate the parties of it still running."""
    alive = alive_parties(task)
    parties = tuple(
        replace(p, state=PartyState.STOPPED, err_msg=reason) if p.domain_id in alive else p
        for p in task.parties
    )
    spec = job.spec.task(task.alias)
    failed = move(task, failure_move(spec.execution_policy), now, parties=parties, err_msg=reason)
    effects: tuple[Effect, ...] = (
        (TerminateTask(task.alias, task.attempt, alive, reason),) if alive else ()
    )
    outcome = schedule(with_task(job, failed), now)
    return Outcome(outcome.job, effects + outcome.effects)


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
