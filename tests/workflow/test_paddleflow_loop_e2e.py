"""PaddleFlow's loop_argument given as a list: the step runs once per item, as `step`,
`step-1`, ... (PaddleFlow's runtime names), each with its item in {{PF_LOOP_ARGUMENT}}
and the PF_LOOP_ARGUMENT variable; what depends on the step waits for every run."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.workflow.conftest import (
    field_violations,
    run_status,
    run_yaml,
    step_statuses,
    wait_finished,
)
from tests.workflow.paddleflow import pipeline

LOOP = """
name: loop
entry_points:
  process:
    command: "echo {{PF_LOOP_ARGUMENT}}=$PF_LOOP_ARGUMENT >> %(work)s/items"
    loop_argument: [3, -1, "a b"]
  positive:
    command: "echo {{PF_LOOP_ARGUMENT}} >> %(work)s/positive"
    loop_argument: "[4, -2]"
    condition: "{{PF_LOOP_ARGUMENT}} > 0"
  after:
    deps: process
    command: "echo after >> %(work)s/items"
"""


async def test_a_loop_runs_its_step_once_per_item(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    run = await run_yaml(workflows, LOOP % {"work": work_dir})
    done = await wait_finished(workflows, run.run_id)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert step_statuses(done) == {
        "process": "STEP_STATUS_SUCCEEDED",
        "process-1": "STEP_STATUS_SUCCEEDED",
        "process-2": "STEP_STATUS_SUCCEEDED",
        "positive": "STEP_STATUS_SUCCEEDED",
        "positive-1": "STEP_STATUS_SKIPPED",
        "after": "STEP_STATUS_SUCCEEDED",
    }
    lines = (work_dir / "items").read_text().splitlines()
    assert sorted(lines[:3]) == sorted(["3=3", "-1=-1", "a b=a b"]) and lines[3] == "after"
    assert (work_dir / "positive").read_text().split() == ["4"]
    after = next(step for step in done.steps if step.name == "after")
    assert list(after.deps) == ["process", "process-1", "process-2"]


async def test_loop_list_pipeline_runs_each_item_then_the_step_after(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    # pipelines/loop_list (mirrors a loop_argument list as in PaddleFlow's
    # example/pipeline/loop_example and docs/zh_cn/reference/pipeline/yaml_definition/9_loop.md)
    done = await wait_finished(workflows, (await run_yaml(workflows, pipeline("loop_list"))).run_id)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert step_statuses(done) == dict.fromkeys(
        ["shard", "shard-1", "shard-2", "merge"], "STEP_STATUS_SUCCEEDED"
    )
    merge = next(step for step in done.steps if step.name == "merge")
    assert list(merge.deps) == ["shard", "shard-1", "shard-2"]


async def test_a_loop_over_a_parameter_is_refused_for_now(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    text = (
        "name: p\nentry_points:\n"
        "  a: {command: 'true', loop_argument: '{{nums}}', parameters: {nums: '[1]'}}\n"
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await run_yaml(workflows, text)
    assert "not supported" in field_violations(caught.value)["entry_points.a.loop_argument"]
