"""Effects from two snapshots of a job, for changes the owner did not make itself.

With several replicas, a command that reaches a replica which does not own the job
(stop, restart, cancel, delete, approve...) is applied to the stored job there; the
owner learns of it as a new snapshot through the bus, not as reducer effects. What it
must then do follows from comparing the snapshot whose effects it carried out with the
new one: a task attempt running before and not now is terminated; one running now and
not before is launched (its timeout armed). Only the owner launches, so an attempt it
has not seen running was never launched anywhere.
"""

from __future__ import annotations

import math
from datetime import datetime

from dagwire.server.engine.model import Job, PartyState, TaskRun, TaskState
from dagwire.server.engine.reducer import (
    ArmTimeout,
    Effect,
    LaunchTask,
    TerminateTask,
    deadlines,
)

_ALIVE = (PartyState.PENDING, PartyState.RUNNING)


def effects_between(before: Job | None, after: Job | None, now: datetime) -> tuple[Effect, ...]:
    """What turns the processes of `before` into those of `after` (None: no job, or
    nothing of it running)."""
    old = _running(before)
    new = _running(after)
    effects: list[Effect] = []
    for alias, task in old.items():
        successor = new.get(alias)
        if successor is not None and successor.attempt == task.attempt:
            continue
        alive = tuple(p.domain_id for p in task.parties if p.state in _ALIVE)
        if alive:
            effects.append(TerminateTask(alias, task.attempt, alive, _reason(after, alias)))
    for alias, task in new.items():
        predecessor = old.get(alias)
        if predecessor is not None and predecessor.attempt == task.attempt:
            continue
        assert after is not None
        effects.append(LaunchTask(alias, task.attempt))
        spent = (now - task.start_time).total_seconds() if task.start_time else 0.0
        for deadline, seconds in deadlines(after.spec.task(alias)).items():
            left = max(math.ceil(seconds - spent), 0)
            effects.append(ArmTimeout(alias, task.attempt, left, deadline))
    return tuple(effects)


def _running(job: Job | None) -> dict[str, TaskRun]:
    if job is None:
        return {}
    return {task.alias: task for task in job.tasks if task.state is TaskState.RUNNING}


def _reason(after: Job | None, alias: str) -> str:
    if after is None:
        return "job deleted"
    task = after.task(alias)
    return task.err_msg or after.err_msg or f"task {alias} no longer runs"
