"""A caller bound to a domain sees and acts only on jobs its domain is a party of.

Every domain here requires approval, so jobs wait in AwaitingApproval without running
anything, and any operation that got through would visibly change them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from tests.auth.conftest import ALICE, BOB, OPS, create, error_reason, job

Stub = job_pb2_grpc.JobServiceStub
Op = Callable[[Stub, str], Awaitable[Any]]
ACCEPT = pb.APPROVE_RESULT_ACCEPT


@pytest.fixture
def approval_domains() -> frozenset[str]:
    return frozenset({"alice", "bob"})


async def approvals(stub: Stub, job_id: str) -> tuple[str, list[tuple[str, str]]]:
    """The job's state and per-domain approvals, as an operator sees them."""
    response = await stub.QueryJob(pb.QueryJobRequest(job_id=job_id), metadata=OPS)
    assert response.status.code == 0, response.status.message
    status = response.data.status
    return status.state, [(a.domain_id, a.state) for a in status.approve_status_list]


AS_ALICE: dict[str, Op] = {
    "query": lambda s, j: s.QueryJob(pb.QueryJobRequest(job_id=j), metadata=ALICE),
    "batch-query": lambda s, j: s.BatchQueryJobStatus(
        pb.BatchQueryJobStatusRequest(job_ids=["alices", j]), metadata=ALICE
    ),
    "stop": lambda s, j: s.StopJob(pb.StopJobRequest(job_id=j), metadata=ALICE),
    "suspend": lambda s, j: s.SuspendJob(pb.SuspendJobRequest(job_id=j), metadata=ALICE),
    "restart": lambda s, j: s.RestartJob(pb.RestartJobRequest(job_id=j), metadata=ALICE),
    "cancel": lambda s, j: s.CancelJob(pb.CancelJobRequest(job_id=j), metadata=ALICE),
    "delete": lambda s, j: s.DeleteJob(pb.DeleteJobRequest(job_id=j), metadata=ALICE),
    "approve": lambda s, j: s.ApproveJob(
        pb.ApproveJobRequest(job_id=j, result=ACCEPT), metadata=ALICE
    ),
}


@pytest.mark.parametrize("operation", AS_ALICE.values(), ids=AS_ALICE.keys())
async def test_alice_gets_the_missing_answer_on_a_bob_only_job_and_it_stays_unchanged(
    stub: Stub, operation: Op
) -> None:
    await create(stub, job("alices", "alice"))
    await create(stub, job("bobs", "bob"))
    before = await approvals(stub, "bobs")
    response = await operation(stub, "bobs")
    missing = await operation(stub, "bobz")
    # Byte for byte the answer about a job that does not exist: nothing tells alice
    # that bob's job id is taken.
    assert response.status.message == "job 'bobs' does not exist"
    assert response.status.SerializeToString() == missing.status.SerializeToString().replace(
        b"bobz", b"bobs"
    )
    assert error_reason(response.status) == "JOB_NOT_FOUND"
    assert (
        await approvals(stub, "bobs")
        == before
        == ("AwaitingApproval", [("bob", "JobAwaitingApproval")])
    )


async def test_alice_cannot_create_a_job_she_is_no_party_of(stub: Stub) -> None:
    response = await stub.CreateJob(job("for-bob", "bob"), metadata=ALICE)
    assert response.status.code == 11102
    assert response.status.message == "domain 'alice' is not a party of job 'for-bob'"
    missing = await stub.QueryJob(pb.QueryJobRequest(job_id="for-bob"), metadata=OPS)
    assert missing.status.code == 11202


async def test_alice_acts_on_a_job_she_shares_with_bob(stub: Stub) -> None:
    await create(stub, job("shared", "bob", "alice"), BOB)
    response = await stub.CancelJob(pb.CancelJobRequest(job_id="shared"), metadata=ALICE)
    assert response.status.code == 0, response.status.message
    assert (await approvals(stub, "shared"))[0] == "Cancelled"


async def test_alices_approval_decides_only_for_alice(stub: Stub) -> None:
    await create(stub, job("shared", "alice", "bob"), ALICE)
    request = pb.ApproveJobRequest(job_id="shared", result=ACCEPT)
    response = await stub.ApproveJob(request, metadata=ALICE)
    assert response.status.code == 0, response.status.message
    assert await approvals(stub, "shared") == (
        "AwaitingApproval",
        [("alice", "JobAccepted"), ("bob", "JobAwaitingApproval")],
    )


async def test_alice_cannot_approve_for_bob(stub: Stub) -> None:
    await create(stub, job("shared", "alice", "bob"), ALICE)
    request = pb.ApproveJobRequest(job_id="shared", result=ACCEPT, domain_id="bob")
    response = await stub.ApproveJob(request, metadata=ALICE)
    assert response.status.code == 11102
    assert response.status.message == "domain 'alice' cannot decide an approval for domain 'bob'"
    assert (await approvals(stub, "shared"))[1] == [
        ("alice", "JobAwaitingApproval"),
        ("bob", "JobAwaitingApproval"),
    ]


async def test_an_operator_sees_and_acts_on_every_job(stub: Stub) -> None:
    await create(stub, job("bobs", "bob"), BOB)
    seen = await stub.QueryJob(pb.QueryJobRequest(job_id="bobs"), metadata=OPS)
    assert seen.status.code == 0 and seen.data.job_id == "bobs"
    request = pb.ApproveJobRequest(job_id="bobs", result=ACCEPT, domain_id="bob")
    approved = await stub.ApproveJob(request, metadata=OPS)
    assert approved.status.code == 0, approved.status.message


async def test_list_jobs_shows_alice_only_the_jobs_she_is_a_party_of(stub: Stub) -> None:
    await create(stub, job("alices", "alice"))
    await create(stub, job("bobs", "bob"))
    await create(stub, job("shared", "bob", "alice"), BOB)
    mine = await stub.ListJobs(pb.ListJobsRequest(), metadata=ALICE)
    everyone = await stub.ListJobs(pb.ListJobsRequest(), metadata=OPS)
    assert [j.job_id for j in mine.data.jobs] == ["alices", "shared"]
    assert [j.job_id for j in everyone.data.jobs] == ["alices", "bobs", "shared"]


async def test_list_jobs_refuses_an_unknown_state_in_band(stub: Stub) -> None:
    response = await stub.ListJobs(pb.ListJobsRequest(states=["Sleeping"]), metadata=OPS)
    assert response.status.code == 11100
    assert "unknown job state 'Sleeping'" in response.status.message
