"""Listing, logs, artifacts, watching and deleting runs through a real channel; and the
Kuscia JobService not seeing them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2, job_pb2_grpc
from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.workflow.conftest import run_status, run_yaml, status_detail, wait_finished

LINES = """
name: lines
entry_points:
  count: {command: "seq 1 250"}
"""

PRODUCER = """
name: producer
entry_points:
  make: {command: "echo x > {{model}}; echo y > {{report}}", artifacts: {output: [model, report]}}
  use:
    deps: make
    command: "cat {{m}}"
    artifacts: {input: {m: "{{make.model}}"}}
"""


async def test_logs_are_paged_from_either_end(workflows: rpc.WorkflowServiceStub) -> None:
    run = await wait_finished(workflows, (await run_yaml(workflows, LINES)).run_id)

    async def page(no: int, position: int) -> rr.GetRunLogResponse:
        return await workflows.GetRunLog(
            rr.GetRunLogRequest(
                run_id=run.run_id, step_name="count", page_size=100, page_no=no, position=position
            )
        )

    first = (await page(1, enums.LOG_POSITION_BEGIN)).logs[0]
    assert first.log_content.splitlines()[0] == "1" and first.has_next_page
    last = (await page(3, enums.LOG_POSITION_BEGIN)).logs[0]
    assert last.log_content.splitlines() == [str(n) for n in range(201, 251)]
    assert not last.has_next_page and not last.truncated
    tail = (await page(1, enums.LOG_POSITION_END)).logs[0]
    assert tail.log_content.splitlines() == [str(n) for n in range(151, 251)]
    assert tail.has_next_page and tail.job_id.endswith("-count") and tail.attempt == 1


async def test_logs_of_an_unknown_step_are_not_found(workflows: rpc.WorkflowServiceStub) -> None:
    run = await run_yaml(workflows, LINES)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await workflows.GetRunLog(rr.GetRunLogRequest(run_id=run.run_id, step_name="nope"))
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND


async def test_artifacts_are_registered_per_step_and_filtered(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    run = await wait_finished(workflows, (await run_yaml(workflows, PRODUCER)).run_id)
    assert run_status(run) == "RUN_STATUS_SUCCEEDED"
    everything = (
        await workflows.ListArtifacts(rr.ListArtifactsRequest(filter=f"run_id={run.run_id}"))
    ).artifacts
    assert sorted((a.step_name, a.name, a.type) for a in everything) == [
        ("make", "model", enums.ARTIFACT_TYPE_OUTPUT),
        ("make", "report", enums.ARTIFACT_TYPE_OUTPUT),
        ("use", "m", enums.ARTIFACT_TYPE_INPUT),
    ]
    model = next(a for a in everything if a.name == "model")
    assert await asyncio.to_thread(Path(model.path).read_text) == "x\n"
    inputs = (
        await workflows.ListArtifacts(
            rr.ListArtifactsRequest(filter=f"run_id={run.run_id} AND type=input")
        )
    ).artifacts
    assert [(a.name, a.path) for a in inputs] == [("m", model.path)]
    by_path = (
        await workflows.ListArtifacts(rr.ListArtifactsRequest(filter=f"path={model.path}"))
    ).artifacts
    assert {a.name for a in by_path} == {"model", "m"}


async def test_runs_are_listed_newest_first_in_pages_and_by_status(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    good = [await run_yaml(workflows, LINES, name=f"good-{i}") for i in range(3)]
    bad = await run_yaml(
        workflows, "name: bad\nentry_points:\n  x: {command: 'exit 1'}\n", username="bob"
    )
    for run in [*good, bad]:
        await wait_finished(workflows, run.run_id)
    first = await workflows.ListRuns(rr.ListRunsRequest(page_size=3))
    second = await workflows.ListRuns(
        rr.ListRunsRequest(page_size=3, page_token=first.next_page_token)
    )
    ids = [r.run_id for r in (*first.runs, *second.runs)]
    assert ids == [bad.run_id, *(r.run_id for r in reversed(good))]
    assert second.next_page_token == "" and not first.runs[0].steps
    failed = await workflows.ListRuns(rr.ListRunsRequest(filter="status=failed"))
    assert [r.run_id for r in failed.runs] == [bad.run_id]
    succeeded = await workflows.ListRuns(rr.ListRunsRequest(filter="status=succeeded", page_size=2))
    assert len(succeeded.runs) == 2 and succeeded.next_page_token
    named = await workflows.ListRuns(rr.ListRunsRequest(filter="name=good-1"))
    assert [r.run_id for r in named.runs] == [good[1].run_id]
    bobs = await workflows.ListRuns(rr.ListRunsRequest(filter="username=bob"))
    assert [r.run_id for r in bobs.runs] == [bad.run_id]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await workflows.ListRuns(rr.ListRunsRequest(filter="colour=red"))
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_a_bad_run_filter_names_every_problem_as_a_field_violation(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await workflows.ListRuns(
            rr.ListRunsRequest(filter="colour=red and status=done AND name=a AND name=b")
        )
    bad = status_detail(caught.value, error_details_pb2.BadRequest)
    assert bad is not None
    assert [(v.field, v.description.split(" ")[0]) for v in bad.field_violations] == [
        ("filter", "unknown"),
        ("filter", "status"),
        ("filter", "key"),
    ]


async def test_a_runs_page_token_is_refused_with_another_filter(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    for index in range(2):
        await run_yaml(workflows, LINES, name=f"paged-{index}")
    first = await workflows.ListRuns(rr.ListRunsRequest(page_size=1, filter="username=default"))
    assert first.next_page_token
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await workflows.ListRuns(
            rr.ListRunsRequest(page_size=1, page_token=first.next_page_token, filter="name=x")
        )
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details() == (
        "page_token: was made for filter 'username=default'; send that filter with it, "
        "or list again without it"
    )


async def test_a_watcher_sees_every_step_transition_in_order(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    run = await run_yaml(workflows, PRODUCER)
    seen: list[tuple[str, str]] = []
    versions: list[int] = []
    stream = workflows.WatchRuns(rr.WatchRunsRequest(run_ids=[run.run_id], timeout_seconds=20))
    async for event in stream:
        if event.type == enums.EVENT_TYPE_HEARTBEAT:
            continue
        versions.append(event.resource_version)
        states = tuple(enums.StepStatus.Name(s.status)[12:] for s in event.run.steps)
        if not seen or seen[-1] != states:
            seen.append(states)  # type: ignore[arg-type]
        if event.run.status == enums.RUN_STATUS_SUCCEEDED:
            break
    stream.cancel()
    assert versions == sorted(versions)
    assert seen[0] == ("RUNNING", "PENDING")
    assert seen[-1] == ("SUCCEEDED", "SUCCEEDED")
    assert ("SUCCEEDED", "RUNNING") in seen


async def test_only_finished_runs_can_be_deleted(workflows: rpc.WorkflowServiceStub) -> None:
    run = await run_yaml(workflows, "name: slow\nentry_points:\n  s: {command: 'sleep 30'}\n")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await workflows.DeleteRun(rr.DeleteRunRequest(run_id=run.run_id))
    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    await workflows.StopRun(rr.StopRunRequest(run_id=run.run_id, force=True))
    await workflows.DeleteRun(rr.DeleteRunRequest(run_id=run.run_id))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await workflows.GetRun(rr.GetRunRequest(run_id=run.run_id))
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND


# check_cache as PaddleFlow's DeleteRun means it (pkg/apiserver/controller/pipeline/run.go
# DeleteRun; the runs in runCachedIDs are added by callbacks.go updateRunCache when a job
# reuses the run's cache): refused while runs that reused the run's outputs exist.
CACHED = "name: c\ncache: {enable: true}\nentry_points:\n  s: {command: 'echo s'}\n"


async def test_check_cache_deletes_a_run_whose_outputs_nobody_reused(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    run = await wait_finished(workflows, (await run_yaml(workflows, CACHED)).run_id)

    await workflows.DeleteRun(rr.DeleteRunRequest(run_id=run.run_id, check_cache=True))

    left = await workflows.ListCacheEntries(
        rr.ListCacheEntriesRequest(filter=f"run_id={run.run_id}")
    )
    assert not left.cache_entries


async def test_check_cache_refuses_while_a_run_that_reused_its_outputs_exists(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    first = await wait_finished(workflows, (await run_yaml(workflows, CACHED)).run_id)
    second = await wait_finished(workflows, (await run_yaml(workflows, CACHED)).run_id)
    assert second.steps[0].cache_run_id == first.run_id
    reused = await workflows.GetRun(rr.GetRunRequest(run_id=first.run_id))
    assert list(reused.run.reused_by_run_ids) == [second.run_id]

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await workflows.DeleteRun(rr.DeleteRunRequest(run_id=first.run_id, check_cache=True))
    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert f"runs reused its cached outputs ({second.run_id})" in (caught.value.details() or "")
    await workflows.DeleteRun(rr.DeleteRunRequest(run_id=second.run_id, check_cache=True))
    await workflows.DeleteRun(rr.DeleteRunRequest(run_id=first.run_id, check_cache=True))


async def test_without_check_cache_a_reused_run_is_deleted(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    first = await wait_finished(workflows, (await run_yaml(workflows, CACHED)).run_id)
    await wait_finished(workflows, (await run_yaml(workflows, CACHED)).run_id)

    await workflows.DeleteRun(rr.DeleteRunRequest(run_id=first.run_id))

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await workflows.GetRun(rr.GetRunRequest(run_id=first.run_id))
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND


async def test_the_kuscia_job_service_does_not_see_runs(
    workflows: rpc.WorkflowServiceStub, channel: grpc.aio.Channel
) -> None:
    run = await wait_finished(workflows, (await run_yaml(workflows, LINES)).run_id)
    jobs = job_pb2_grpc.JobServiceStub(channel)
    queried = await jobs.QueryJob(job_pb2.QueryJobRequest(job_id=run.run_id))
    assert queried.status.code == 11202
    events = jobs.WatchJob(job_pb2.WatchJobRequest(timeout_seconds=1))
    listed = [event async for event in events if event.type != job_pb2.HEARTBEAT]
    assert listed == []


async def test_a_step_parameter_can_be_overridden_for_one_step(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    text = """
name: params
parameters: {who: world}
entry_points:
  a: {command: "echo {{who}} {{n}} {{PF_RUN_ID}}", parameters: {n: 1}}
  b: {command: "echo {{a.n}} {{n}}", deps: a, parameters: {n: 2}}
"""
    run = await run_yaml(workflows, text, parameters={"who": "you", "b.n": "7"})
    steps = {s.name: s for s in run.steps}
    assert steps["a"].command == f"echo you 1 {run.run_id}"
    assert steps["b"].command == "echo 1 7"
    done = await wait_finished(workflows, run.run_id)
    logs = await workflows.GetRunLog(rr.GetRunLogRequest(run_id=done.run_id, step_name="b"))
    assert logs.logs[0].log_content == "1 7\n"
