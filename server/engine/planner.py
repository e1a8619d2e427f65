"""DAG readiness and outcome: pure functions of a job's current tasks."""

from __future__ import annotations

from dagwire.server.engine.model import Job, JobState, TaskRun, TaskSpec, TaskState


def _satisfied(spec: TaskSpec, run: TaskRun) -> bool:
    """A dependency lets its dependents run once it succeeded or failed tolerably."""
    return run.state is TaskState.SUCCEEDED or (run.state is TaskState.FAILED and spec.tolerable)


def ready_tasks(job: Job) -> list[str]:
    """Aliases of the tasks to launch now: pending, dependencies satisfied, highest
    priority first (ties in submission order), no more than max_parallelism running."""
    specs = {task.alias: task for task in job.spec.tasks}
    runs = {task.alias: task for task in job.tasks}
    running = sum(1 for task in job.tasks if task.state is TaskState.RUNNING)
    free = max(job.spec.max_parallelism, 1) - running
    if free <= 0:
        return []
    candidates = [
        (index, spec)
        for index, spec in enumerate(job.spec.tasks)
        if runs[spec.alias].state is TaskState.PENDING
        and all(_satisfied(specs[dep], runs[dep]) for dep in spec.dependencies)
    ]
    candidates.sort(key=lambda item: (-item[1].priority, item[0]))
    return [spec.alias for _, spec in candidates[:free]]


def assess_job(job: Job) -> JobState | None:
    """The state a running job's tasks imply: FAILED once an intolerable task failed,
    SUCCEEDED once every task is done without one, None while work remains."""
    specs = {task.alias: task for task in job.spec.tasks}
    if any(run.state is TaskState.FAILED and not specs[run.alias].tolerable for run in job.tasks):
        return JobState.FAILED
    if all(_satisfied(specs[run.alias], run) for run in job.tasks):
        return JobState.SUCCEEDED
    return None
