"""Moving a job forward: start it, settle the tasks that can no longer run (its failure
strategy, blocked dependents), settle the job once every task has, else launch the ready
tasks or decide the ready holds and conditions."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from dagwire.server.engine.commands import ArmTimeout, Effect, LaunchTask, Outcome, deadlines
from dagwire.server.engine.conditions import ConditionError, evaluate
from dagwire.server.engine.job_edits import (
    failure_move,
    reset_task,
    stop_running_tasks,
    transition,
    with_task,
)
from dagwire.server.engine.model import (
    FailureStrategy,
    Job,
    JobKind,
    JobState,
    SkipCause,
    Stage,
    TaskRun,
    TaskState,
)
from dagwire.server.engine.planner import assess_job, blocking, failed_intolerably, ready_tasks
from dagwire.server.engine.task_transitions import TaskMove, move
from dagwire.server.engine.transitions import JobEvent


def schedule(job: Job, now: datetime) -> Outcome:
    """Move a pending or running job forward: start it, apply its failure strategy,
    settle it once every task has, else launch the ready tasks."""
    if job.state is JobState.PENDING:
        job = replace(transition(job, JobEvent.START), start_time=job.start_time or now)
    if job.state is not JobState.RUNNING:
        return Outcome(job)
    job, stops = _settle_blocked(job, now)
    verdict = assess_job(job)
    if verdict is JobState.FAILED:
        reason = job.err_msg if job.stage is Stage.STOP else _failure_reason(job)
        ended = replace(transition(job, JobEvent.FAIL), err_msg=reason, end_time=now)
        return Outcome(ended, stops)
    if verdict is JobState.SUCCEEDED:
        return Outcome(replace(transition(job, JobEvent.SUCCEED), end_time=now), stops)
    effects: list[Effect] = list(stops)
    decided = False  # a hold or condition settled without launching: look again after
    for alias in ready_tasks(job):
        spec = job.spec.task(alias)
        task = job.task(alias)
        if spec.hold and not task.released:
            job = with_task(job, move(task, TaskMove.HOLD, now, err_msg="awaiting confirmation"))
            decided = True
            continue
        if spec.branching is not None:
            job = _decide(job, alias, now)
            decided = True
            continue
        launched = move(
            reset_task(task, now),
            TaskMove.LAUNCH,
            now,
            attempt=task.attempt + 1,
            # A pending task's err_msg says why it is launched again (a lost party).
            err_msg=task.err_msg if task.state is TaskState.PENDING else "",
        )
        job = with_task(job, launched)
        effects.append(LaunchTask(alias, launched.attempt))
        for deadline, seconds in deadlines(spec).items():
            effects.append(ArmTimeout(alias, launched.attempt, seconds, deadline))
    if decided:
        again = schedule(job, now)
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
        how = failure_move(spec.execution_policy)
        return with_task(job, move(task, how, now, err_msg=f"condition: {error}"))
    decided = move(
        task,
        TaskMove.SUCCEED,
        now,
        progress=1.0,
        condition_result=result,
        condition_values=values,
        err_msg=f"condition is {'true' if result else 'false'}",
    )
    job = with_task(job, decided)
    not_taken = spec.branching.else_then if result else spec.branching.if_then
    reason = f"condition {alias} is {'true' if result else 'false'}"
    for other in not_taken:
        job = with_task(job, _skip(job.task(other), reason, now, SkipCause.CONDITION))
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
        stopped, effects = stop_running_tasks(main, reason, now)
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
