"""A loop laid out at run time (engine.loops): the launched task becomes one copy per
item, what depended on it waits for every copy, and stale or unusable reports change
nothing."""

from __future__ import annotations

from dataclasses import replace

from dagwire.server.engine import moments
from dagwire.server.engine.commands import LaunchTask
from dagwire.server.engine.model import Job, JobKind, TaskState
from dagwire.server.engine.reducer import (
    LoopExpanded,
    ProcessExited,
    ProcessStarted,
    Stop,
    apply,
    create_job,
)
from tests.engine.factories import at, spec, task


def running_loop() -> Job:
    job = create_job(spec(task("each"), task("after", "each")), at(0), frozenset()).job
    assert job.task("each").state is TaskState.RUNNING
    return apply(job, ProcessStarted("each", 1, "alice"), at(1)).job


def test_the_loop_task_becomes_one_copy_per_item_and_its_dependents_wait_for_all() -> None:
    outcome = apply(running_loop(), LoopExpanded("each", 1, ("3", "", "x y")), at(2))
    job = outcome.job
    aliases = [t.alias for t in job.spec.tasks]
    assert aliases == ["each", "each-1", "each-2", "after"]
    assert [t.loop_item for t in job.spec.tasks] == ["3", "", "x y", None]
    assert [t.task_id for t in job.spec.tasks[:3]] == ["each", "each-1", "each-2"]
    assert job.spec.task("after").dependencies == ("each", "each-1", "each-2")
    assert [t.alias for t in job.tasks] == aliases
    # Every copy is launched; the task itself runs again as the first copy.
    assert {e.alias for e in outcome.effects if isinstance(e, LaunchTask)} == set(aliases[:3])
    assert job.task("each").attempt == 2 and job.task("each-1").attempt == 1


def test_a_stale_or_empty_report_changes_nothing() -> None:
    job = running_loop()
    assert apply(job, LoopExpanded("each", 2, ("1",)), at(2)).job is job
    assert apply(job, LoopExpanded("each", 1, ()), at(2)).job is job
    assert apply(job, LoopExpanded("nope", 1, ("1",)), at(2)).job is job
    expanded = apply(job, LoopExpanded("each", 1, ("1",)), at(2)).job
    relaunched = expanded.task("each").attempt
    again = apply(expanded, LoopExpanded("each", relaunched, ("1", "2")), at(3)).job
    assert again is expanded, "a copy is never laid out again"


def test_a_copy_name_taken_by_another_task_leaves_the_job_as_it_was() -> None:
    job = create_job(spec(task("each"), task("each-1")), at(0), frozenset()).job
    assert apply(job, LoopExpanded("each", 1, ("1", "2")), at(1)).job is job


def test_a_loop_stopped_before_its_items_came_ends_its_stopping_with_the_exit() -> None:
    # The step executor reports the items, then an exit that is stale once they were
    # laid out; when a stop came first, that exit ends the step's stopping.
    job = create_job(
        replace(spec(task("each"), task("after", "each")), kind=JobKind.RUN), at(0), frozenset()
    ).job
    job = moments.apply(job, ProcessStarted("each", 1, "alice"), at(1)).job
    stopped = moments.apply(job, Stop("enough"), at(2)).job
    assert stopped.task("each").parties[0].exiting
    ignored = moments.apply(stopped, LoopExpanded("each", 1, ("1", "2")), at(3)).job
    assert [t.alias for t in ignored.spec.tasks] == ["each", "after"]
    settled = moments.apply(
        ignored, ProcessExited("each", 1, "alice", 1, "not laid out"), at(4)
    ).job
    assert not settled.task("each").parties[0].exiting


def test_the_exit_after_a_laid_out_loop_is_stale() -> None:
    expanded = apply(running_loop(), LoopExpanded("each", 1, ("1", "2")), at(2)).job
    assert apply(expanded, ProcessExited("each", 1, "alice", 1, "x"), at(3)).job is expanded
