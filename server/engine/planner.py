"""DAG readiness and outcome: pure functions of a job's current tasks."""

from __future__ import annotations

from dagwire.server.engine.model import Job, JobState, Stage, TaskRun, TaskSpec, TaskState

_UNSETTLED = frozenset({TaskState.PENDING, TaskState.RUNNING, TaskState.HOLD})


def satisfied(spec: TaskSpec, run: TaskRun) -> bool:
    """A dependency lets its dependents run once it succeeded, failed tolerably, or was
    disabled (a disabled step is left out, not broken)."""
    return (
        run.state is TaskState.SUCCEEDED
        or (run.state is TaskState.FAILED and (spec.tolerable or run.waived))
        or (run.state is TaskState.STOPPED and run.waived)
        or (run.state is TaskState.SKIPPED and spec.disabled)
    )


def blocking(spec: TaskSpec, run: TaskRun) -> bool:
    """A dependency that will never let its dependents run (short of a restart)."""
    return run.state.is_settled and not satisfied(spec, run)


def failed_intolerably(spec: TaskSpec, run: TaskRun) -> bool:
    """A failure (or a user's stop) that fails the job: not tolerated by the spec, not
    waived by a user."""
    if run.waived:
        return False
    return (run.state is TaskState.FAILED and not spec.tolerable) or run.state is TaskState.STOPPED


def ready_tasks(job: Job) -> list[str]:
    """Aliases of the tasks to launch now: pending, dependencies satisfied, highest
    priority first (ties in submission order), no more than max_parallelism running.
    A post task is ready once every other task has settled, whatever their outcome."""
    specs, runs, at = job.spec.tasks, job.tasks, job.spec.positions
    running = [run.state for run in runs].count(TaskState.RUNNING)
    free = max(job.spec.max_parallelism, 1) - running
    if free <= 0:
        return []
    main_settled: bool | None = None
    candidates: list[tuple[int, TaskSpec]] = []
    for index, (spec, run) in enumerate(zip(specs, runs, strict=True)):
        if run.state is not TaskState.PENDING:
            continue
        if spec.post:
            if main_settled is None:
                main_settled = all(
                    other.state.is_settled
                    for other_spec, other in zip(specs, runs, strict=True)
                    if not other_spec.post
                )
            if main_settled:
                candidates.append((index, spec))
        elif all(satisfied(specs[at[dep]], runs[at[dep]]) for dep in spec.dependencies):
            candidates.append((index, spec))
    candidates.sort(key=lambda item: (-item[1].priority, item[0]))
    return [spec.alias for _, spec in candidates[:free]]


def assess_job(job: Job) -> JobState | None:
    """The state a running job's tasks imply once every task has settled: FAILED when a
    task failed intolerably or was stopped, or when the job was stopped; else SUCCEEDED.
    None while work remains."""
    if not {run.state for run in job.tasks}.isdisjoint(_UNSETTLED):
        return None
    specs = {task.alias: task for task in job.spec.tasks}
    if job.stage is Stage.STOP or any(
        failed_intolerably(specs[run.alias], run) for run in job.tasks
    ):
        return JobState.FAILED
    return JobState.SUCCEEDED
