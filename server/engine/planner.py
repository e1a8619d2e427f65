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
    specs, runs = job.spec.tasks, job.tasks
    # Runs on every change of a job: one pass over the states, then work only for the
    # pending tasks, so that a long chain costs little per step.
    states = [run.state for run in runs]
    free = max(job.spec.max_parallelism, 1) - states.count(TaskState.RUNNING)
    if free <= 0:
        return []
    depends_on = job.spec.dependency_positions
    main_settled: bool | None = None
    candidates: list[tuple[int, TaskSpec]] = []
    first = job.spec.first_dependencies
    # A task whose first dependency is still to run cannot be ready: in a long chain
    # that is every pending task but one, ruled out here without a call.
    waiting = (TaskState.PENDING, TaskState.RUNNING, TaskState.HOLD)
    pending = [
        i
        for i, state in enumerate(states)
        if state is TaskState.PENDING and (first[i] < 0 or states[first[i]] not in waiting)
    ]
    for index in pending:
        spec = specs[index]
        if spec.post:
            if main_settled is None:
                main_settled = all(
                    state.is_settled
                    for other, state in zip(specs, states, strict=True)
                    if not other.post
                )
            if main_settled:
                candidates.append((index, spec))
        elif _dependencies_satisfied(depends_on[index], specs, runs, states):
            candidates.append((index, spec))
    candidates.sort(key=lambda item: (-item[1].priority, item[0]))
    return [spec.alias for _, spec in candidates[:free]]


def _dependencies_satisfied(
    positions: tuple[int, ...],
    specs: tuple[TaskSpec, ...],
    runs: tuple[TaskRun, ...],
    states: list[TaskState],
) -> bool:
    for position in positions:
        state = states[position]
        if state is TaskState.SUCCEEDED:
            continue
        if state is TaskState.PENDING or not satisfied(specs[position], runs[position]):
            return False
    return True


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
