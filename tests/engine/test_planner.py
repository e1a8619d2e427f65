"""Readiness: dependencies, max_parallelism, priority, tolerable failures."""

from __future__ import annotations

from dataclasses import replace

from dagwire.server.engine.model import Job, JobState, TaskState
from dagwire.server.engine.planner import assess_job, ready_tasks
from dagwire.server.engine.reducer import create_job
from tests.engine.factories import T0, spec, task


def _job(*tasks, max_parallelism: int = 10) -> Job:  # type: ignore[no-untyped-def]
    job = create_job(spec(*tasks, max_parallelism=max_parallelism), T0, frozenset()).job
    # reset to "nothing launched yet" so the planner is asked about the initial state
    return replace(job, tasks=tuple(replace(t, state=TaskState.PENDING) for t in job.tasks))


def _with_states(job: Job, **states: TaskState) -> Job:
    return replace(
        job, tasks=tuple(replace(t, state=states.get(t.alias, t.state)) for t in job.tasks)
    )


def test_only_tasks_whose_dependencies_succeeded_are_ready() -> None:
    job = _job(task("a"), task("b", "a"), task("c"))
    assert ready_tasks(job) == ["a", "c"]
    assert ready_tasks(_with_states(job, a=TaskState.SUCCEEDED, c=TaskState.RUNNING)) == ["b"]


def test_higher_priority_runs_first_and_ties_keep_submission_order() -> None:
    job = _job(
        task("low", priority=1),
        task("high", priority=9),
        task("mid", priority=5),
        task("mid2", priority=5),
        max_parallelism=3,
    )
    assert ready_tasks(job) == ["high", "mid", "mid2"]


def test_max_parallelism_counts_running_tasks() -> None:
    job = _job(task("a"), task("b"), task("c"), max_parallelism=2)
    assert ready_tasks(_with_states(job, a=TaskState.RUNNING)) == ["b"]
    assert ready_tasks(_with_states(job, a=TaskState.RUNNING, b=TaskState.RUNNING)) == []


def test_a_tolerable_failure_lets_dependents_run() -> None:
    job = _job(task("a", tolerable=True), task("b", "a"))
    assert ready_tasks(_with_states(job, a=TaskState.FAILED)) == ["b"]


def test_an_intolerable_failure_does_not_release_dependents() -> None:
    job = _job(task("a"), task("b", "a"))
    assert ready_tasks(_with_states(job, a=TaskState.FAILED)) == []


def test_job_fails_once_every_task_settled_after_an_intolerable_failure() -> None:
    job = _job(task("a"), task("b"))
    assert assess_job(_with_states(job, a=TaskState.FAILED, b=TaskState.SKIPPED)) is JobState.FAILED


def test_job_is_undecided_while_a_task_runs_beside_a_failure() -> None:
    job = _job(task("a"), task("b"))
    assert assess_job(_with_states(job, a=TaskState.FAILED, b=TaskState.RUNNING)) is None


def test_a_disabled_task_releases_its_dependents() -> None:
    job = _job(task("a", disabled=True), task("b", "a"))
    assert ready_tasks(_with_states(job, a=TaskState.SKIPPED)) == ["b"]


def test_a_post_task_waits_until_every_other_task_settled() -> None:
    job = _job(task("a"), task("b"), task("z", post=True))
    assert ready_tasks(_with_states(job, a=TaskState.FAILED, b=TaskState.RUNNING)) == []
    assert ready_tasks(_with_states(job, a=TaskState.FAILED, b=TaskState.SKIPPED)) == ["z"]


def test_job_succeeds_when_every_task_succeeded_or_failed_tolerably() -> None:
    job = _job(task("a", tolerable=True), task("b", "a"))
    assert (
        assess_job(_with_states(job, a=TaskState.FAILED, b=TaskState.SUCCEEDED))
        is JobState.SUCCEEDED
    )


def test_job_is_undecided_while_work_remains() -> None:
    job = _job(task("a"), task("b", "a"))
    assert assess_job(_with_states(job, a=TaskState.SUCCEEDED)) is None
