"""A run that a user's continue let past a failed step ends succeeded, and its run
message names the step it went past (the status alone would hide the failure)."""

from __future__ import annotations

import grpc

from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import step_execution_request_response_pb2 as sr
from dagwire.v1 import step_execution_service_pb2_grpc as srpc
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import assert_eventually
from tests.workflow.conftest import run_status, run_yaml, wait_finished

LENIENT = """
name: lenient
entry_points:
  flaky: {command: "exit 2", policy: {execution_policy: continue}}
  after: {command: "echo after", deps: flaky}
"""


async def test_a_run_continued_past_a_failed_step_says_so_in_its_message(
    workflows: rpc.WorkflowServiceStub, channel: grpc.aio.Channel
) -> None:
    steps = srpc.StepExecutionServiceStub(channel)
    run_id = (await run_yaml(workflows, LENIENT)).run_id

    async def flaky() -> sr.GetStepExecutionResponse:
        return await steps.GetStepExecution(
            sr.GetStepExecutionRequest(run_id=run_id, step_name="flaky")
        )

    await assert_eventually(
        flaky, lambda got: got.step_execution.status == enums.STEP_EXECUTION_STATUS_HOLD
    )
    await steps.ActOnStepExecution(
        sr.ActOnStepExecutionRequest(
            run_id=run_id, step_name="flaky", action=enums.STEP_ACTION_CONTINUE
        )
    )
    done = await wait_finished(workflows, run_id)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED"
    assert "continued past failed steps" in done.run_msg and "flaky" in done.run_msg
