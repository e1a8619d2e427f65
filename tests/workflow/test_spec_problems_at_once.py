"""Every problem of a spec comes back in one answer: a failed field check does not hide
a cycle or a bad reference."""

from __future__ import annotations

import grpc
import pytest

from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.workflow.conftest import field_violations
from tests.workflow.paddleflow import spec_file


async def violations(workflows: rpc.WorkflowServiceStub, text: str) -> dict[str, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await workflows.CreatePipeline(rr.CreatePipelineRequest(pipeline_yaml=text))
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    return field_violations(caught.value)


async def test_the_cycle_testcase_reports_its_cycle(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    # testcases/cycle.yaml (mirrors PaddleFlow's pkg/pipeline/testcase/runCircle.yaml):
    # a `path` parameter and a two-step cycle
    found = await violations(workflows, spec_file("cycle"))
    cycle = [text for text in found.values() if "dependency cycle" in text]
    assert len(cycle) == 1 and "ingest" in cycle[0] and "learn" in cycle[0], found


TYPE_CYCLE_REFERENCE = """
name: many
entry_points:
  a:
    command: "echo {{x}}"
    deps: b
    parameters: {x: {type: int, default: 0.5}}
  b:
    command: "echo {{nowhere}}"
    deps: a
  c:
    command: "true"
    deps: missing
    timeout: soon
"""


async def test_a_type_error_a_cycle_an_unknown_dep_and_a_bad_reference_come_back_together(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    found = await violations(workflows, TYPE_CYCLE_REFERENCE)
    assert "entry_points.a.parameters.x.default" in found
    assert any("dependency cycle" in text for text in found.values()), found
    assert "unknown step" in found["entry_points.c.deps"]
    assert "entry_points.c.timeout" in found
    assert "nowhere" in found["entry_points.b.command"]
