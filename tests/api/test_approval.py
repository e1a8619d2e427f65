"""Approval: domains configured to require it hold a job until they accept it."""

from __future__ import annotations

import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from tests.api.conftest import create_ok, job_request, query, sleeping, wait_for_state

Stub = job_pb2_grpc.JobServiceStub


@pytest.fixture
def approval_domains() -> frozenset[str]:
    return frozenset({"bob"})


def approve(job_id: str, result: int, domain: str = "", reason: str = "") -> pb.ApproveJobRequest:
    return pb.ApproveJobRequest(job_id=job_id, result=result, domain_id=domain, reason=reason)  # type: ignore[arg-type]


async def test_a_job_with_a_party_requiring_approval_waits_for_it(stub: Stub) -> None:
    await create_ok(stub, job_request("needs-ok", sleeping("t", 0)))
    status = (await query(stub, "needs-ok")).data.status
    assert status.state == "AwaitingApproval"
    # Every party is listed, as Kuscia does; alice has nothing to approve.
    assert [(a.domain_id, a.state) for a in status.approve_status_list] == [
        ("alice", "JobAccepted"),
        ("bob", "JobAwaitingApproval"),
    ]
    assert [t.state for t in status.tasks] == ["Pending"]


async def test_accept_runs_the_job(stub: Stub) -> None:
    await create_ok(stub, job_request("accepted", sleeping("t", 0)))
    response = await stub.ApproveJob(approve("accepted", pb.APPROVE_RESULT_ACCEPT, "bob"))
    assert response.status.code == 0 and response.data.job_id == "accepted"
    done = await wait_for_state(stub, "accepted", "Succeeded")
    assert [(a.domain_id, a.state) for a in done.data.status.approve_status_list] == [
        ("alice", "JobAccepted"),
        ("bob", "JobAccepted"),
    ]


async def test_reject_ends_in_approval_reject(stub: Stub) -> None:
    await create_ok(stub, job_request("rejected", sleeping("t", 0)))
    response = await stub.ApproveJob(
        approve("rejected", pb.APPROVE_RESULT_REJECT, "bob", "no data today")
    )
    assert response.status.code == 0
    status = (await query(stub, "rejected")).data.status
    assert status.state == "ApprovalReject"
    assert status.err_msg == "rejected by bob: no data today"
    assert [t.state for t in status.tasks] == ["Pending"]


async def test_approval_of_a_job_not_awaiting_it_returns_11206(stub: Stub) -> None:
    await create_ok(stub, job_request("twice", sleeping("t", 0)))
    await stub.ApproveJob(approve("twice", pb.APPROVE_RESULT_ACCEPT))
    await wait_for_state(stub, "twice", "Succeeded")
    response = await stub.ApproveJob(approve("twice", pb.APPROVE_RESULT_REJECT))
    assert response.status.code == 11206 and "not awaiting approval" in response.status.message


async def test_approval_by_a_domain_that_need_not_approve_is_refused(stub: Stub) -> None:
    await create_ok(stub, job_request("wrong-party", sleeping("t", 0)))
    response = await stub.ApproveJob(approve("wrong-party", pb.APPROVE_RESULT_ACCEPT, "alice"))
    assert (
        response.status.code == 11206
        and "'alice' has no pending approval" in response.status.message
    )
    assert (await query(stub, "wrong-party")).data.status.state == "AwaitingApproval"


async def test_an_unknown_approve_result_is_invalid(stub: Stub) -> None:
    await create_ok(stub, job_request("unknown-result", sleeping("t", 0)))
    response = await stub.ApproveJob(approve("unknown-result", pb.APPROVE_RESULT_UNKNOWN))
    assert response.status.code == 11100
    response = await stub.ApproveJob(approve("unknown-result", 7))
    assert response.status.code == 11100 and "got 7" in response.status.message


async def test_suspend_while_awaiting_approval_is_refused_with_11210(stub: Stub) -> None:
    # Kuscia suspends only a Running job (job_service.go SuspendJob).
    await create_ok(stub, job_request("suspend-waiting", sleeping("t", 0)))
    response = await stub.SuspendJob(pb.SuspendJobRequest(job_id="suspend-waiting"))
    assert response.status.code == 11210
    assert "only Running jobs can be suspended" in response.status.message
    assert (await query(stub, "suspend-waiting")).data.status.state == "AwaitingApproval"
