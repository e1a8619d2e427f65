"""The moments of a run's steps that the engine's task machine has no state for, recorded
next to the reducer's work: when every process of an attempt has started (ModelArts'
creating -> created -> running), and when the processes of a stopped step have exited
(stopping -> stopped). The task machine settles a stop at once, as Kuscia's does; the
processes take their time (a grace period, then SIGKILL), and a step's status says so."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from dagwire.server.engine import reducer
from dagwire.server.engine.job_edits import with_task
from dagwire.server.engine.model import (
    Job,
    JobKind,
    PartyState,
    TaskEvent,
    TaskMoment,
    TaskRun,
    TaskState,
)


def apply(job: Job, command: reducer.Command, now: datetime) -> reducer.Outcome:
    """reducer.apply, with the moments of a run's steps recorded."""
    outcome = reducer.apply(job, command, now)
    if job.spec.kind is not JobKind.RUN:
        return outcome
    after = _mark_exiting(outcome.job, outcome.effects)
    match command:
        case reducer.ProcessStarted(alias=alias, attempt=attempt) if after is not job:
            after = _started(after, alias, attempt, now)
        case reducer.ProcessExited(alias=alias, attempt=attempt, domain_id=domain, message=why):
            after = _exited(after, alias, attempt, domain, why, now)
        case reducer.ProcessLost(alias=alias, attempt=attempt, domain_id=domain, message=why):
            after = _exited(after, alias, attempt, domain, why, now)
    return outcome if after is outcome.job else reducer.Outcome(after, outcome.effects)


def _mark_exiting(job: Job, effects: tuple[reducer.Effect, ...]) -> Job:
    """The parties a stop told to terminate are exiting until their exit is recorded."""
    for effect in effects:
        if not isinstance(effect, reducer.TerminateTask):
            continue
        task = job.task(effect.alias)
        if task.state is not TaskState.STOPPED or task.attempt != effect.attempt:
            continue  # a failure or a relaunch: no stop under way
        parties = tuple(
            replace(p, exiting=True) if p.domain_id in effect.domains else p for p in task.parties
        )
        job = with_task(job, replace(task, parties=parties))
    return job


def _started(job: Job, alias: str, attempt: int, now: datetime) -> Job:
    task = job.task(alias)
    if task.state is not TaskState.RUNNING or task.attempt != attempt:
        return job
    if any(party.state is PartyState.PENDING for party in task.parties):
        return job  # another party's process is still being created
    event = TaskEvent(now, TaskState.RUNNING, f"attempt {attempt} started", TaskMoment.STARTED)
    return with_task(job, _appended(task, event))


def _exited(job: Job, alias: str, attempt: int, domain: str, why: str, now: datetime) -> Job:
    try:
        task = job.task(alias)
    except KeyError:
        return job
    party = task.party(domain)
    if task.attempt != attempt or party is None or not party.exiting:
        return job
    parties = tuple(replace(p, exiting=False) if p is party else p for p in task.parties)
    task = replace(task, parties=parties)
    if not any(p.exiting for p in parties):
        task = _appended(task, TaskEvent(now, task.state, why, TaskMoment.EXITED))
    return with_task(job, task)


def _appended(task: TaskRun, event: TaskEvent) -> TaskRun:
    return replace(task, events=(*task.events, event)[-reducer.MAX_TASK_EVENTS :])
