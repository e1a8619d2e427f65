"""ApproveJob over HTTP: the ApproveResult enum by name, as the protobuf JSON mapping
writes it."""

from __future__ import annotations

import pytest

from tests.gateway.conftest import SUCCESS, Gateway, kuscia_create_body

JOB = "job-alice-bob-001"


@pytest.fixture
def approval_domains() -> frozenset[str]:
    return frozenset({"bob"})


async def test_approve_with_the_result_by_name_lets_the_job_run(gateway: Gateway) -> None:
    await gateway.create(kuscia_create_body())
    assert await gateway.state(JOB) == "AwaitingApproval"
    reply = await gateway.post(
        "/api/v1/job/approve", {"job_id": JOB, "result": "APPROVE_RESULT_ACCEPT"}
    )
    assert reply.body == {"status": SUCCESS, "data": {"job_id": JOB}}
    await gateway.wait_for_state(JOB, "Succeeded")


async def test_approve_with_the_result_by_number_rejects_the_job(gateway: Gateway) -> None:
    await gateway.create(kuscia_create_body())
    reply = await gateway.post("/api/v1/job/approve", {"job_id": JOB, "result": 2})
    assert reply.body["status"] == SUCCESS
    assert await gateway.state(JOB) == "ApprovalReject"
