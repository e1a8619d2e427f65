"""Forms PaddleFlow's parser accepts (pkg/common/schema/parser.go, pkg/pipeline/workflow.go,
pkg/pipeline/common/parameterHandler.go and regexHandler.go at the commit named in
tests/data/paddleflow/SOURCE.md) are accepted here with the same meaning."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.workflow.conftest import (
    field_violations,
    run_status,
    run_yaml,
    step_statuses,
    wait_finished,
)
from tests.workflow.paddleflow import example, pkg_file


async def test_pkg_pipeline_testcase_run_yaml_is_accepted(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    # pkg/pipeline/testcase/run.yaml: `path` parameters, main_fs with mount_path,
    # extra_fs, fs_scope, string env values
    answer = await workflows.CreatePipeline(
        rr.CreatePipelineRequest(pipeline_yaml=pkg_file("pipeline/testcase/run.yaml"))
    )
    assert answer.pipeline.name == "myproject"


async def test_pkg_pipeline_testcase_wrong_param_is_rejected_as_paddleflow_does(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    # pkg/pipeline/testcase/runWrongParam.yaml: {{ data-preprocess.xxxinvalid }}
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await workflows.CreatePipeline(
            rr.CreatePipelineRequest(pipeline_yaml=pkg_file("pipeline/testcase/runWrongParam.yaml"))
        )
    assert "xxxinvalid" in field_violations(caught.value)["entry_points.main.parameters.data_file"]


FORMS = """
name: forms
entry_points:
  show:
    command: "echo {{_hidden}} {{count}} {{where}} > %(work)s/show"
    parameters:
      _hidden: underscore
      count: {type: int, default: "10"}
      where: {type: path, default: ./data/in_1}
    cache: {enable: true, max_expired_time: "600"}
"""


async def test_underscore_names_string_ints_and_path_parameters_run(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    run = await run_yaml(workflows, FORMS % {"work": work_dir})
    done = await wait_finished(workflows, run.run_id)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert (work_dir / "show").read_text().split() == ["underscore", "10", "./data/in_1"]


@pytest.mark.parametrize(
    ("parameter", "field"),
    [
        ("{type: path, default: 'a b'}", "entry_points.a.parameters.p.default"),
        ("{type: int, default: 'ten'}", "entry_points.a.parameters.p.default"),
    ],
    ids=["path-with-space", "int-not-a-number"],
)
async def test_a_typed_default_paddleflow_refuses_is_refused(
    workflows: rpc.WorkflowServiceStub, parameter: str, field: str
) -> None:
    text = f"name: p\nentry_points: {{a: {{command: 'true', parameters: {{p: {parameter}}}}}}}\n"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await run_yaml(workflows, text)
    assert field in field_violations(caught.value)


async def test_a_max_expired_time_string_that_is_no_number_is_refused(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    text = "name: p\ncache: {max_expired_time: soon}\nentry_points: {a: {command: 'true'}}\n"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await run_yaml(workflows, text)
    assert "cache.max_expired_time" in field_violations(caught.value)


DISABLED = """
name: disabled
disabled: "b, c"
entry_points:
  a: {command: "echo a >> %(work)s/ran"}
  b: {command: "echo b >> %(work)s/ran"}
  c: {command: "echo c >> %(work)s/ran"}
"""


async def test_top_level_disabled_skips_its_steps(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    done = await wait_finished(
        workflows, (await run_yaml(workflows, DISABLED % {"work": work_dir})).run_id
    )
    assert run_status(done) == "RUN_STATUS_SUCCEEDED"
    assert step_statuses(done) == {
        "a": "STEP_STATUS_SUCCEEDED",
        "b": "STEP_STATUS_SKIPPED",
        "c": "STEP_STATUS_SKIPPED",
    }
    assert (work_dir / "ran").read_text().split() == ["a"]


async def test_a_runs_own_disabled_list_replaces_the_specs(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    run = await run_yaml(workflows, DISABLED % {"work": work_dir}, disabled=["a"])
    done = await wait_finished(workflows, run.run_id)
    assert sorted((work_dir / "ran").read_text().split()) == ["b", "c"]
    assert step_statuses(done)["a"] == "STEP_STATUS_SKIPPED"


async def test_top_level_disabled_naming_no_step_is_refused(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    text = "name: p\ndisabled: nope\nentry_points: {a: {command: 'true'}}\n"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await run_yaml(workflows, text)
    assert "disabled[0]" in field_violations(caught.value)


async def test_ray_job_example_is_refused_naming_what_is_missing(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    # example/pipeline/ray_job_example/run.yaml: command "" and PF_JOB_TYPE distributed
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await run_yaml(workflows, example("ray_job_example"))
    problem = field_violations(caught.value)["entry_points.sample-pi"]
    assert "distributed ray job" in problem and "sample_pi.py" in problem
