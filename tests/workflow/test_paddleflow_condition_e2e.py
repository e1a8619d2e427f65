"""PaddleFlow's condition expression on a step (`condition: "{{num}} > 0"`), evaluated as
its conditionCalculator.go does (govaluate, variables read as strings), next to the
ModelArts condition object under the same key."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from dagwire.server.engine.expressions import ExpressionError, evaluate
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.workflow.conftest import (
    field_violations,
    run_status,
    run_yaml,
    step_statuses,
    wait_finished,
)
from tests.workflow.paddleflow import pipeline


async def test_gate_pipeline_runs_the_true_condition_and_skips_the_false_one(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    # pipelines/gate (mirrors PaddleFlow's example/pipeline/condition_example): 4 > 0
    # runs, 4 < 0 is skipped
    run = await run_yaml(workflows, pipeline("gate"))
    done = await wait_finished(workflows, run.run_id)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert step_statuses(done) == {
        "when_positive": "STEP_STATUS_SUCCEEDED",
        "when_negative": "STEP_STATUS_SKIPPED",
    }
    skipped = next(step for step in done.steps if step.name == "when_negative")
    assert "[4 < 0] is false" in skipped.message


SKIPPED_UPSTREAM = """
name: skipped-upstream
entry_points:
  maybe:
    command: "echo maybe >> %(work)s/ran"
    condition: "{{mode}} == fast && {{n}} >= 3"
    parameters: {mode: slow, n: 5}
  after:
    command: "echo after >> %(work)s/ran"
    deps: maybe
"""


async def test_a_step_after_a_skipped_one_still_runs_as_in_paddleflow(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    run = await run_yaml(workflows, SKIPPED_UPSTREAM % {"work": work_dir})
    done = await wait_finished(workflows, run.run_id)
    assert step_statuses(done) == {"maybe": "STEP_STATUS_SKIPPED", "after": "STEP_STATUS_SUCCEEDED"}
    assert (work_dir / "ran").read_text().split() == ["after"]


async def test_a_run_parameter_decides_the_condition(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    run = await run_yaml(
        workflows, SKIPPED_UPSTREAM % {"work": work_dir}, parameters={"mode": "fast"}
    )
    done = await wait_finished(workflows, run.run_id)
    assert step_statuses(done) == dict.fromkeys(["maybe", "after"], "STEP_STATUS_SUCCEEDED")


async def test_a_condition_that_cannot_be_computed_fails_its_step(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    text = "name: p\nentry_points:\n  a: {command: 'true', condition: '{{w}} > 1', parameters: {w: abc}}\n"
    done = await wait_finished(workflows, (await run_yaml(workflows, text)).run_id)
    assert step_statuses(done) == {"a": "STEP_STATUS_FAILED"}
    assert "cannot order 'abc' and 1" in done.steps[0].message


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("condition: '{{nope}} > 1'", "must name a parameter"),
        ("condition: '{{n}} >'", "not a condition expression"),
    ],
    ids=["unknown-template", "broken-expression"],
)
async def test_a_bad_condition_is_refused_at_create(
    workflows: rpc.WorkflowServiceStub, body: str, problem: str
) -> None:
    text = f"name: p\nentry_points:\n  a: {{command: 'true', parameters: {{n: 1}}, {body}}}\n"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await run_yaml(workflows, text)
    assert problem in field_violations(caught.value)["entry_points.a.condition"]


async def test_a_conditional_steps_parameters_cannot_be_referenced(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    text = (
        "name: p\nentry_points:\n"
        "  a: {command: 'true', condition: '{{n}} > 0', parameters: {n: 1}}\n"
        "  b: {command: 'echo {{a.n}}', deps: a}\n"
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await run_yaml(workflows, text)
    assert "has a condition" in field_violations(caught.value)["entry_points.b.command"]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("10 > 0", True),
        ("10 < 0", False),
        ("abc != xyz", True),  # words are strings, as PaddleFlow turns variables
        ("abc == 'abc'", True),
        ("10 == '10'", False),  # govaluate compares types too
        ("!(1 > 2) && (2 >= 2 || x == y)", True),
        ("2 * 3 + 1 == 7", True),
        ("-1 < 0", True),
        ("abc < abd", True),
    ],
)
def test_expressions_read_as_govaluate_reads_them(text: str, value: bool) -> None:
    assert evaluate(text) is value


@pytest.mark.parametrize("text", ["1 + 2", "abc > 1", "true && 1", "(1 > 0", "1 / 0 > 1", ""])
def test_expressions_without_a_boolean_value_are_errors(text: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(text)
