"""Scenarios for pipeline-run semantics on the engine: failure strategies, disabled
tasks, post tasks, stops that let the post task run, and cached results."""

from __future__ import annotations

from dataclasses import replace

from dagwire.server.engine import reducer as r
from dagwire.server.engine.model import FailureStrategy, JobSpec, JobState, TaskState
from tests.engine.factories import at, spec, task
from tests.engine.test_reducer import finish, run, states


def continuing(job_spec: JobSpec) -> JobSpec:
    return replace(job_spec, failure_strategy=FailureStrategy.CONTINUE)


# a -> b ; c independent ; z post
def test_fail_fast_stops_running_siblings_and_skips_pending_tasks() -> None:
    job = r.create_job(spec(task("a"), task("b", "a"), task("c")), at(0), frozenset()).job
    job, effects = run(job, finish("a", code=1))
    assert job.state is JobState.FAILED
    assert states(job) == {"a": TaskState.FAILED, "b": TaskState.SKIPPED, "c": TaskState.STOPPED}
    assert [type(e) for e in effects] == [r.TerminateTask]


def test_continue_lets_independent_branches_finish_and_skips_dependents() -> None:
    job_spec = continuing(spec(task("a"), task("b", "a"), task("c"), task("d", "b")))
    job = r.create_job(job_spec, at(0), frozenset()).job
    job, effects = run(job, finish("a", code=1))
    assert job.state is JobState.RUNNING
    assert states(job) == {
        "a": TaskState.FAILED,
        "b": TaskState.SKIPPED,
        "c": TaskState.RUNNING,
        "d": TaskState.SKIPPED,
    }
    assert job.task("d").err_msg == "upstream task b skipped"
    assert effects == []
    job, _ = run(job, finish("c"))
    assert job.state is JobState.FAILED
    assert job.err_msg == "task a failed: party alice failed: exit code 1"


def test_disabled_tasks_are_skipped_and_release_their_dependents() -> None:
    job = r.create_job(spec(task("a", disabled=True), task("b", "a")), at(0), frozenset()).job
    assert states(job) == {"a": TaskState.SKIPPED, "b": TaskState.RUNNING}
    job, _ = run(job, finish("b"))
    assert job.state is JobState.SUCCEEDED


def test_a_post_task_runs_after_a_failure_and_the_job_fails_after_it() -> None:
    job = r.create_job(spec(task("a"), task("z", post=True)), at(0), frozenset()).job
    assert states(job) == {"a": TaskState.RUNNING, "z": TaskState.PENDING}
    job, effects = run(job, finish("a", code=2))
    assert job.state is JobState.RUNNING
    assert effects == [r.LaunchTask("z", 1)]
    job, _ = run(job, finish("z"))
    assert (
        job.state is JobState.FAILED
        and job.err_msg == "task a failed: party alice failed: exit code 2"
    )


def test_a_failing_post_task_fails_a_job_whose_tasks_succeeded() -> None:
    job = r.create_job(spec(task("a"), task("z", post=True)), at(0), frozenset()).job
    job, _ = run(job, finish("a"), finish("z", code=4))
    assert (
        job.state is JobState.FAILED
        and job.err_msg == "task z failed: party alice failed: exit code 4"
    )


def test_a_stop_that_keeps_the_post_task_runs_it_before_the_job_fails() -> None:
    job = r.create_job(
        spec(task("a"), task("b", "a"), task("z", post=True)), at(0), frozenset()
    ).job
    job, effects = run(job, r.Stop("enough", keep_post=True))
    assert job.state is JobState.RUNNING
    assert states(job) == {"a": TaskState.STOPPED, "b": TaskState.SKIPPED, "z": TaskState.RUNNING}
    assert [type(e) for e in effects] == [r.TerminateTask, r.LaunchTask]
    job, _ = run(job, finish("z"))
    assert job.state is JobState.FAILED and job.err_msg == "enough"


def test_a_forced_stop_skips_the_post_task() -> None:
    job = r.create_job(spec(task("a"), task("z", post=True)), at(0), frozenset()).job
    job, _ = run(job, r.Stop("now"))
    assert job.state is JobState.FAILED
    assert states(job)["z"] is TaskState.SKIPPED
    assert job.task("z").err_msg == "now", "the skip says why"


def test_a_cached_exit_records_where_the_outputs_came_from() -> None:
    job = r.create_job(spec(task("a")), at(0), frozenset()).job
    job, _ = run(job, r.ProcessExited("a", 1, "alice", 0, cached_from="run-old"))
    assert job.state is JobState.SUCCEEDED
    assert job.task("a").cached_from == "run-old"


def test_a_restart_keeps_disabled_tasks_skipped() -> None:
    job = r.create_job(
        spec(task("a", disabled=True), task("b", "a"), task("c", "b")), at(0), frozenset()
    ).job
    job, _ = run(job, finish("b", code=1), r.Restart())
    assert states(job) == {"a": TaskState.SKIPPED, "b": TaskState.RUNNING, "c": TaskState.PENDING}
