"""Pipelines and their versions through a real channel, and the precise rejection of bad
specs: INVALID_ARGUMENT with a field violation naming the exact path, nothing stored."""

from __future__ import annotations

import grpc
import pytest

from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.workflow.conftest import field_violations, run_status, wait_finished

SPEC = """
name: {name}
parameters: {{greeting: hello}}
entry_points:
  say: {{command: "echo {{{{greeting}}}} {version}"}}
"""


async def create(stub: rpc.WorkflowServiceStub, name: str = "greet") -> rr.CreatePipelineResponse:
    return await stub.CreatePipeline(
        rr.CreatePipelineRequest(pipeline_yaml=SPEC.format(name=name, version=1), description="v1")
    )


async def test_a_created_pipeline_has_version_one(workflows: rpc.WorkflowServiceStub) -> None:
    created = await create(workflows)
    assert created.pipeline.pipeline_id.startswith("ppl-")
    assert created.pipeline.name == "greet" and created.pipeline.latest_version_id == "1"
    assert created.pipeline_version.pipeline_version_id == "1"
    got = await workflows.GetPipeline(
        rr.GetPipelineRequest(pipeline_id=created.pipeline.pipeline_id)
    )
    assert [v.pipeline_version_id for v in got.pipeline_versions] == ["1"]


async def test_update_adds_a_version_and_runs_can_name_either(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    pipeline_id = (await create(workflows)).pipeline.pipeline_id
    updated = await workflows.UpdatePipeline(
        rr.UpdatePipelineRequest(
            pipeline_id=pipeline_id, pipeline_yaml=SPEC.format(name="greet", version=2)
        )
    )
    assert updated.pipeline_version.pipeline_version_id == "2"
    assert updated.pipeline.latest_version_id == "2"
    versions = await workflows.GetPipeline(rr.GetPipelineRequest(pipeline_id=pipeline_id))
    assert [v.pipeline_version_id for v in versions.pipeline_versions] == ["2", "1"]
    latest = (await workflows.CreateRun(rr.CreateRunRequest(pipeline_id=pipeline_id))).run
    first = (
        await workflows.CreateRun(
            rr.CreateRunRequest(pipeline_id=pipeline_id, pipeline_version_id="1")
        )
    ).run
    assert latest.pipeline_version_id == "2" and latest.source == f"{pipeline_id}@2"
    assert "echo hello 1" in first.steps[0].command
    assert "echo hello 2" in latest.steps[0].command
    assert run_status(await wait_finished(workflows, latest.run_id)) == "RUN_STATUS_SUCCEEDED"


async def test_an_update_must_keep_the_pipeline_name(workflows: rpc.WorkflowServiceStub) -> None:
    pipeline_id = (await create(workflows)).pipeline.pipeline_id
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await workflows.UpdatePipeline(
            rr.UpdatePipelineRequest(
                pipeline_id=pipeline_id, pipeline_yaml=SPEC.format(name="other", version=2)
            )
        )
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "pipeline_yaml.name" in field_violations(caught.value)


async def test_versions_can_be_read_and_deleted_but_not_the_last(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    pipeline_id = (await create(workflows)).pipeline.pipeline_id
    await workflows.UpdatePipeline(
        rr.UpdatePipelineRequest(
            pipeline_id=pipeline_id, pipeline_yaml=SPEC.format(name="greet", version=2)
        )
    )
    got = await workflows.GetPipelineVersion(
        rr.GetPipelineVersionRequest(pipeline_id=pipeline_id, pipeline_version_id="1")
    )
    assert "echo {{greeting}} 1" in got.pipeline_version.pipeline_yaml
    await workflows.DeletePipelineVersion(
        rr.DeletePipelineVersionRequest(pipeline_id=pipeline_id, pipeline_version_id="2")
    )
    after = await workflows.GetPipeline(rr.GetPipelineRequest(pipeline_id=pipeline_id))
    assert after.pipeline.latest_version_id == "1"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await workflows.DeletePipelineVersion(
            rr.DeletePipelineVersionRequest(pipeline_id=pipeline_id, pipeline_version_id="1")
        )
    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION


async def test_a_deleted_pipeline_is_gone(workflows: rpc.WorkflowServiceStub) -> None:
    pipeline_id = (await create(workflows)).pipeline.pipeline_id
    await workflows.DeletePipeline(rr.DeletePipelineRequest(pipeline_id=pipeline_id))
    for call in (
        workflows.GetPipeline(rr.GetPipelineRequest(pipeline_id=pipeline_id)),
        workflows.DeletePipeline(rr.DeletePipelineRequest(pipeline_id=pipeline_id)),
        workflows.CreateRun(rr.CreateRunRequest(pipeline_id=pipeline_id)),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        assert caught.value.code() is grpc.StatusCode.NOT_FOUND


async def test_a_second_pipeline_with_the_same_name_already_exists(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    await create(workflows)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await create(workflows)
    assert caught.value.code() is grpc.StatusCode.ALREADY_EXISTS


async def test_a_create_retried_with_its_request_id_returns_the_first_answer(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    request = rr.CreatePipelineRequest(
        pipeline_yaml=SPEC.format(name="once", version=1), request_id="r-1"
    )
    first = await workflows.CreatePipeline(request)
    again = await workflows.CreatePipeline(request)
    assert again.pipeline.pipeline_id == first.pipeline.pipeline_id
    run_request = rr.CreateRunRequest(pipeline_id=first.pipeline.pipeline_id, request_id="run-key")
    run = (await workflows.CreateRun(run_request)).run
    assert (await workflows.CreateRun(run_request)).run.run_id == run.run_id


async def test_pipelines_are_listed_in_pages_with_filters(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    for index in range(5):
        await create(workflows, f"p{index}")
    first = await workflows.ListPipelines(rr.ListPipelinesRequest(page_size=2))
    second = await workflows.ListPipelines(
        rr.ListPipelinesRequest(page_size=2, page_token=first.next_page_token)
    )
    third = await workflows.ListPipelines(
        rr.ListPipelinesRequest(page_size=2, page_token=second.next_page_token)
    )
    names = [p.name for page in (first, second, third) for p in page.pipelines]
    assert names == ["p0", "p1", "p2", "p3", "p4"] and third.next_page_token == ""
    only = await workflows.ListPipelines(rr.ListPipelinesRequest(filter="name=p3"))
    assert [p.name for p in only.pipelines] == ["p3"]


BAD_SPECS = [
    pytest.param("name: x\nentry_points: [", "pipeline_yaml", id="bad-yaml"),
    pytest.param(
        "name: x\nentry_points:\n  a: {command: x, deps: nope}\n",
        "entry_points.a.deps",
        id="unknown-dep",
    ),
    pytest.param(
        "name: x\nentry_points:\n  a: {command: x, deps: b}\n  b: {command: y, deps: a}\n",
        "entry_points.a.deps",
        id="cycle",
    ),
    pytest.param(
        "name: x\nentry_points:\n  a: {command: 'echo {{missing}}'}\n",
        "entry_points.a.command",
        id="unknown-param",
    ),
    pytest.param(
        "name: x\nentry_points:\n  a: {command: x}\n  b: {command: 'echo {{a.p}}'}\n",
        "entry_points.b.command",
        id="reference-outside-deps",
    ),
    pytest.param(
        "name: x\nentry_points:\n  a: {command: x, artifacts: {input: {d: '{{b.out}}'}}, deps: b}\n  b: {command: y}\n",
        "entry_points.a.artifacts.input.d",
        id="unknown-artifact",
    ),
    pytest.param(
        "name: x\nentry_points:\n  a: {image: x}\n", "entry_points.a.image", id="unknown-field"
    ),
    pytest.param(
        "name: x\nfailure_options: {strategy: sometimes}\nentry_points:\n  a: {command: x}\n",
        "failure_options.strategy",
        id="bad-strategy",
    ),
    pytest.param("name: x\n", "entry_points", id="no-steps"),
]


@pytest.mark.parametrize(("spec", "path"), BAD_SPECS)
async def test_a_bad_spec_names_the_exact_path_and_stores_nothing(
    workflows: rpc.WorkflowServiceStub, spec: str, path: str
) -> None:
    for call in (
        workflows.CreatePipeline(rr.CreatePipelineRequest(pipeline_yaml=spec)),
        workflows.CreateRun(rr.CreateRunRequest(run_yaml=spec)),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        violations = field_violations(caught.value)
        assert path in violations or (path == "pipeline_yaml" and "run_yaml" in violations), (
            violations
        )
    assert not (await workflows.ListPipelines(rr.ListPipelinesRequest())).pipelines
    assert not (await workflows.ListRuns(rr.ListRunsRequest())).runs


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        pytest.param({"parameters": {"nope": "1"}}, "parameters.nope", id="unknown-param"),
        pytest.param(
            {"parameters": {"say.nope": "1"}}, "parameters.say.nope", id="unknown-step-param"
        ),
        pytest.param({"disabled": ["ghost"]}, "disabled[0]", id="unknown-disabled-step"),
    ],
)
async def test_bad_run_overrides_name_the_field_and_store_nothing(
    workflows: rpc.WorkflowServiceStub, fields: dict[str, object], path: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await workflows.CreateRun(
            rr.CreateRunRequest(run_yaml=SPEC.format(name="greet", version=1), **fields)  # type: ignore[arg-type]
        )
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert path in field_violations(caught.value)
    assert not (await workflows.ListRuns(rr.ListRunsRequest())).runs
