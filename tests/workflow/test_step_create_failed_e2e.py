"""A step whose process cannot be started is create_failed (ModelArts' status for a
launch that failed), with the reason, and can be retried like a failed one."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import step_execution_request_response_pb2 as sr
from dagwire.v1 import step_execution_service_pb2_grpc as srpc
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.workflow.conftest import run_status, run_yaml, wait_finished

MISSING = "/nonexistent/dagwire-no-such-binary"


@pytest.fixture
def app_images_file(tmp_path: Path) -> Path:
    path = tmp_path / "images.yaml"
    path.write_text(f"images:\n  missing:\n    command: [{MISSING}]\n")
    return path


@pytest.fixture
def steps(channel: grpc.aio.Channel) -> srpc.StepExecutionServiceStub:
    return srpc.StepExecutionServiceStub(channel)


async def test_a_step_whose_process_cannot_start_is_create_failed(
    workflows: rpc.WorkflowServiceStub, steps: srpc.StepExecutionServiceStub
) -> None:
    run_id = (
        await run_yaml(workflows, "name: m\nentry_points:\n  a: {app_image: missing}\n")
    ).run_id
    assert run_status(await wait_finished(workflows, run_id)) == "RUN_STATUS_FAILED"
    step = (
        await steps.GetStepExecution(sr.GetStepExecutionRequest(run_id=run_id, step_name="a"))
    ).step_execution
    assert step.status == enums.STEP_EXECUTION_STATUS_CREATE_FAILED
    assert step.error_info.error_code == "CREATE_FAILED"
    assert MISSING in step.error_info.error_message
    assert step.events[-1].endswith("change status from creating to create_failed")
    listed = await steps.ListStepExecutions(
        sr.ListStepExecutionsRequest(run_id=run_id, filter="status=create_failed")
    )
    assert [s.step_name for s in listed.step_executions] == ["a"]
