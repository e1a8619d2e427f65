"""pipelines/keep_going (mirrors PaddleFlow's
example/pipeline/failure_options_and_post_process_example) ends in its designed failure:
with strategy continue, flaky fails, after_flaky is skipped, the other chain and the
post_process step run."""

from __future__ import annotations

from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.workflow.conftest import run_status, run_yaml, step_statuses, wait_finished
from tests.workflow.paddleflow import pipeline


async def test_keep_going_pipeline_fails_as_designed(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    run = await run_yaml(workflows, pipeline("keep_going"))
    done = await wait_finished(workflows, run.run_id, timeout=30)
    assert run_status(done) == "RUN_STATUS_FAILED"
    assert step_statuses(done) == {
        "fetch": "STEP_STATUS_SUCCEEDED",
        "clean": "STEP_STATUS_SUCCEEDED",
        "pack": "STEP_STATUS_SUCCEEDED",
        "flaky": "STEP_STATUS_FAILED",
        "after_flaky": "STEP_STATUS_SKIPPED",
        "report": "STEP_STATUS_SUCCEEDED",
    }
