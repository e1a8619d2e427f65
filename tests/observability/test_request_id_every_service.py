"""Every answer names its request id in the trailers, on every service, whether the call
succeeded or failed; the rich status details of an error are kept next to it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2, job_pb2_grpc
from dagwire.v1 import step_execution_request_response_pb2 as sr
from dagwire.v1 import step_execution_service_pb2_grpc as step_rpc
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as workflow_rpc

DETAILS_KEY = "grpc-status-details-bin"
RUN = """
name: one-step
entry_points:
  say: {command: "echo hi"}
"""
Metadata = tuple[tuple[str, str], ...]
Invoke = Callable[[grpc.aio.Channel, Metadata], Awaitable[Any]]


async def job_query(channel: grpc.aio.Channel, md: Metadata) -> Any:
    # In-band answer: gRPC OK with Kuscia's status in the response.
    return job_pb2_grpc.JobServiceStub(channel).QueryJob(
        job_pb2.QueryJobRequest(job_id="missing"), metadata=md
    )


async def job_watch_refused(channel: grpc.aio.Channel, md: Metadata) -> Any:
    return job_pb2_grpc.JobServiceStub(channel).WatchJob(
        job_pb2.WatchJobRequest(timeout_seconds=-1), metadata=md
    )


async def workflow_list(channel: grpc.aio.Channel, md: Metadata) -> Any:
    return workflow_rpc.WorkflowServiceStub(channel).ListPipelines(
        rr.ListPipelinesRequest(), metadata=md
    )


async def workflow_get_missing(channel: grpc.aio.Channel, md: Metadata) -> Any:
    return workflow_rpc.WorkflowServiceStub(channel).GetRun(
        rr.GetRunRequest(run_id="run-missing"), metadata=md
    )


async def workflow_create_invalid(channel: grpc.aio.Channel, md: Metadata) -> Any:
    return workflow_rpc.WorkflowServiceStub(channel).CreateRun(rr.CreateRunRequest(), metadata=md)


async def steps_list(channel: grpc.aio.Channel, md: Metadata) -> Any:
    run = await workflow_rpc.WorkflowServiceStub(channel).CreateRun(
        rr.CreateRunRequest(run_yaml=RUN)
    )
    return step_rpc.StepExecutionServiceStub(channel).ListStepExecutions(
        sr.ListStepExecutionsRequest(run_id=run.run.run_id), metadata=md
    )


async def steps_list_missing(channel: grpc.aio.Channel, md: Metadata) -> Any:
    return step_rpc.StepExecutionServiceStub(channel).ListStepExecutions(
        sr.ListStepExecutionsRequest(run_id="run-missing"), metadata=md
    )


async def health_check(channel: grpc.aio.Channel, md: Metadata) -> Any:
    return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), metadata=md)


async def health_check_unknown(channel: grpc.aio.Channel, md: Metadata) -> Any:
    return health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service="no.such.Service"), metadata=md
    )


# (invoke, the status the call ends with, whether it carries rich status details)
CASES = {
    "JobService-OK": (job_query, grpc.StatusCode.OK, False),
    "JobService-error": (job_watch_refused, grpc.StatusCode.INVALID_ARGUMENT, False),
    "WorkflowService-OK": (workflow_list, grpc.StatusCode.OK, False),
    "WorkflowService-not-found": (workflow_get_missing, grpc.StatusCode.NOT_FOUND, True),
    "WorkflowService-invalid": (workflow_create_invalid, grpc.StatusCode.INVALID_ARGUMENT, True),
    "StepExecutionService-OK": (steps_list, grpc.StatusCode.OK, False),
    "StepExecutionService-error": (steps_list_missing, grpc.StatusCode.NOT_FOUND, True),
    "Health-OK": (health_check, grpc.StatusCode.OK, False),
    "Health-error": (health_check_unknown, grpc.StatusCode.NOT_FOUND, False),
}


@pytest.mark.parametrize("case", CASES)
async def test_the_answer_names_the_request_id(channel: grpc.aio.Channel, case: str) -> None:
    invoke, code, rich = CASES[case]
    call = await invoke(channel, (("x-request-id", f"every-{case}"),))
    assert await call.code() == code
    trailers = dict(await call.trailing_metadata())
    assert trailers["x-request-id"] == f"every-{case}"
    assert (DETAILS_KEY in trailers) == rich
