"""Scenarios for ModelArts-style step semantics on the engine: holds, execution
policies, user actions on single tasks, condition tasks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dagwire.server.engine import reducer as r
from dagwire.server.engine.errors import IllegalTaskAction, TaskNotFound
from dagwire.server.engine.model import (
    Branching,
    Condition,
    ExecutionPolicy,
    Job,
    JobKind,
    JobState,
    TaskSpec,
    TaskState,
)
from tests.engine.factories import at, spec, task
from tests.engine.test_reducer import finish, run, states


def run_spec(*tasks: TaskSpec) -> Job:
    return r.create_job(replace(spec(*tasks), kind=JobKind.RUN), at(0), frozenset()).job


def test_a_hold_task_waits_for_continue_then_runs_with_its_parameters() -> None:
    job = run_spec(replace(task("a"), hold=True))
    assert states(job) == {"a": TaskState.HOLD}
    job, effects = run(job, r.ContinueTask("a", {"x": "1"}))
    assert states(job) == {"a": TaskState.RUNNING} and effects == [r.LaunchTask("a", 1)]
    assert job.task("a").parameters == {"x": "1"}


def test_a_failure_under_policy_continue_holds_and_continue_waives_it() -> None:
    job = run_spec(replace(task("a"), execution_policy=ExecutionPolicy.CONTINUE), task("b", "a"))
    job, _ = run(job, finish("a", code=1))
    assert job.state is JobState.RUNNING and states(job)["a"] is TaskState.HOLD
    job, effects = run(job, r.ContinueTask("a"))
    assert states(job) == {"a": TaskState.FAILED, "b": TaskState.RUNNING}
    assert effects == [r.LaunchTask("b", 1)]
    job, _ = run(job, finish("b"))
    assert job.state is JobState.SUCCEEDED


def test_retry_reopens_a_failed_job_and_its_skipped_dependents() -> None:
    job = run_spec(task("a"), task("b", "a"))
    job, _ = run(job, finish("a", code=1))
    assert job.state is JobState.FAILED and states(job)["b"] is TaskState.SKIPPED
    job, effects = run(job, r.RetryTask("a"))
    assert job.state is JobState.RUNNING and effects == [r.LaunchTask("a", 2)]
    job, _ = run(job, finish("a", attempt=2), finish("b"))
    assert job.state is JobState.SUCCEEDED


def test_stopping_a_task_under_policy_stop_fails_the_job_fast() -> None:
    job = run_spec(task("a"), task("b"))
    job, effects = run(job, r.StopTask("a"))
    assert job.state is JobState.FAILED
    assert states(job) == {"a": TaskState.STOPPED, "b": TaskState.STOPPED}
    assert len(effects) == 2


def test_stopping_a_task_under_policy_continue_lets_its_dependents_run() -> None:
    job = run_spec(replace(task("a"), execution_policy=ExecutionPolicy.CONTINUE), task("b", "a"))
    job, _ = run(job, r.StopTask("a"))
    assert states(job) == {"a": TaskState.STOPPED, "b": TaskState.RUNNING}


@pytest.mark.parametrize(
    ("command", "state"),
    [
        (r.StopTask("a"), "succeeded"),
        (r.RetryTask("a"), "succeeded"),
        (r.ContinueTask("a"), "succeeded"),
    ],
)
def test_actions_from_a_status_that_forbids_them_are_refused(
    command: r.Command, state: str
) -> None:
    job = run_spec(task("a"), task("b"))
    job, _ = run(job, finish("a"))
    with pytest.raises(IllegalTaskAction, match=f"is {state}"):
        r.apply(job, command, at(9))


def test_an_action_on_an_unknown_task_is_not_found() -> None:
    with pytest.raises(TaskNotFound):
        r.apply(run_spec(task("a")), r.RetryTask("zz"), at(1))


def gate(op: str, right: str) -> TaskSpec:
    branching = Branching(
        (Condition(op, "{{a.score}}", right),), if_then=("yes",), else_then=("no",)
    )
    return replace(task("check", "a"), branching=branching)


@pytest.mark.parametrize(
    ("op", "right", "taken"), [(">", "0.5", "yes"), ("<", "0.5", "no"), ("in", "0.7,0.8", "yes")]
)
def test_a_condition_task_takes_one_branch_and_skips_the_other(
    op: str, right: str, taken: str
) -> None:
    job = run_spec(task("a"), gate(op, right), task("yes", "check"), task("no", "check"))
    job, effects = run(job, r.ProcessExited("a", 1, "alice", 0, metrics={"score": "0.7"}))
    other = "no" if taken == "yes" else "yes"
    assert states(job)["check"] is TaskState.SUCCEEDED
    assert states(job)[taken] is TaskState.RUNNING and states(job)[other] is TaskState.SKIPPED
    assert job.task("check").condition_values == (("a.score", "0.7"),)
    assert effects == [r.LaunchTask(taken, 1)]


def test_a_condition_on_an_unreported_metric_fails() -> None:
    job = run_spec(task("a"), gate(">", "1"), task("yes", "check"), task("no", "check"))
    job, _ = run(job, finish("a"))
    assert states(job)["check"] is TaskState.FAILED
    assert "was not reported" in job.task("check").err_msg


def test_every_status_change_of_a_run_task_is_recorded() -> None:
    job = run_spec(task("a"))
    job, _ = run(job, finish("a", code=1), r.RetryTask("a"), finish("a", attempt=2))
    assert [e.state for e in job.task("a").events] == [
        TaskState.RUNNING,
        TaskState.FAILED,
        TaskState.RUNNING,
        TaskState.SUCCEEDED,
    ]
