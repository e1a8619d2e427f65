"""What a user does to one task of a job (ModelArts' step actions): retry it, stop it,
let a held one continue."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from dagwire.server.engine.commands import ContinueTask, Outcome, RetryTask, StepAction, StopTask
from dagwire.server.engine.errors import IllegalTaskAction, TaskNotFound
from dagwire.server.engine.job_edits import reset_task, stop_running_tasks, transition, with_task
from dagwire.server.engine.model import (
    ExecutionPolicy,
    Job,
    JobState,
    SkipCause,
    Stage,
    TaskRun,
    TaskState,
)
from dagwire.server.engine.scheduling import schedule
from dagwire.server.engine.task_transitions import TaskMove, move
from dagwire.server.engine.transitions import JobEvent

_RETRYABLE = frozenset({TaskState.FAILED, TaskState.STOPPED, TaskState.HOLD})


def act(job: Job, command: StepAction, now: datetime) -> Outcome:
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
            (stopped,), effects = stop_running_tasks([task], reason or "stopped by user", now)
            if spec.execution_policy is ExecutionPolicy.CONTINUE:
                stopped = replace(stopped, waived=True)
            elif spec.execution_policy is ExecutionPolicy.RETRY:
                stopped = move(stopped, TaskMove.HOLD, now)
            outcome = schedule(with_task(job, stopped), now)
            return Outcome(outcome.job, effects + outcome.effects)
        case RetryTask(parameters=parameters):
            if task.state not in _RETRYABLE or (task.state is TaskState.HOLD and task.attempt == 0):
                raise refuse(
                    "retry", "only a failed, stopped, timed-out or held failed step can be retried"
                )
            finished = job.state is JobState.FAILED
            if not finished and job.state is not JobState.RUNNING:
                raise refuse("retry", f"its run is {job.state.value}")
            retried = replace(reset_task(task, now), parameters={**task.parameters, **parameters})
            job = with_task(job, retried)
            if finished:
                job = replace(
                    transition(job, JobEvent.RESTART),
                    stage=Stage.RESTART,
                    err_msg="",
                    end_time=None,
                )
            job = replace(job, tasks=tuple(_reopen(t, finished, now) for t in job.tasks))
            return schedule(job, now)
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
            return schedule(with_task(job, released), now)


def _reopen(task: TaskRun, finished: bool, now: datetime) -> TaskRun:
    """After a retry, tasks that were only skipped because of the failure get another
    chance (the planner skips them again if they are still blocked); in a finished job,
    so do the tasks its failure stopped."""
    if task.state is TaskState.SKIPPED and task.skip_cause in (SkipCause.UPSTREAM, SkipCause.HALT):
        return reset_task(task, now)
    if finished and task.state is TaskState.STOPPED and not task.waived:
        return reset_task(task, now)
    return task
