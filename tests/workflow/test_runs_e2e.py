"""Runs through a real channel: DAG shapes, failure strategies, disabled and post steps,
stop, retry, cache. Steps append to marker files, so what really ran is visible."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import assert_eventually
from tests.workflow.conftest import get_run, run_status, run_yaml, step_statuses, wait_finished

DIAMOND = """
name: diamond
entry_points:
  a: {{command: "echo a >> {work}/ran"}}
  b: {{command: "echo b >> {work}/ran", deps: a}}
  c: {{command: "echo c >> {work}/ran", deps: a}}
  d: {{command: "echo d >> {work}/ran", deps: "b,c"}}
"""


def ran(work: Path) -> list[str]:
    marker = work / "ran"
    return marker.read_text().split() if marker.exists() else []


async def test_a_four_step_diamond_runs_in_dependency_order(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    run = await run_yaml(workflows, DIAMOND.format(work=work_dir))
    assert [step.name for step in run.steps] == ["a", "b", "c", "d"]
    assert list(run.steps[3].deps) == ["b", "c"]
    done = await wait_finished(workflows, run.run_id)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED"
    order = ran(work_dir)
    assert order[0] == "a" and order[-1] == "d" and sorted(order[1:3]) == ["b", "c"]
    assert done.activate_time.seconds > 0 and done.end_time.seconds > 0


BRANCHES = """
name: branches
failure_options: {{strategy: {strategy}}}
entry_points:
  bad: {{command: "exit 3"}}
  after_bad: {{command: "echo after_bad >> {work}/ran", deps: bad}}
  slow: {{command: "sleep {sleep}; echo slow >> {work}/ran"}}
  after_slow: {{command: "echo after_slow >> {work}/ran", deps: slow}}
"""


async def test_fail_fast_stops_running_siblings_and_skips_the_rest(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    run = await run_yaml(workflows, BRANCHES.format(strategy="fail_fast", work=work_dir, sleep=30))
    done = await wait_finished(workflows, run.run_id)
    assert run_status(done) == "RUN_STATUS_FAILED"
    assert step_statuses(done) == {
        "bad": "STEP_STATUS_FAILED",
        "after_bad": "STEP_STATUS_SKIPPED",
        "slow": "STEP_STATUS_TERMINATED",
        "after_slow": "STEP_STATUS_SKIPPED",
    }
    assert "bad" in done.run_msg and "exit code 3" in done.run_msg
    assert ran(work_dir) == []


async def test_continue_lets_independent_branches_finish(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    run = await run_yaml(workflows, BRANCHES.format(strategy="continue", work=work_dir, sleep=1))
    done = await wait_finished(workflows, run.run_id)
    assert run_status(done) == "RUN_STATUS_FAILED"
    assert step_statuses(done) == {
        "bad": "STEP_STATUS_FAILED",
        "after_bad": "STEP_STATUS_SKIPPED",
        "slow": "STEP_STATUS_SUCCEEDED",
        "after_slow": "STEP_STATUS_SUCCEEDED",
    }
    assert ran(work_dir) == ["slow", "after_slow"]
    assert "upstream task bad failed" in {s.name: s for s in done.steps}["after_bad"].message


async def test_the_request_can_override_the_failure_strategy(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    text = BRANCHES.format(strategy="fail_fast", work=work_dir, sleep=1)
    run = await run_yaml(workflows, text, failure_strategy=enums.FAILURE_STRATEGY_CONTINUE)
    done = await wait_finished(workflows, run.run_id)
    assert done.failure_strategy == enums.FAILURE_STRATEGY_CONTINUE
    assert step_statuses(done)["after_slow"] == "STEP_STATUS_SUCCEEDED"


async def test_disabled_steps_are_skipped_and_reported_as_such(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    run = await run_yaml(workflows, DIAMOND.format(work=work_dir), disabled=["b"])
    done = await wait_finished(workflows, run.run_id)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED"
    assert step_statuses(done)["b"] == "STEP_STATUS_SKIPPED"
    assert {s.name: s for s in done.steps}["b"].message == "disabled"
    assert list(done.disabled) == ["b"]
    assert sorted(ran(work_dir)) == ["a", "c", "d"]


POST = """
name: with-post
entry_points:
  main: {{command: "{main}"}}
post_process:
  notify: {{command: "echo notify >> {work}/ran"}}
"""


async def test_the_post_step_runs_after_a_failure(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    run = await run_yaml(workflows, POST.format(main="exit 1", work=work_dir))
    done = await wait_finished(workflows, run.run_id)
    assert run_status(done) == "RUN_STATUS_FAILED"
    assert step_statuses(done) == {"main": "STEP_STATUS_FAILED", "notify": "STEP_STATUS_SUCCEEDED"}
    assert done.steps[1].post
    assert ran(work_dir) == ["notify"]


async def test_stop_lets_the_post_step_run_unless_forced(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    gentle = await run_yaml(workflows, POST.format(main="sleep 30", work=work_dir))
    await assert_eventually(
        lambda: get_run(workflows, gentle.run_id),
        lambda r: step_statuses(r)["main"] == "STEP_STATUS_RUNNING",
    )
    await workflows.StopRun(rr.StopRunRequest(run_id=gentle.run_id))
    done = await wait_finished(workflows, gentle.run_id)
    assert run_status(done) == "RUN_STATUS_TERMINATED"
    assert step_statuses(done) == {
        "main": "STEP_STATUS_TERMINATED",
        "notify": "STEP_STATUS_SUCCEEDED",
    }
    forced = await run_yaml(workflows, POST.format(main="sleep 30", work=work_dir))
    await assert_eventually(
        lambda: get_run(workflows, forced.run_id),
        lambda r: step_statuses(r)["main"] == "STEP_STATUS_RUNNING",
    )
    stopped = (await workflows.StopRun(rr.StopRunRequest(run_id=forced.run_id, force=True))).run
    assert run_status(stopped) == "RUN_STATUS_TERMINATED"
    assert step_statuses(stopped)["notify"] == "STEP_STATUS_SKIPPED"
    assert ran(work_dir) == ["notify"]


CHAIN_WITH_POST = """
name: chain-with-post
entry_points:
  main: {{command: "sleep 30"}}
  after: {{command: "echo after >> {work}/ran", deps: main}}
post_process:
  notify: {{command: "echo notify >> {work}/ran"}}
"""


async def test_a_forced_stop_leaves_no_step_pending_in_the_terminated_run(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    run = await run_yaml(workflows, CHAIN_WITH_POST.format(work=work_dir))
    await assert_eventually(
        lambda: get_run(workflows, run.run_id),
        lambda r: step_statuses(r)["main"] == "STEP_STATUS_RUNNING",
    )
    await workflows.StopRun(rr.StopRunRequest(run_id=run.run_id, force=True))
    done = await wait_finished(workflows, run.run_id)
    assert run_status(done) == "RUN_STATUS_TERMINATED"
    assert step_statuses(done) == {
        "main": "STEP_STATUS_TERMINATED",
        "after": "STEP_STATUS_SKIPPED",
        "notify": "STEP_STATUS_SKIPPED",
    }
    assert ran(work_dir) == []


async def test_stopping_a_finished_run_is_a_failed_precondition(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    run = await run_yaml(workflows, DIAMOND.format(work=work_dir))
    await wait_finished(workflows, run.run_id)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await workflows.StopRun(rr.StopRunRequest(run_id=run.run_id))
    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION


RETRY = """
name: flaky
entry_points:
  prepare: {{command: "echo prepare >> {work}/ran; echo data > {{{{out}}}}", artifacts: {{output: [out]}}}}
  side: {{command: "echo side >> {work}/ran"}}
  train:
    deps: prepare
    command: "echo train >> {work}/ran; test -f {work}/fixed && cat {{{{inp}}}}"
    artifacts: {{input: {{inp: "{{{{prepare.out}}}}"}}}}
"""


async def test_retry_creates_a_new_run_that_skips_the_succeeded_steps(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    first = await wait_finished(
        workflows, (await run_yaml(workflows, RETRY.format(work=work_dir))).run_id
    )
    assert run_status(first) == "RUN_STATUS_FAILED"
    assert sorted(ran(work_dir)) == ["prepare", "side", "train"]
    (work_dir / "fixed").touch()
    retried = (await workflows.RetryRun(rr.RetryRunRequest(run_id=first.run_id))).run
    assert retried.run_id != first.run_id and retried.retried_from == first.run_id
    done = await wait_finished(workflows, retried.run_id)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED"
    steps = {s.name: s for s in done.steps}
    assert steps["prepare"].cache_run_id == first.run_id
    assert steps["side"].cache_run_id == first.run_id
    assert steps["train"].cache_run_id == ""
    # Only the failed step ran again, and it read the first run's output.
    assert sorted(ran(work_dir)) == ["prepare", "side", "train", "train"]
    logs = await workflows.GetRunLog(rr.GetRunLogRequest(run_id=done.run_id, step_name="train"))
    assert logs.logs[0].log_content == "data\n"


async def test_only_failed_or_terminated_runs_can_be_retried(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    run = await wait_finished(
        workflows, (await run_yaml(workflows, DIAMOND.format(work=work_dir))).run_id
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await workflows.RetryRun(rr.RetryRunRequest(run_id=run.run_id))
    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "succeeded" in (caught.value.details() or "")


CACHED = """
name: cached
cache: {{enable: true, max_expired_time: -1}}
entry_points:
  a: {{command: "echo a >> {work}/ran; cat {work}/input > {{{{out}}}}", artifacts: {{output: [out]}}}}
  b:
    deps: a
    command: "echo b >> {work}/ran; cat {{{{inp}}}}"
    parameters: {{epoch: 1}}
    artifacts: {{input: {{inp: "{{{{a.out}}}}"}}}}
"""


async def test_a_second_run_with_the_same_inputs_hits_the_cache_for_every_step(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    (work_dir / "input").write_text("v1\n")
    text = CACHED.format(work=work_dir)
    first = await wait_finished(workflows, (await run_yaml(workflows, text)).run_id)
    second = await wait_finished(workflows, (await run_yaml(workflows, text)).run_id)
    assert run_status(second) == "RUN_STATUS_SUCCEEDED"
    assert [s.cache_run_id for s in second.steps] == [first.run_id, first.run_id]
    assert list(second.run_cached_ids) == [first.run_id]
    assert ran(work_dir) == ["a", "b"]  # nothing ran the second time
    entries = await workflows.ListCacheEntries(
        rr.ListCacheEntriesRequest(filter=f"run_id={first.run_id}")
    )
    assert sorted(e.step_name for e in entries.cache_entries) == ["a", "b"]


async def test_a_changed_parameter_misses_the_cache(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    (work_dir / "input").write_text("v1\n")
    text = CACHED.format(work=work_dir)
    first = await wait_finished(workflows, (await run_yaml(workflows, text)).run_id)
    second = await wait_finished(
        workflows, (await run_yaml(workflows, text, parameters={"epoch": "2"})).run_id
    )
    assert [s.cache_run_id for s in second.steps] == [first.run_id, ""]
    assert {s.name: s.parameters["epoch"] for s in second.steps if s.name == "b"} == {"b": "2"}
    assert ran(work_dir) == ["a", "b", "b"]


async def test_a_deleted_cache_entry_is_no_longer_reused(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    (work_dir / "input").write_text("v1\n")
    text = CACHED.format(work=work_dir)
    first = await wait_finished(workflows, (await run_yaml(workflows, text)).run_id)
    entries = (await workflows.ListCacheEntries(rr.ListCacheEntriesRequest())).cache_entries
    for entry in entries:
        fetched = await workflows.GetCacheEntry(rr.GetCacheEntryRequest(cache_id=entry.cache_id))
        assert fetched.cache_entry.run_id == first.run_id
        await workflows.DeleteCacheEntry(rr.DeleteCacheEntryRequest(cache_id=entry.cache_id))
    second = await wait_finished(workflows, (await run_yaml(workflows, text)).run_id)
    assert [s.cache_run_id for s in second.steps] == ["", ""]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await workflows.GetCacheEntry(rr.GetCacheEntryRequest(cache_id=entries[0].cache_id))
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND


async def test_an_expired_cache_entry_is_not_reused(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    (work_dir / "input").write_text("v1\n")
    text = CACHED.format(work=work_dir).replace("max_expired_time: -1", "max_expired_time: 0")
    await wait_finished(workflows, (await run_yaml(workflows, text)).run_id)
    second = await wait_finished(workflows, (await run_yaml(workflows, text)).run_id)
    assert [s.cache_run_id for s in second.steps] == ["", ""]
