"""Small edits of a job value that every part of the reducer makes: move the job along
its table, replace one task, reset or stop tasks. States change only through the two
movers (transitions.next_state for jobs, task_transitions.move for tasks)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from dagwire.server.engine.commands import Effect, TerminateTask
from dagwire.server.engine.model import (
    ExecutionPolicy,
    Job,
    PartyRun,
    PartyState,
    TaskRun,
    TaskState,
)
from dagwire.server.engine.task_transitions import TaskMove, move
from dagwire.server.engine.transitions import JobEvent, next_state


def transition(job: Job, event: JobEvent) -> Job:
    return replace(job, state=next_state(job.job_id, job.state, event))


def with_task(job: Job, task: TaskRun) -> Job:
    tasks = list(job.tasks)
    tasks[job.spec.index(task.alias)] = task
    return replace(job, tasks=tuple(tasks))


def reset_task(task: TaskRun, now: datetime) -> TaskRun:
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


def stop_running_tasks(
    tasks: Iterable[TaskRun], reason: str, now: datetime
) -> tuple[tuple[TaskRun, ...], tuple[Effect, ...]]:
    stopped: list[TaskRun] = []
    effects: list[Effect] = []
    for task in tasks:
        if task.state is not TaskState.RUNNING:
            stopped.append(task)
            continue
        alive = alive_parties(task)
        parties = tuple(
            replace(p, state=PartyState.STOPPED) if p.domain_id in alive else p
            for p in task.parties
        )
        stopped.append(move(task, TaskMove.STOP, now, parties=parties, err_msg=reason))
        if alive:
            effects.append(TerminateTask(task.alias, task.attempt, alive, reason))
    return tuple(stopped), tuple(effects)


def alive_parties(task: TaskRun) -> tuple[str, ...]:
    return tuple(p.domain_id for p in task.parties if not party_done(p.state))


def party_done(state: PartyState) -> bool:
    return state in (PartyState.SUCCEEDED, PartyState.FAILED, PartyState.STOPPED)


def failure_move(policy: ExecutionPolicy) -> TaskMove:
    """A failure fails the task, or holds it for a user when its policy says so."""
    return TaskMove.FAIL if policy is ExecutionPolicy.STOP else TaskMove.HOLD
