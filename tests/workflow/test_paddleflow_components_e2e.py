"""PaddleFlow's `components` and `reference: {component: name}`: a referencing step runs a
copy of the component, with its own deps, parameter overrides and input artifacts."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import ServerThread
from tests.workflow.conftest import (
    field_violations,
    run_status,
    run_yaml,
    step_statuses,
    wait_finished,
)
from tests.workflow.paddleflow import install_ppl, pipeline


async def test_ref_parts_pipeline_runs_its_referenced_components(
    workflows: rpc.WorkflowServiceStub, dagwire_server: ServerThread
) -> None:
    # pipelines/ref_parts (mirrors PaddleFlow's example/pipeline/ref_components): a DAG
    # component whose step references another component, overriding its pivot
    ppl = install_ppl(dagwire_server)
    run = await run_yaml(workflows, pipeline("ref_parts"))
    done = await wait_finished(workflows, run.run_id, timeout=40)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert [step.name for step in done.steps] == [
        "draw",
        "bucket.divide",
        "bucket.square-low",
        "bucket.square-high",
        "bucket.merge",
        "total",
    ]
    assert set(step_statuses(done).values()) == {"STEP_STATUS_SUCCEEDED"}
    divide = next(step for step in done.steps if step.name == "bucket.divide")
    assert divide.parameters["pivot"] == "0"
    # 3 -4 1 7 -2 0 5 squared: the sum does not depend on the pivot, the split does
    assert (ppl / "ref_totals" / run.run_id / "total.txt").read_text().strip() == "104"


TWICE = """
name: twice
entry_points:
  make:
    command: "echo 7 > {{num}}"
    artifacts: {output: [num]}
  double:
    deps: make
    reference: {component: scale}
    parameters: {factor: 2}
    artifacts: {input: {data: "{{make.num}}"}}
  triple:
    deps: make
    reference: {component: scale}
    parameters: {factor: 3}
    artifacts: {input: {data: "{{make.num}}"}}
components:
  scale:
    command: "echo $(( $(cat {{data}}) * {{factor}} )) >> %(work)s/{{PF_STEP_NAME}}"
    parameters: {factor: 1}
    artifacts: {input: {data: ""}}
"""


async def test_a_component_referenced_twice_runs_with_each_references_parameters(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    run = await run_yaml(workflows, TWICE % {"work": work_dir})
    assert [step.name for step in run.steps] == ["make", "double", "triple"]
    done = await wait_finished(workflows, run.run_id)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert (work_dir / "double").read_text().strip() == "14"
    assert (work_dir / "triple").read_text().strip() == "21"


@pytest.mark.parametrize(
    ("step", "field", "problem"),
    [
        ("{reference: {component: nope}}", "entry_points.a.reference.component", "nope"),
        (
            "{reference: {component: scale}, command: 'true'}",
            "entry_points.a",
            "remove command",
        ),
        (
            "{reference: {component: scale}, parameters: {speed: 1}}",
            "entry_points.a.parameters.speed",
            "has no parameter",
        ),
    ],
    ids=["unknown-component", "own-command", "unknown-parameter"],
)
async def test_a_bad_reference_is_refused_naming_the_field(
    workflows: rpc.WorkflowServiceStub, step: str, field: str, problem: str
) -> None:
    text = (
        f"name: p\nentry_points:\n  a: {step}\n"
        "components:\n  scale: {command: 'true', parameters: {factor: 1}}\n"
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await run_yaml(workflows, text)
    assert problem in field_violations(caught.value)[field]
