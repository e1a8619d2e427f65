"""An error's status never outgrows gRPC's metadata limit (16 KiB, and 8 KiB soft): a
spec with thousands of problems lists as many as fit and says how many more there are,
so the caller sees INVALID_ARGUMENT, not RESOURCE_EXHAUSTED; a huge name in a NOT_FOUND
is cut. Before, 8,000 unknown keys answered RESOURCE_EXHAUSTED."""

from __future__ import annotations

import re

import grpc
import pytest
from google.rpc import error_details_pb2

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.gateway.conftest import Gateway
from tests.gateway.workflows import WORKFLOW, details_of
from tests.security.bounds_clients import gateway, server_overrides
from tests.workflow.conftest import status_detail

__all__ = ["gateway", "server_overrides"]  # fixtures

PROBLEMS = 8_000
MANY_PROBLEMS = "name: many\nentry_points: {s: {command: echo}}\n" + "".join(
    f"unknown_{index:05d}_{'k' * 80}: 1\n" for index in range(PROBLEMS)
)


def metadata_bytes(error: grpc.aio.AioRpcError) -> int:
    return sum(len(key) + len(value) for key, value in error.trailing_metadata() or ())


async def test_thousands_of_violations_are_invalid_argument_with_a_count_of_the_rest(
    channel: grpc.aio.Channel,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await rpc.WorkflowServiceStub(channel).CreatePipeline(
            rr.CreatePipelineRequest(pipeline_yaml=MANY_PROBLEMS)
        )
    error = raised.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert metadata_bytes(error) < 8_192
    bad = status_detail(error, error_details_pb2.BadRequest)
    assert bad is not None
    *listed, last = bad.field_violations
    assert listed and all(v.field.startswith("unknown_") for v in listed)
    assert last.description == f"... and {PROBLEMS - len(listed)} more violations"
    assert re.search(r"; \.\.\. and \d{4} more$", error.details()), error.details()[-80:]


async def test_thousands_of_violations_over_http_are_a_400_with_the_count(
    gateway: Gateway,
) -> None:
    reply = await gateway.post(WORKFLOW + "pipeline/create", {"pipeline_yaml": MANY_PROBLEMS})
    assert reply.status == 400
    (bad,) = details_of(reply.body, "BadRequest")
    assert bad["fieldViolations"][-1]["description"].endswith("more violations")


async def test_a_megabyte_run_id_that_does_not_exist_is_not_found(
    channel: grpc.aio.Channel,
) -> None:
    run_id = "r" * 1_000_000
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await rpc.WorkflowServiceStub(channel).GetRun(rr.GetRunRequest(run_id=run_id))
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert len(raised.value.details()) < 400
    assert metadata_bytes(raised.value) < 8_192


async def test_a_megabyte_job_id_gets_a_short_kuscia_message(channel: grpc.aio.Channel) -> None:
    stub = job_pb2_grpc.JobServiceStub(channel)
    answer = await stub.QueryJob(pb.QueryJobRequest(job_id="j" * 1_000_000))
    assert answer.status.code != 0
    assert len(answer.status.message) < 400
