"""Loops whose items are known only at run time (PaddleFlow's loop_argument over a
parameter or an upstream artifact): when such a task is launched, its executor reads the
list and reports it (LoopExpanded); the task then becomes one copy per item, as
PaddleFlow creates a step's runtimes once its upstream has finished.

The copies are `alias`, `alias-1`, ... (PaddleFlow's runtime names), each with its item
(TaskSpec.loop_item), the same dependencies and the task's place in the spec; whatever
depended on the task waits for every copy. The task itself goes back to pending and
runs as the first copy. Pure: a job in, a job out.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from dagwire.server.engine.commands import LoopExpanded, Outcome
from dagwire.server.engine.job_edits import reset_task
from dagwire.server.engine.model import Job, PartyRun, TaskRun, TaskSpec, TaskState
from dagwire.server.engine.scheduling import schedule


def copy_names(alias: str, count: int) -> tuple[str, ...]:
    """The aliases of a loop's copies: `alias`, `alias-1`, ... (PaddleFlow's names)."""
    return tuple(alias if index == 0 else f"{alias}-{index}" for index in range(count))


def expand(job: Job, command: LoopExpanded, now: datetime) -> Outcome:
    """The job with the loop task split into its copies and scheduled; the job as it was
    for a stale report (another attempt, a task no longer running, already expanded) or
    items that cannot be laid out (none; a copy's name taken by another task)."""
    try:
        spec = job.spec.task(command.alias)
    except KeyError:
        return Outcome(job)
    task = job.task(command.alias)
    if (
        task.state is not TaskState.RUNNING
        or task.attempt != command.attempt
        or spec.loop_item is not None
        or not command.items
    ):
        return Outcome(job)
    names = copy_names(command.alias, len(command.items))
    if set(names[1:]) & set(job.spec.positions):
        return Outcome(job)  # the spec check keeps such names free; never clobber a task
    copies = [
        replace(
            spec,
            alias=name,
            task_id=spec.task_id if index == 0 else f"{spec.task_id}-{index}",
            loop_item=item,
        )
        for index, (name, item) in enumerate(zip(names, command.items, strict=True))
    ]
    specs: list[TaskSpec] = []
    runs: list[TaskRun] = []
    for other, run in zip(job.spec.tasks, job.tasks, strict=True):
        if other.alias == command.alias:
            specs += copies
            runs.append(reset_task(task, now))
            runs += [
                TaskRun(
                    alias=copy.alias,
                    state=TaskState.PENDING,
                    parties=tuple(PartyRun(party.domain_id) for party in copy.parties),
                    create_time=now,
                )
                for copy in copies[1:]
            ]
            continue
        deps = tuple(
            name
            for dep in other.dependencies
            for name in (names if dep == command.alias else (dep,))
        )
        specs.append(replace(other, dependencies=deps) if deps != other.dependencies else other)
        runs.append(run)
    expanded = replace(job, spec=replace(job.spec, tasks=tuple(specs)), tasks=tuple(runs))
    return schedule(expanded, now)
