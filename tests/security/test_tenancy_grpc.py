"""Tenancy over real gRPC channels: bob, holding tok-bob, against alice's pipelines,
versions, runs, steps, cache entries, artifacts, logs, schedules and jobs. Every foreign
resource answers exactly as a missing one; lists hold only the caller's own; the
operator sees everything; names in requests (username, initiator) never widen what a
caller may do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as kpb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from dagwire.server.config import ServerConfig
from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import assert_eventually
from tests.security.tenancy import (
    ALICE,
    ALICE_ML,
    BOB,
    GATE,
    OPS,
    PROBES,
    TRAIN,
    Probe,
    Refusal,
    World,
    build_world,
    refusal,
    step_stub,
    target,
    twin,
    with_tokens,
)


@pytest.fixture
def server_config(server_config: ServerConfig, tmp_path: Path) -> ServerConfig:
    return with_tokens(server_config, tmp_path)


@pytest.fixture
async def world(channel: grpc.aio.Channel) -> World:
    return await build_world(channel)


def _w(channel: grpc.aio.Channel) -> rpc.WorkflowServiceStub:
    return rpc.WorkflowServiceStub(channel)


async def _call(channel: grpc.aio.Channel, probe: Probe, resource_id: str) -> Refusal:
    """bob's call; the refusal it must end with."""
    stub: Any = (_w if probe.service == "workflow" else step_stub)(channel)
    method = getattr(stub, probe.rpc)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        if probe.rpc.startswith(("Watch", "Tail")):
            async for _ in method(probe.request(resource_id), metadata=BOB):
                pass
        else:
            await method(probe.request(resource_id), metadata=BOB)
    return refusal(raised.value)


async def test_every_foreign_resource_answers_exactly_as_a_missing_one(
    channel: grpc.aio.Channel, world: World
) -> None:
    mismatches = []
    for probe in PROBES:
        alices = target(world, probe)
        foreign = await _call(channel, probe, alices)
        missing = await _call(channel, probe, twin(alices))
        if foreign.code != grpc.StatusCode.NOT_FOUND or foreign != missing.naming(
            twin(alices), alices
        ):
            mismatches.append((probe.label, foreign, missing))
    assert mismatches == []


async def test_what_bob_tried_left_alices_resources_as_they_were(
    channel: grpc.aio.Channel, world: World
) -> None:
    for probe in PROBES:
        await _call(channel, probe, target(world, probe))
    workflows = _w(channel)
    pipeline = await workflows.GetPipeline(
        rr.GetPipelineRequest(pipeline_id=world.pipeline_id), metadata=ALICE
    )
    assert [v.pipeline_version_id for v in pipeline.pipeline_versions] == ["1"]
    held = await workflows.GetRun(rr.GetRunRequest(run_id=world.held_run_id), metadata=ALICE)
    assert held.run.status == enums.RUN_STATUS_RUNNING
    assert [s.name for s in held.run.steps] == ["gate"]
    schedule = await workflows.GetSchedule(
        rr.GetScheduleRequest(schedule_id=world.schedule_id), metadata=ALICE
    )
    assert schedule.schedule.status == enums.SCHEDULE_STATUS_ACTIVE
    cache = await workflows.GetCacheEntry(
        rr.GetCacheEntryRequest(cache_id=world.cache_id), metadata=ALICE
    )
    assert cache.cache_entry.run_id == world.run_id
    runs = await workflows.ListRuns(rr.ListRunsRequest(), metadata=OPS)
    assert len(runs.runs) == 2  # bob started nothing from alice's pipeline or runs


async def test_bobs_lists_hold_none_of_alices_resources(
    channel: grpc.aio.Channel, world: World
) -> None:
    workflows = _w(channel)
    by_run = f"run_id={world.run_id}"
    assert (await workflows.ListPipelines(rr.ListPipelinesRequest(), metadata=BOB)).pipelines == []
    assert (await workflows.ListRuns(rr.ListRunsRequest(), metadata=BOB)).runs == []
    assert (
        await workflows.ListCacheEntries(rr.ListCacheEntriesRequest(), metadata=BOB)
    ).cache_entries == []
    artifacts = await workflows.ListArtifacts(rr.ListArtifactsRequest(filter=by_run), metadata=BOB)
    assert artifacts.artifacts == []
    assert (await workflows.ListSchedules(rr.ListSchedulesRequest(), metadata=BOB)).schedules == []
    own = await workflows.ListArtifacts(rr.ListArtifactsRequest(filter=by_run), metadata=ALICE)
    assert [a.name for a in own.artifacts] == ["model"]


async def test_bobs_run_watch_sees_none_of_alices_runs(
    channel: grpc.aio.Channel, world: World
) -> None:
    stream = _w(channel).WatchRuns(rr.WatchRunsRequest(timeout_seconds=1), metadata=BOB)
    seen = {event.run.run_id async for event in stream if event.run.run_id}
    assert seen == set()
    stream = _w(channel).WatchRuns(rr.WatchRunsRequest(timeout_seconds=1), metadata=ALICE)
    assert {event.run.run_id async for event in stream if event.run.run_id} == {
        world.run_id,
        world.held_run_id,
    }


async def test_the_operator_sees_and_acts_on_every_domains_resources(
    channel: grpc.aio.Channel, world: World
) -> None:
    workflows = _w(channel)
    listed = await workflows.ListPipelines(rr.ListPipelinesRequest(), metadata=OPS)
    assert [p.pipeline_id for p in listed.pipelines] == [world.pipeline_id]
    logs = await workflows.GetRunLog(rr.GetRunLogRequest(run_id=world.run_id), metadata=OPS)
    assert "alice-secret" in logs.logs[0].log_content
    stopped = await workflows.StopRun(rr.StopRunRequest(run_id=world.held_run_id), metadata=OPS)
    assert stopped.run.run_id == world.held_run_id


async def test_pipeline_names_are_unique_per_domain(
    channel: grpc.aio.Channel, world: World
) -> None:
    workflows = _w(channel)
    bobs = await workflows.CreatePipeline(
        rr.CreatePipelineRequest(pipeline_yaml=TRAIN), metadata=BOB
    )
    assert bobs.pipeline.name == "train" and bobs.pipeline.pipeline_id != world.pipeline_id
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await workflows.CreatePipeline(rr.CreatePipelineRequest(pipeline_yaml=TRAIN), metadata=BOB)
    assert again.value.code() == grpc.StatusCode.ALREADY_EXISTS
    own = await workflows.ListPipelines(rr.ListPipelinesRequest(), metadata=BOB)
    assert [p.pipeline_id for p in own.pipelines] == [bobs.pipeline.pipeline_id]


async def test_a_run_of_bobs_never_reuses_alices_cache(
    channel: grpc.aio.Channel, world: World
) -> None:
    workflows = _w(channel)
    bobs = await workflows.CreatePipeline(
        rr.CreatePipelineRequest(pipeline_yaml=TRAIN), metadata=BOB
    )
    run = await workflows.CreateRun(
        rr.CreateRunRequest(pipeline_id=bobs.pipeline.pipeline_id), metadata=BOB
    )
    done = await assert_eventually(
        lambda: workflows.GetRun(rr.GetRunRequest(run_id=run.run.run_id), metadata=BOB),
        lambda answer: answer.run.status == enums.RUN_STATUS_SUCCEEDED,
        timeout=20,
    )
    assert done.run.steps[0].cache_run_id == ""
    entries = await workflows.ListCacheEntries(rr.ListCacheEntriesRequest(), metadata=BOB)
    assert [e.run_id for e in entries.cache_entries] == [run.run.run_id]


async def test_username_is_the_principals(channel: grpc.aio.Channel, world: World) -> None:
    workflows = _w(channel)
    pipeline = await workflows.GetPipeline(
        rr.GetPipelineRequest(pipeline_id=world.pipeline_id), metadata=ALICE
    )
    run = await workflows.GetRun(rr.GetRunRequest(run_id=world.run_id), metadata=ALICE)
    assert pipeline.pipeline.username == run.run.username == "alice"
    with pytest.raises(grpc.aio.AioRpcError) as spoofed:
        await workflows.CreateRun(
            rr.CreateRunRequest(run_yaml=GATE, username="alice"), metadata=BOB
        )
    assert spoofed.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert spoofed.value.details() == (
        "username 'alice' is not the caller's: a tenant acts as its own user ('bob'); "
        "leave username empty"
    )


async def test_the_token_files_user_names_the_caller_within_its_domain(
    channel: grpc.aio.Channel, world: World
) -> None:
    workflows = _w(channel)
    made = await workflows.CreatePipeline(
        rr.CreatePipelineRequest(pipeline_yaml=GATE), metadata=ALICE_ML
    )
    assert made.pipeline.username == "ml"
    # A domain's resources are the domain's: its users share them.
    listed = await workflows.ListPipelines(rr.ListPipelinesRequest(), metadata=ALICE)
    assert {p.pipeline_id for p in listed.pipelines} == {
        world.pipeline_id,
        made.pipeline.pipeline_id,
    }


async def test_a_tenant_on_behalf_of_anyone_is_refused_in_band_on_jobservice(
    channel: grpc.aio.Channel, world: World
) -> None:
    stub = job_pb2_grpc.JobServiceStub(channel)
    refused = await stub.QueryJob(
        kpb.QueryJobRequest(job_id=world.job_id),
        metadata=(*ALICE, ("on-behalf-of", "bob")),
    )
    assert refused.status.code == 11102
    assert "on-behalf-of is honoured for operators only" in refused.status.message


async def test_an_operator_acts_on_behalf_of_a_user_explicitly(
    channel: grpc.aio.Channel, world: World
) -> None:
    workflows = _w(channel)
    made = await workflows.CreatePipeline(
        rr.CreatePipelineRequest(pipeline_yaml=TRAIN),
        metadata=(*OPS, ("on-behalf-of", "bob/bob-ml")),
    )
    assert made.pipeline.username == "bob-ml"
    bobs = await workflows.ListPipelines(rr.ListPipelinesRequest(), metadata=BOB)
    assert [p.pipeline_id for p in bobs.pipelines] == [made.pipeline.pipeline_id]
    # Acting for bob, the operator sees what bob sees, and no more.
    with pytest.raises(grpc.aio.AioRpcError) as hidden:
        await workflows.GetPipeline(
            rr.GetPipelineRequest(pipeline_id=world.pipeline_id),
            metadata=(*OPS, ("on-behalf-of", "bob/bob-ml")),
        )
    assert hidden.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_tenant_cannot_act_on_behalf_of_anyone(channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _w(channel).ListPipelines(
            rr.ListPipelinesRequest(), metadata=(*BOB, ("on-behalf-of", "alice/alice"))
        )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert refused.value.details() == (
        "on-behalf-of is honoured for operators only; a caller of domain 'bob' acts as itself"
    )


# --- JobService ------------------------------------------------------------------------

JOB_CALLS: dict[str, Callable[[job_pb2_grpc.JobServiceStub, str], Awaitable[Any]]] = {
    "QueryJob": lambda s, j: s.QueryJob(kpb.QueryJobRequest(job_id=j), metadata=BOB),
    "BatchQueryJobStatus": lambda s, j: s.BatchQueryJobStatus(
        kpb.BatchQueryJobStatusRequest(job_ids=[j]), metadata=BOB
    ),
    "StopJob": lambda s, j: s.StopJob(kpb.StopJobRequest(job_id=j), metadata=BOB),
    "SuspendJob": lambda s, j: s.SuspendJob(kpb.SuspendJobRequest(job_id=j), metadata=BOB),
    "RestartJob": lambda s, j: s.RestartJob(kpb.RestartJobRequest(job_id=j), metadata=BOB),
    "CancelJob": lambda s, j: s.CancelJob(kpb.CancelJobRequest(job_id=j), metadata=BOB),
    "DeleteJob": lambda s, j: s.DeleteJob(kpb.DeleteJobRequest(job_id=j), metadata=BOB),
    "ApproveJob": lambda s, j: s.ApproveJob(
        kpb.ApproveJobRequest(job_id=j, result=kpb.APPROVE_RESULT_ACCEPT), metadata=BOB
    ),
}


@pytest.mark.parametrize("call", JOB_CALLS.values(), ids=JOB_CALLS.keys())
async def test_a_foreign_job_answers_exactly_as_a_missing_one(
    channel: grpc.aio.Channel, world: World, call: Callable[..., Awaitable[Any]]
) -> None:
    stub = job_pb2_grpc.JobServiceStub(channel)
    foreign = await call(stub, world.job_id)
    missing = await call(stub, twin(world.job_id))
    assert foreign.status.code != 0
    assert foreign.status.SerializeToString() == missing.status.SerializeToString().replace(
        twin(world.job_id).encode(), world.job_id.encode()
    )
    state = await stub.QueryJob(kpb.QueryJobRequest(job_id=world.job_id), metadata=ALICE)
    assert state.data.status.state == "Running"


async def test_a_tenant_cannot_name_another_domain_as_initiator(
    channel: grpc.aio.Channel,
) -> None:
    stub = job_pb2_grpc.JobServiceStub(channel)
    task = kpb.Task(
        alias="t",
        app_image="dagwire-sleep",
        parties=[kpb.Party(domain_id="alice"), kpb.Party(domain_id="bob")],
    )
    request = kpb.CreateJobRequest(job_id="spoofed", initiator="alice", tasks=[task])
    refused = await stub.CreateJob(request, metadata=BOB)
    assert refused.status.code == 11102
    assert refused.status.message == (
        "domain 'bob' cannot create a job with initiator 'alice': a tenant's jobs are "
        "initiated by its own domain"
    )
    gone = await stub.QueryJob(kpb.QueryJobRequest(job_id="spoofed"), metadata=OPS)
    assert gone.status.message == "job 'spoofed' does not exist"
    request.initiator = "bob"
    assert (await stub.CreateJob(request, metadata=BOB)).status.code == 0
    assert (
        await stub.CreateJob(
            kpb.CreateJobRequest(job_id="by-ops", initiator="alice", tasks=[task]), metadata=OPS
        )
    ).status.code == 0


async def test_a_tenants_pages_are_full_of_its_own_pipelines(channel: grpc.aio.Channel) -> None:
    workflows = _w(channel)
    mine = []
    for index in range(3):  # interleaved with alice's, so that a filter after paging shows
        for caller in (ALICE, BOB):
            spec = GATE.replace("name: gate", f"name: p{index}")
            made = await workflows.CreatePipeline(
                rr.CreatePipelineRequest(pipeline_yaml=spec), metadata=caller
            )
            if caller is BOB:
                mine.append(made.pipeline.pipeline_id)
    first = await workflows.ListPipelines(rr.ListPipelinesRequest(page_size=2), metadata=BOB)
    rest = await workflows.ListPipelines(
        rr.ListPipelinesRequest(page_size=2, page_token=first.next_page_token), metadata=BOB
    )
    assert [p.pipeline_id for p in first.pipelines] == mine[:2]
    assert [p.pipeline_id for p in rest.pipelines] == mine[2:]
    assert rest.next_page_token == ""
