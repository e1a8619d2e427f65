"""A lifecycle or approval reason is bounded (MAX_REASON_CHARS), refused with 11100 before
anything is looked up or written. The reason is copied into the job and every task's
message, so an unbounded one multiplied by the job's size: a 3 MB StopJob reason on a
100-task job grew the store by about 600 MB per call, and on the largest job it let in,
the server's memory by 12 GB."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from dagwire.server.api.job_service import MAX_REASON_CHARS
from tests.gateway.conftest import Gateway
from tests.security.bounds_clients import gateway, server_overrides

__all__ = ["gateway", "server_overrides"]  # fixtures

REQUEST_INVALID = 11100
TOO_LONG = "r" * (MAX_REASON_CHARS + 1)
JOB_ID = "reasons-job"

# Each lifecycle call of JobService with the reason it carries.
CALLS: dict[str, Callable[[job_pb2_grpc.JobServiceStub, str], object]] = {
    "StopJob": lambda stub, reason: stub.StopJob(pb.StopJobRequest(job_id=JOB_ID, reason=reason)),
    "SuspendJob": lambda stub, reason: stub.SuspendJob(
        pb.SuspendJobRequest(job_id=JOB_ID, reason=reason)
    ),
    "RestartJob": lambda stub, reason: stub.RestartJob(
        pb.RestartJobRequest(job_id=JOB_ID, reason=reason)
    ),
    "CancelJob": lambda stub, reason: stub.CancelJob(
        pb.CancelJobRequest(job_id=JOB_ID, reason=reason)
    ),
    "ApproveJob": lambda stub, reason: stub.ApproveJob(
        pb.ApproveJobRequest(
            job_id=JOB_ID, result=pb.APPROVE_RESULT_REJECT, reason=reason, domain_id="alice"
        )
    ),
}


async def create_job(stub: job_pb2_grpc.JobServiceStub) -> None:
    answer = await stub.CreateJob(
        pb.CreateJobRequest(
            job_id=JOB_ID,
            initiator="alice",
            tasks=[
                pb.Task(alias="t", app_image="dagwire-noop", parties=[pb.Party(domain_id="alice")])
            ],
        )
    )
    assert answer.status.code == 0, answer.status.message


@pytest.mark.parametrize("call", sorted(CALLS))
async def test_a_reason_over_the_bound_is_request_invalid_naming_the_bound(
    channel: grpc.aio.Channel, call: str
) -> None:
    stub = job_pb2_grpc.JobServiceStub(channel)
    await create_job(stub)
    answer = await CALLS[call](stub, TOO_LONG)  # type: ignore[misc]
    assert answer.status.code == REQUEST_INVALID
    assert f"at most {MAX_REASON_CHARS} characters" in answer.status.message
    query = await stub.QueryJob(pb.QueryJobRequest(job_id=JOB_ID))
    assert TOO_LONG not in str(query)


async def test_a_reason_at_the_bound_is_taken(channel: grpc.aio.Channel) -> None:
    stub = job_pb2_grpc.JobServiceStub(channel)
    await create_job(stub)
    reason = "r" * MAX_REASON_CHARS
    answer = await stub.StopJob(pb.StopJobRequest(job_id=JOB_ID, reason=reason))
    assert answer.status.code == 0, answer.status.message


async def test_a_megabyte_reason_over_http_is_request_invalid(gateway: Gateway) -> None:
    reply = await gateway.post("/api/v1/job/stop", {"job_id": "any-job", "reason": "r" * 1_000_000})
    assert reply.body["status"]["code"] == REQUEST_INVALID
    assert f"at most {MAX_REASON_CHARS} characters" in reply.body["status"]["message"]
