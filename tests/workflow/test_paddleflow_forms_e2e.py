"""Forms PaddleFlow's parser accepts (pkg/common/schema/parser.go, pkg/pipeline/workflow.go,
pkg/pipeline/common/parameterHandler.go and regexHandler.go at PaddleFlow's commit
3ca9ece12d348e7dd3fa75b24e98d30444dc73d0) are accepted here with the same meaning."""

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
from tests.workflow.paddleflow import pipeline, spec_file


async def test_full_spec_testcase_is_accepted(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    # testcases/full_spec.yaml (mirrors PaddleFlow's pkg/pipeline/testcase/run.yaml):
    # `path` parameters, main_fs with mount_path, extra_fs, fs_scope, string env values
    answer = await workflows.CreatePipeline(
        rr.CreatePipelineRequest(pipeline_yaml=spec_file("full_spec"))
    )
    assert answer.pipeline.name == "full_spec"


async def test_wrong_param_testcase_is_rejected_as_paddleflow_does(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    # testcases/wrong_param.yaml (mirrors PaddleFlow's
    # pkg/pipeline/testcase/runWrongParam.yaml): {{ ingest.no_such_output }}
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await workflows.CreatePipeline(
            rr.CreatePipelineRequest(pipeline_yaml=spec_file("wrong_param"))
        )
    problem = field_violations(caught.value)["entry_points.learn.parameters.staged"]
    assert "no_such_output" in problem


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


async def test_ray_like_pipeline_is_refused_naming_what_is_missing(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    # pipelines/ray_like (mirrors PaddleFlow's example/pipeline/ray_job_example):
    # command "" and PF_JOB_TYPE distributed
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await run_yaml(workflows, pipeline("ray_like"))
    problem = field_violations(caught.value)["entry_points.estimate-e"]
    assert "distributed ray job" in problem and "estimate_e.py" in problem
    assert "KubeRay operator" in problem  # what the form needs (workflow.distributed)


async def test_system_variables_paddleflow_dropped_are_refused_saying_so(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    # PaddleFlow's example/pipeline/base_pipeline/run.yaml.multiple (commit c26a02c7) uses
    # {{ PF_FS_ID }} and {{ PF_USER_ID }}, dropped from pkg/pipeline/common/const.go at
    # its commit c2757321: named as such, not as an unknown reference.
    text = "name: p\nentry_points:\n  a: {command: 'echo {{p1}}', parameters: {p1: '{{ PF_FS_ID }}'}}\n"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await run_yaml(workflows, text)
    problem = field_violations(caught.value)["entry_points.a.parameters.p1"]
    assert problem.startswith("{{PF_FS_ID}} is a system variable PaddleFlow dropped in 2022")
    assert "PF_RUN_ID" in problem


async def test_fs_scope_as_a_string_is_refused_naming_the_list_form(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    # PaddleFlow's docs/zh_cn/reference/pipeline/yaml_definition/3_cache.md (last at
    # commit 18c51bd1) wrote fs_scope as a string; its parser.go (3ca9ece1) wants a list.
    text = (
        "name: p\nentry_points:\n  a:\n    command: 'true'\n"
        "    cache: {enable: true, fs_scope: shells/a.sh}\n"
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await run_yaml(workflows, text)
    problem = field_violations(caught.value)["entry_points.a.cache.fs_scope"]
    assert "[{name: <fs>, path: 'shells/a.sh'}]" in problem
