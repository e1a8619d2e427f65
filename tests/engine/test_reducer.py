"""Scenarios: a small DAG, a sequence of commands and reports, the states that follow."""

from __future__ import annotations

from datetime import UTC

import pytest

from dagwire.server.engine import reducer as r
from dagwire.server.engine.errors import IllegalTransition, InvalidApproval
from dagwire.server.engine.model import ApprovalState, Job, JobState, PartyState, TaskState
from tests.engine.factories import at, spec, task


def run(job: Job, *commands: r.Command) -> tuple[Job, list[r.Effect]]:
    effects: list[r.Effect] = []
    for step, command in enumerate(commands, start=1):
        outcome = r.apply(job, command, at(step))
        job = outcome.job
        effects.extend(outcome.effects)
    return job, effects


def finish(alias: str, attempt: int = 1, domain: str = "alice", code: int = 0) -> r.ProcessExited:
    return r.ProcessExited(alias, attempt, domain, code, "" if code == 0 else f"exit code {code}")


def states(job: Job) -> dict[str, TaskState]:
    return {t.alias: t.state for t in job.tasks}


def test_a_new_job_starts_running_its_root_tasks() -> None:
    outcome = r.create_job(spec(task("a"), task("b", "a")), at(0), frozenset())
    assert outcome.job.state is JobState.RUNNING
    assert states(outcome.job) == {"a": TaskState.RUNNING, "b": TaskState.PENDING}
    assert outcome.effects == (r.LaunchTask("a", 1),)


def test_a_chain_succeeds_task_by_task() -> None:
    job = r.create_job(spec(task("a"), task("b", "a")), at(0), frozenset()).job
    job, effects = run(job, finish("a"))
    assert effects == [r.LaunchTask("b", 1)]
    job, _ = run(job, finish("b"))
    assert job.state is JobState.SUCCEEDED and job.end_time is not None


def test_a_task_succeeds_only_when_every_party_succeeded() -> None:
    job = r.create_job(spec(task("a", parties=("alice", "bob"))), at(0), frozenset()).job
    job, _ = run(job, finish("a", domain="alice"))
    assert states(job) == {"a": TaskState.RUNNING}
    job, _ = run(job, finish("a", domain="bob"))
    assert job.state is JobState.SUCCEEDED


def test_one_failing_party_fails_the_task_and_terminates_the_other() -> None:
    job = r.create_job(spec(task("a", parties=("alice", "bob"))), at(0), frozenset()).job
    job, effects = run(job, r.ProcessStarted("a", 1, "bob"), finish("a", domain="alice", code=3))
    assert job.state is JobState.FAILED
    assert "party alice failed: exit code 3" in job.err_msg
    assert effects == [r.TerminateTask("a", 1, ("bob",), job.task("a").err_msg)]
    assert job.task("a").party("bob").state is PartyState.STOPPED  # type: ignore[union-attr]


def test_a_failure_stops_running_siblings() -> None:
    job = r.create_job(spec(task("a"), task("b")), at(0), frozenset()).job
    job, effects = run(job, finish("a", code=1))
    assert job.state is JobState.FAILED
    assert states(job) == {"a": TaskState.FAILED, "b": TaskState.STOPPED}
    assert [type(e) for e in effects] == [r.TerminateTask]


def test_a_tolerable_failure_does_not_fail_the_job() -> None:
    job = r.create_job(spec(task("a", tolerable=True), task("b", "a")), at(0), frozenset()).job
    job, effects = run(job, finish("a", code=1))
    assert job.state is JobState.RUNNING and effects == [r.LaunchTask("b", 1)]
    job, _ = run(job, finish("b"))
    assert job.state is JobState.SUCCEEDED


def test_a_timeout_fails_the_task_and_terminates_it() -> None:
    outcome = r.create_job(spec(task("a", timeout=5)), at(0), frozenset())
    assert r.ArmTimeout("a", 1, 5) in outcome.effects
    job, effects = run(outcome.job, r.TaskTimedOut("a", 1))
    assert job.state is JobState.FAILED and "timed out after 5 s" in job.err_msg
    assert [type(e) for e in effects] == [r.TerminateTask]


def test_a_task_whose_processes_do_not_all_start_in_time_fails_as_not_scheduled() -> None:
    outcome = r.create_job(
        spec(task("a", parties=("alice", "bob"), start_timeout=7)), at(0), frozenset()
    )
    assert r.ArmTimeout("a", 1, 7, r.Deadline.START) in outcome.effects
    job, effects = run(
        outcome.job, r.ProcessStarted("a", 1, "alice"), r.TaskTimedOut("a", 1, r.Deadline.START)
    )
    assert job.state is JobState.FAILED
    assert "not scheduled within 7 s" in job.err_msg and "bob had not started" in job.err_msg
    assert effects == [r.TerminateTask("a", 1, ("alice", "bob"), job.task("a").err_msg)]


def test_a_task_that_started_in_time_runs_on_past_its_scheduling_deadline() -> None:
    job = r.create_job(spec(task("a", start_timeout=7)), at(0), frozenset()).job
    job, _ = run(job, r.ProcessStarted("a", 1, "alice"))
    after, effects = run(job, r.TaskTimedOut("a", 1, r.Deadline.START))
    assert after is job and effects == []


def test_reports_about_an_older_attempt_are_ignored() -> None:
    job = r.create_job(spec(task("a")), at(0), frozenset()).job
    job, _ = run(job, r.Suspend(), r.Restart())
    assert job.task("a").attempt == 2
    after, effects = run(job, finish("a", attempt=1))
    assert after is job and effects == []


def test_progress_only_moves_forward() -> None:
    job = r.create_job(spec(task("a")), at(0), frozenset()).job
    job, _ = run(
        job, r.ProgressReported("a", 1, "alice", 0.5), r.ProgressReported("a", 1, "alice", 0.2)
    )
    assert job.task("a").progress == 0.5


def test_stop_fails_the_job_with_the_reason_and_terminates_running_tasks() -> None:
    job = r.create_job(spec(task("a"), task("b", "a")), at(0), frozenset()).job
    job, effects = run(job, r.Stop("operator said so"))
    assert job.state is JobState.FAILED and job.err_msg == "operator said so"
    assert states(job) == {"a": TaskState.STOPPED, "b": TaskState.SKIPPED}
    assert effects == [r.TerminateTask("a", 1, ("alice",), "operator said so")]


def test_restart_reruns_what_did_not_succeed_and_keeps_the_rest() -> None:
    job = r.create_job(spec(task("a"), task("b", "a"), task("c", "b")), at(0), frozenset()).job
    job, _ = run(job, finish("a"), finish("b", code=2))
    assert job.state is JobState.FAILED
    job, effects = run(job, r.Restart())
    assert job.state is JobState.RUNNING
    assert states(job) == {"a": TaskState.SUCCEEDED, "b": TaskState.RUNNING, "c": TaskState.PENDING}
    assert effects == [r.LaunchTask("b", 2)]


@pytest.mark.parametrize("command", [r.Suspend(), r.Restart()], ids=["suspend", "restart"])
def test_lifecycle_commands_on_a_succeeded_job_are_refused(command: r.Command) -> None:
    job = r.create_job(spec(task("a")), at(0), frozenset()).job
    job, _ = run(job, finish("a"))
    with pytest.raises(IllegalTransition):
        r.apply(job, command, at(9))


def test_cancel_is_final() -> None:
    job = r.create_job(spec(task("a")), at(0), frozenset()).job
    job, _ = run(job, r.Cancel("no longer needed"))
    assert job.state is JobState.CANCELLED
    with pytest.raises(IllegalTransition):
        r.apply(job, r.Restart(), at(9))


def test_approval_parks_the_job_until_every_required_party_accepts() -> None:
    outcome = r.create_job(
        spec(task("a", parties=("alice", "bob"))), at(0), frozenset({"alice", "bob"})
    )
    assert outcome.job.state is JobState.AWAITING_APPROVAL and outcome.effects == ()
    job, effects = run(outcome.job, r.Approve("alice", accept=True))
    assert (
        job.state is JobState.AWAITING_APPROVAL and job.approvals["alice"] is ApprovalState.ACCEPTED
    )
    job, effects = run(job, r.Approve("bob", accept=True))
    assert job.state is JobState.RUNNING and effects == [r.LaunchTask("a", 1)]


def test_one_rejection_ends_the_job() -> None:
    job = r.create_job(spec(task("a", parties=("alice", "bob"))), at(0), frozenset({"bob"})).job
    job, _ = run(job, r.Approve("bob", accept=False, reason="not today"))
    assert job.state is JobState.APPROVAL_REJECT and job.err_msg == "rejected by bob: not today"


def test_approval_from_a_domain_with_nothing_to_decide_is_refused() -> None:
    job = r.create_job(spec(task("a", parties=("alice", "bob"))), at(0), frozenset({"bob"})).job
    with pytest.raises(InvalidApproval, match="'alice' has no pending approval"):
        r.apply(job, r.Approve("alice", accept=True), at(1))


def test_an_unbound_approval_decides_for_every_undecided_party() -> None:
    job = r.create_job(
        spec(task("a", parties=("alice", "bob"))), at(0), frozenset({"alice", "bob"})
    ).job
    job, _ = run(job, r.Approve(None, accept=True))
    assert job.state is JobState.RUNNING


def test_restart_of_a_job_stopped_before_approval_awaits_approval_again() -> None:
    job = r.create_job(spec(task("a")), at(0), frozenset({"alice"})).job
    job, _ = run(job, r.Stop(), r.Restart())
    assert job.state is JobState.AWAITING_APPROVAL


def test_suspend_of_a_job_awaiting_approval_is_refused() -> None:
    job = r.create_job(spec(task("a")), at(0), frozenset({"alice"})).job
    with pytest.raises(IllegalTransition, match="only Running jobs can be suspended"):
        r.apply(job, r.Suspend(), at(1))


@pytest.mark.parametrize("command", [r.Stop("again"), r.Cancel("again")], ids=["stop", "cancel"])
def test_stop_or_cancel_of_a_succeeded_job_changes_nothing(command: r.Command) -> None:
    job = r.create_job(spec(task("a")), at(0), frozenset()).job
    job, _ = run(job, finish("a"))
    outcome = r.apply(job, command, at(9))
    assert outcome.job is job and outcome.effects == ()


def test_a_lost_process_relaunches_its_task_as_a_new_attempt() -> None:
    job = r.create_job(spec(task("a", parties=("alice", "bob"))), at(0), frozenset()).job
    job, effects = run(
        job, r.ProcessStarted("a", 1, "bob"), r.ProcessLost("a", 1, "alice", "lost: vanished")
    )
    assert job.state is JobState.RUNNING
    assert (job.task("a").attempt, job.task("a").relaunches) == (2, 1)
    assert effects == [
        r.TerminateTask("a", 1, ("bob",), "party alice lost: vanished"),
        r.LaunchTask("a", 2),
    ]


def test_a_relaunch_after_a_lost_party_says_so_in_the_tasks_status() -> None:
    job = r.create_job(spec(task("a")), at(0), frozenset()).job
    job, _ = run(job, r.ProcessLost("a", 1, "alice", "lost with its server"))
    found = at(1).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert job.task("a").state is TaskState.RUNNING
    assert job.task("a").err_msg == (
        f"party alice lost with its server, found at {found}; relaunched as attempt 2"
    )


def test_the_relaunch_reason_stays_when_the_relaunched_task_succeeds() -> None:
    job = r.create_job(spec(task("a")), at(0), frozenset()).job
    job, _ = run(job, r.ProcessLost("a", 1, "alice", "lost with its server"))
    job, _ = run(job, r.ProcessExited("a", 2, "alice", 0, ""))
    assert job.task("a").state is TaskState.SUCCEEDED
    assert job.task("a").err_msg.endswith("relaunched as attempt 2")


def test_a_task_that_keeps_losing_its_process_fails_after_the_relaunch_budget() -> None:
    job = r.create_job(spec(task("a")), at(0), frozenset()).job
    for attempt in range(1, r.MAX_RELAUNCHES + 1):
        job, _ = run(job, r.ProcessLost("a", attempt, "alice", "vanished"))
    job, _ = run(job, r.ProcessLost("a", r.MAX_RELAUNCHES + 1, "alice", "vanished"))
    assert job.state is JobState.FAILED
    assert f"relaunched {r.MAX_RELAUNCHES} times" in job.err_msg
