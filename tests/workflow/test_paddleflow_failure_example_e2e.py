"""PaddleFlow's failure_options_and_post_process_example ends in its designed failure:
with strategy continue, step4 fails, step5 (after it) is skipped, the other branch and
the post step run."""

from __future__ import annotations

from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.workflow.conftest import run_status, run_yaml, step_statuses, wait_finished
from tests.workflow.paddleflow import example


async def test_failure_options_example_fails_as_designed(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    # example/pipeline/failure_options_and_post_process_example/run.yaml, unchanged
    run = await run_yaml(workflows, example("failure_options_and_post_process_example"))
    done = await wait_finished(workflows, run.run_id, timeout=30)
    assert run_status(done) == "RUN_STATUS_FAILED"
    assert step_statuses(done) == {
        "step1": "STEP_STATUS_SUCCEEDED",
        "step2": "STEP_STATUS_SUCCEEDED",
        "step3": "STEP_STATUS_SUCCEEDED",
        "step4": "STEP_STATUS_FAILED",
        "step5": "STEP_STATUS_SKIPPED",
        "step6": "STEP_STATUS_SUCCEEDED",
    }
