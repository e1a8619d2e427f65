"""PaddleFlow's distributed steps (a Kubernetes operator's job: PaddleJob, RayJob, ...)
are refused at CreatePipeline with one violation on the step naming what the form
needs and what to write instead, never "unknown field". Written from PaddleFlow's
example/pipeline/paddle_job_example/run.yaml (commit c466edcb),
example/pipeline/distributed_job_example/run.yaml (e7d14f06; `distributed_jobs` before
922ec5ed) and pkg/common/schema/parser.go's `distributed_job` (e7d14f06)."""

from __future__ import annotations

import grpc
import pytest

from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.workflow.conftest import field_violations
from tests.workflow.paddleflow import pipeline


async def refusal(workflows: rpc.WorkflowServiceStub, text: str) -> dict[str, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await workflows.CreatePipeline(rr.CreatePipelineRequest(pipeline_yaml=text))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    return field_violations(caught.value)


async def test_paddle_like_env_form_is_refused_naming_the_paddlejob_operator(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    # pipelines/paddle_like (mirrors paddle_job_example): command "", PF_JOB_TYPE
    # distributed, PF_JOB_FRAMEWORK paddle, PF_JOB_MODE PS, PD_JOB_* sizes
    violations = await refusal(workflows, pipeline("paddle_like"))
    assert list(violations) == ["entry_points.learn"]
    problem = violations["entry_points.learn"]
    assert "distributed paddle job" in problem and "PF_JOB_MODE 'PS'" in problem
    assert "PaddleJob operator" in problem and "give the step a command" in problem


async def test_split_roles_distributed_job_is_refused_on_that_field(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    # pipelines/split_roles (mirrors distributed_job_example): `distributed_job` with
    # framework paddle and pserver / pworker members; the plain step before it is fine.
    violations = await refusal(workflows, pipeline("split_roles"))
    assert list(violations) == ["entry_points.learn.distributed_job"]
    problem = violations["entry_points.learn.distributed_job"]
    assert problem.startswith(
        "distributed_job framework 'paddle' (members pserver x2, pworker x2) needs a "
        "Kubernetes PaddleJob operator"
    )
    assert "echo serving" in problem  # a member's command, as what to run instead


@pytest.mark.parametrize(
    ("field", "framework", "operator"),
    [
        ("distributed_jobs", "paddle", "PaddleJob operator"),  # PaddleFlow's first spelling
        ("distributed_job", "ray", "KubeRay operator"),  # no Ray command to run either
        ("distributed_job", "horovod", "operator for that framework"),
    ],
)
async def test_each_distributed_job_form_is_refused_from_one_table(
    workflows: rpc.WorkflowServiceStub, field: str, framework: str, operator: str
) -> None:
    text = (
        "name: p\nentry_points:\n  learn:\n"
        f"    {field}:\n      framework: {framework}\n"
        "      members: [{role: worker, replicas: 2, command: 'python learn.py'}]\n"
    )
    violations = await refusal(workflows, text)
    assert list(violations) == [f"entry_points.learn.{field}"]
    assert (
        f"framework '{framework}' (members worker x2) needs"
        in violations[f"entry_points.learn.{field}"]
    )
    assert operator in violations[f"entry_points.learn.{field}"]


async def test_a_distributed_job_that_is_no_mapping_says_so(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    text = "name: p\nentry_points:\n  learn: {command: 'true', distributed_job: paddle}\n"
    violations = await refusal(workflows, text)
    assert violations == {
        "entry_points.learn.distributed_job": (
            "distributed_job must be a mapping of framework and members, got 'paddle'"
        )
    }
