"""What the tenancy tests share: a token file binding tok-alice to alice, tok-bob to bob
and an operator token; alice's world (a pipeline, a finished run with its cache entry,
artifact and log, a held run, a schedule, a Kuscia job); and the comparison of an answer
about alice's resource with the answer about a missing one."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import grpc
from google.protobuf.message import Message

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as kpb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from dagwire.server.config import ServerConfig
from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import step_execution_request_response_pb2 as sr
from dagwire.v1 import step_execution_service_pb2_grpc as srpc
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import assert_eventually

ALICE_TOKEN = "tok-alice"
BOB_TOKEN = "tok-bob"
OPS_TOKEN = "tok-ops"
ALICE_ML_TOKEN = "tok-alice-ml"  # another user of domain alice

Metadata = tuple[tuple[str, str], ...]
ALICE: Metadata = (("token", ALICE_TOKEN),)
ALICE_ML: Metadata = (("token", ALICE_ML_TOKEN),)
BOB: Metadata = (("token", BOB_TOKEN),)
OPS: Metadata = (("token", OPS_TOKEN),)

TRAIN = """
name: train
cache: {enable: true, max_expired_time: -1}
entry_points:
  make: {command: "echo alice-secret; echo model > {{model}}", artifacts: {output: [model]}}
"""
GATE = "name: gate\nentry_points:\n  gate: {command: 'true', hold: true}\n"
FINISHED = (enums.RUN_STATUS_SUCCEEDED, enums.RUN_STATUS_FAILED, enums.RUN_STATUS_TERMINATED)


def with_tokens(config: ServerConfig, folder: Path, **changes: object) -> ServerConfig:
    tokens = folder / "tokens.yaml"
    tokens.write_text(
        "tokens:\n"
        f"  - {{token: {ALICE_TOKEN}, domain: alice}}\n"
        f"  - {{token: {BOB_TOKEN}, domain: bob}}\n"
        f"  - {{token: {OPS_TOKEN}, name: ops}}\n"
        f"  - {{token: {ALICE_ML_TOKEN}, domain: alice, user: ml}}\n"
        # Both tenants may run free command steps (sandboxed): what is under test here is
        # whose resources they see, not whether they may run commands.
        "command_domains: [alice, bob]\n"
    )
    return dataclasses.replace(config, token_file=tokens, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class World:
    """alice's resources, by kind."""

    pipeline_id: str
    run_id: str  # finished: it left a cache entry, an artifact and a log
    held_run_id: str  # running, its step held
    cache_id: str
    schedule_id: str
    job_id: str


async def build_world(channel: grpc.aio.Channel) -> World:
    workflows = rpc.WorkflowServiceStub(channel)
    created = await workflows.CreatePipeline(
        rr.CreatePipelineRequest(pipeline_yaml=TRAIN), metadata=ALICE
    )
    pipeline_id = created.pipeline.pipeline_id
    run = (
        await workflows.CreateRun(rr.CreateRunRequest(pipeline_id=pipeline_id), metadata=ALICE)
    ).run
    await assert_eventually(
        lambda: workflows.GetRun(rr.GetRunRequest(run_id=run.run_id), metadata=ALICE),
        lambda answer: answer.run.status == enums.RUN_STATUS_SUCCEEDED,
        timeout=20,
    )
    held = (await workflows.CreateRun(rr.CreateRunRequest(run_yaml=GATE), metadata=ALICE)).run
    cache = await workflows.ListCacheEntries(rr.ListCacheEntriesRequest(), metadata=ALICE)
    schedule = await workflows.CreateSchedule(
        rr.CreateScheduleRequest(name="nightly", pipeline_id=pipeline_id, crontab="0 3 * * *"),
        metadata=ALICE,
    )
    jobs = job_pb2_grpc.JobServiceStub(channel)
    task = kpb.Task(
        alias="t",
        app_image="dagwire-sleep",
        parties=[kpb.Party(domain_id="alice", role="partner")],
        task_input_config=json.dumps({"sleep_seconds": 60}),
    )
    answer = await jobs.CreateJob(
        kpb.CreateJobRequest(job_id="alice-job-1", initiator="alice", tasks=[task]),
        metadata=ALICE,
    )
    assert answer.status.code == 0, answer.status.message
    assert len(cache.cache_entries) == 1
    return World(
        pipeline_id=pipeline_id,
        run_id=run.run_id,
        held_run_id=held.run_id,
        cache_id=cache.cache_entries[0].cache_id,
        schedule_id=schedule.schedule.schedule_id,
        job_id="alice-job-1",
    )


def twin(resource_id: str) -> str:
    """An id of the same length that names nothing: the missing counterpart."""
    return resource_id[:-1] + ("0" if resource_id[-1] != "0" else "1")


STATUS_DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True)
class Refusal:
    """What a failed gRPC call answered: code, message and the rich status bytes."""

    code: grpc.StatusCode
    message: str
    details: bytes

    def naming(self, old: str, new: str) -> Refusal:
        """The same answer with one id put for another (ids of equal length)."""
        return Refusal(
            self.code,
            self.message.replace(old, new),
            self.details.replace(old.encode(), new.encode()),
        )


def refusal(error: grpc.aio.AioRpcError) -> Refusal:
    trailing: Mapping[str, str | bytes] = dict(error.trailing_metadata() or ())
    details = trailing.get(STATUS_DETAILS_KEY, b"")
    assert isinstance(details, bytes)
    return Refusal(error.code(), error.details() or "", details)


def step_stub(channel: grpc.aio.Channel) -> srpc.StepExecutionServiceStub:
    return srpc.StepExecutionServiceStub(channel)


@dataclass(frozen=True)
class Probe:
    """One call naming one of alice's resources by id: what bob tries."""

    label: str
    service: str  # "workflow" or "step"
    rpc: str
    kind: str  # which of World's ids it names: pipeline, run, finished_run, cache, schedule
    request: Callable[[str], Message]


def _step_action(action: int) -> Callable[[str], Message]:
    return lambda i: sr.ActOnStepExecutionRequest(run_id=i, step_name="gate", action=action)


_RUN_PROBES: list[tuple[str, str, str, Callable[[str], Message]]] = [
    ("GetRun", "workflow", "GetRun", lambda i: rr.GetRunRequest(run_id=i)),
    ("StopRun", "workflow", "StopRun", lambda i: rr.StopRunRequest(run_id=i)),
    ("RetryRun", "workflow", "RetryRun", lambda i: rr.RetryRunRequest(run_id=i)),
    ("DeleteRun", "workflow", "DeleteRun", lambda i: rr.DeleteRunRequest(run_id=i)),
    (
        "CreateRun from a run",
        "workflow",
        "CreateRun",
        lambda i: rr.CreateRunRequest(source_run_id=i),
    ),
    ("GetRunLog", "workflow", "GetRunLog", lambda i: rr.GetRunLogRequest(run_id=i)),
    (
        "GetStepStatistics",
        "workflow",
        "GetStepStatistics",
        lambda i: rr.GetStepStatisticsRequest(run_id=i),
    ),
    (
        "TailRunLog",
        "workflow",
        "TailRunLog",
        lambda i: rr.TailRunLogRequest(run_id=i, step_name="gate", timeout_seconds=5),
    ),
    (
        "GetStepExecution",
        "step",
        "GetStepExecution",
        lambda i: sr.GetStepExecutionRequest(run_id=i, step_name="gate"),
    ),
    (
        "ListStepExecutions",
        "step",
        "ListStepExecutions",
        lambda i: sr.ListStepExecutionsRequest(run_id=i),
    ),
    ("stop a step", "step", "ActOnStepExecution", _step_action(enums.STEP_ACTION_STOP)),
    ("retry a step", "step", "ActOnStepExecution", _step_action(enums.STEP_ACTION_RETRY)),
    ("continue a step", "step", "ActOnStepExecution", _step_action(enums.STEP_ACTION_CONTINUE)),
    (
        "WatchStepExecutions",
        "step",
        "WatchStepExecutions",
        lambda i: sr.WatchStepExecutionsRequest(run_id=i, timeout_seconds=5),
    ),
]

PROBES: list[Probe] = [
    Probe(
        "GetPipeline",
        "workflow",
        "GetPipeline",
        "pipeline",
        lambda i: rr.GetPipelineRequest(pipeline_id=i),
    ),
    Probe(
        "UpdatePipeline",
        "workflow",
        "UpdatePipeline",
        "pipeline",
        lambda i: rr.UpdatePipelineRequest(pipeline_id=i, pipeline_yaml=TRAIN),
    ),
    Probe(
        "DeletePipeline",
        "workflow",
        "DeletePipeline",
        "pipeline",
        lambda i: rr.DeletePipelineRequest(pipeline_id=i),
    ),
    Probe(
        "GetPipelineVersion",
        "workflow",
        "GetPipelineVersion",
        "pipeline",
        lambda i: rr.GetPipelineVersionRequest(pipeline_id=i, pipeline_version_id="1"),
    ),
    Probe(
        "DeletePipelineVersion",
        "workflow",
        "DeletePipelineVersion",
        "pipeline",
        lambda i: rr.DeletePipelineVersionRequest(pipeline_id=i, pipeline_version_id="1"),
    ),
    Probe(
        "CreateRun of a pipeline",
        "workflow",
        "CreateRun",
        "pipeline",
        lambda i: rr.CreateRunRequest(pipeline_id=i),
    ),
    Probe(
        "CreateSchedule of a pipeline",
        "workflow",
        "CreateSchedule",
        "pipeline",
        lambda i: rr.CreateScheduleRequest(name="probe", pipeline_id=i, crontab="0 3 * * *"),
    ),
    *(Probe(label, service, name, "run", make) for label, service, name, make in _RUN_PROBES),
    # The finished run too: retry and delete are allowed on it, were it bob's.
    *(
        Probe(f"{label} (finished run)", service, name, "finished_run", make)
        for label, service, name, make in _RUN_PROBES
    ),
    Probe(
        "GetCacheEntry",
        "workflow",
        "GetCacheEntry",
        "cache",
        lambda i: rr.GetCacheEntryRequest(cache_id=i),
    ),
    Probe(
        "DeleteCacheEntry",
        "workflow",
        "DeleteCacheEntry",
        "cache",
        lambda i: rr.DeleteCacheEntryRequest(cache_id=i),
    ),
    Probe(
        "GetSchedule",
        "workflow",
        "GetSchedule",
        "schedule",
        lambda i: rr.GetScheduleRequest(schedule_id=i),
    ),
    Probe(
        "StopSchedule",
        "workflow",
        "StopSchedule",
        "schedule",
        lambda i: rr.StopScheduleRequest(schedule_id=i),
    ),
    Probe(
        "DeleteSchedule",
        "workflow",
        "DeleteSchedule",
        "schedule",
        lambda i: rr.DeleteScheduleRequest(schedule_id=i),
    ),
]


def target(world: World, probe: Probe) -> str:
    """The id of alice's resource the probe names."""
    return {
        "pipeline": world.pipeline_id,
        "run": world.held_run_id,
        "finished_run": world.run_id,
        "cache": world.cache_id,
        "schedule": world.schedule_id,
    }[probe.kind]
