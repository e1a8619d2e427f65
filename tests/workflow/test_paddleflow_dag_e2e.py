"""PaddleFlow's nested DAGs (a step with `entry_points`): the sub-DAG's steps run as steps
of the run under their full names (`process.split`), with deps, PF_PARENT parameters and
artifacts, and the DAG's output artifacts passed the way PaddleFlow passes them."""

from __future__ import annotations

from pathlib import Path

import grpc

from dagwire.v1 import step_execution_request_response_pb2 as sr
from dagwire.v1 import step_execution_service_pb2_grpc as srpc
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import ServerThread
from tests.workflow.conftest import run_status, run_yaml, step_statuses, wait_finished
from tests.workflow.paddleflow import install_ppl, pipeline


async def test_fan_dag_pipeline_runs_its_nested_dag_in_its_main_fs(
    workflows: rpc.WorkflowServiceStub, dagwire_server: ServerThread
) -> None:
    # pipelines/fan_dag (mirrors PaddleFlow's example/pipeline/dag_example): 3 -4 1 7 -2 0
    # split at 1, each side squared, merged and summed
    ppl = install_ppl(dagwire_server)
    run = await run_yaml(workflows, pipeline("fan_dag"))
    done = await wait_finished(workflows, run.run_id, timeout=40)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert step_statuses(done) == dict.fromkeys(
        [
            "draw",
            "bucket.divide",
            "bucket.square-low",
            "bucket.square-high",
            "bucket.merge",
            "total",
        ],
        "STEP_STATUS_SUCCEEDED",
    )
    assert (ppl / "totals" / run.run_id / "total.txt").read_text().strip() == "79"


# The shape of PaddleFlow's example/pipeline/dag_example, with shell commands that run.
NESTED = """
name: nested
entry_points:
  randint:
    command: "echo 3 -2 5 -7 > {{random_num}}"
    artifacts: {output: [random_num]}
  process:
    deps: randint
    parameters: {threshold: 0}
    artifacts:
      input: {data: "{{randint.random_num}}"}
      output: {result: "{{collector.collection}}"}
    entry_points:
      split:
        command: >-
          for n in $(cat {{nums}}); do if [ $n -gt {{threshold}} ];
          then echo $n >> {{positive}}; else echo $n >> {{negative}}; fi; done
        parameters: {threshold: "{{PF_PARENT.threshold}}"}
        artifacts:
          input: {nums: "{{PF_PARENT.data}}"}
          output: [negative, positive]
      collector:
        deps: split
        command: "cat {{negative}} {{positive}} > {{collection}}"
        artifacts:
          input: {negative: "{{split.negative}}", positive: "{{split.positive}}"}
          output: [collection]
  sum:
    deps: process
    command: "echo $(( $(cat {{nums}} | paste -sd+ -) )) > %(work)s/sum"
    artifacts:
      input: {nums: "{{process.result}}"}
"""


async def test_a_nested_dag_runs_its_steps_in_order_and_passes_its_outputs_on(
    workflows: rpc.WorkflowServiceStub, work_dir: Path
) -> None:
    run = await run_yaml(workflows, NESTED % {"work": work_dir})
    assert [step.name for step in run.steps] == [
        "randint",
        "process.split",
        "process.collector",
        "sum",
    ]
    done = await wait_finished(workflows, run.run_id)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED", done.run_msg
    assert set(step_statuses(done).values()) == {"STEP_STATUS_SUCCEEDED"}
    assert (work_dir / "sum").read_text().strip() == "-1"
    steps = {step.name: step for step in done.steps}
    assert list(steps["process.split"].deps) == ["randint"]
    assert list(steps["sum"].deps) == ["process.split", "process.collector"]
    assert steps["process.split"].parameters["threshold"] == "0"


async def test_the_steps_of_a_nested_dag_are_step_executions(
    workflows: rpc.WorkflowServiceStub, channel: grpc.aio.Channel, work_dir: Path
) -> None:
    run = await run_yaml(workflows, NESTED % {"work": work_dir})
    await wait_finished(workflows, run.run_id)
    steps = srpc.StepExecutionServiceStub(channel)
    listed = await steps.ListStepExecutions(sr.ListStepExecutionsRequest(run_id=run.run_id))
    names = [step.step_name for step in listed.step_executions]
    assert names == ["randint", "process.split", "process.collector", "sum"]
    one = await steps.GetStepExecution(
        sr.GetStepExecutionRequest(run_id=run.run_id, step_name="process.split")
    )
    assert one.step_execution.step_name == "process.split"
