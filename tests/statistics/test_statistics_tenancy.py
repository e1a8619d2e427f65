"""A run's statistics are its owner's: another tenant's request answers exactly as for a
run that does not exist."""

from __future__ import annotations

import grpc
import pytest

from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.security.sandboxing import ALICE, BOB, OPS, Metadata, one_step, run_to_end
from tests.statistics.conftest import SLEEP


async def _refusal(
    stub: rpc.WorkflowServiceStub, run_id: str, metadata: Metadata
) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetStepStatistics(rr.GetStepStatisticsRequest(run_id=run_id), metadata=metadata)
    return caught.value.code(), (caught.value.details() or "").replace(run_id, "<id>")


async def test_another_tenant_cannot_read_a_runs_statistics(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    run = await run_to_end(workflows, one_step(SLEEP), ALICE)

    foreign = await _refusal(workflows, run.run_id, BOB)
    missing = await _refusal(workflows, "run-00000000", BOB)

    assert foreign == missing
    assert foreign[0] == grpc.StatusCode.NOT_FOUND


async def test_the_owner_and_an_operator_read_them(workflows: rpc.WorkflowServiceStub) -> None:
    run = await run_to_end(workflows, one_step(SLEEP), ALICE)

    for metadata in (ALICE, OPS):
        reply = await workflows.GetStepStatistics(
            rr.GetStepStatisticsRequest(run_id=run.run_id), metadata=metadata
        )
        assert [entry.step_name for entry in reply.statistics] == ["probe"]
