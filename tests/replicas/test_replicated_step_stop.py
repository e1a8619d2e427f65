"""On replicas, a stop that ends a run lets the run go (it is no replica's to run any
more), yet its step's process exits on the replica that ran it: that replica records
the exit, so the step goes from stopping to stopped, seen from any replica."""

from __future__ import annotations

import pytest

from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import step_execution_request_response_pb2 as sr
from dagwire.v1 import step_execution_service_pb2_grpc as srpc
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import assert_eventually
from tests.replicas.conftest import Replicas, explained

RUN = 'name: r\nentry_points:\n  long: {command: "sleep 60"}\n'


@pytest.mark.timeout(60)
async def test_a_step_stopped_on_a_replica_ends_stopped_after_its_run_has_ended(
    replicas: Replicas,
) -> None:
    replicas.start(2)
    steps = [srpc.StepExecutionServiceStub(channel) for channel in replicas.channels]
    workflows = rpc.WorkflowServiceStub(replicas.channels[0])

    async def status(through: int) -> str:
        request = sr.GetStepExecutionRequest(run_id=run_id, step_name="long")
        step = (await steps[through].GetStepExecution(request)).step_execution
        return enums.StepExecutionStatus.Name(step.status)

    with explained(replicas):
        run_id = (await workflows.CreateRun(rr.CreateRunRequest(run_yaml=RUN))).run.run_id
        await assert_eventually(
            lambda: status(1),
            lambda s: s == "STEP_EXECUTION_STATUS_RUNNING",
            timeout=15,
            what="the step to run",
        )
        stop = sr.ActOnStepExecutionRequest(
            run_id=run_id, step_name="long", action=enums.STEP_ACTION_STOP
        )
        answer = (await steps[1].ActOnStepExecution(stop)).step_execution
        assert answer.status == enums.STEP_EXECUTION_STATUS_STOPPING
        await assert_eventually(
            lambda: status(1),
            lambda s: s == "STEP_EXECUTION_STATUS_STOPPED",
            timeout=15,
            what="the step's exit to be recorded",
        )
