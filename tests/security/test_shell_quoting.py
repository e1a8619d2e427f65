"""No caller value becomes shell syntax: every shell metacharacter, fed through every
place a value is substituted into a step's command (a run's parameter overrides of global
and step parameters, the username, an upstream step's parameter, artifact paths, and the
parameters of a continue action), reaches the process as exactly one argument, and is in
its environment too. The step reports the argv it received in its log."""

from __future__ import annotations

import json
from typing import Any

import grpc
import pytest

from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import step_execution_request_response_pb2 as sr
from dagwire.v1 import step_execution_service_pb2_grpc as srpc
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import assert_eventually
from tests.security.sandboxing import PYTHON, REPORT_ARGS, finished, step_log

# Every character a POSIX shell gives a meaning to, plus a reference a later stage of
# substitution could take for its own, a newline and a tab.
EVIL = "a b;c|d&e$(id)`id`$HOME\"q'r\\s*?[x]{y}~#!<>(z)\n\tw{{out}}%^=+,é'"
REPORT = f"{PYTHON} {REPORT_ARGS}"
PIPELINE = f"""
name: quoting
parameters: {{word: plain}}
entry_points:
  up:
    parameters: {{p: plain}}
    artifacts: {{output: [out]}}
    command: "{REPORT} {{{{word}}}} {{{{p}}}} {{{{PF_USER_NAME}}}} {{{{PF_STEP_NAME}}}} {{{{out}}}} && echo data > {{{{out}}}}"
  down:
    deps: up
    hold: true
    parameters: {{q: plain}}
    artifacts: {{input: {{inp: "{{{{up.out}}}}"}}}}
    command: "{REPORT} {{{{up.p}}}} {{{{q}}}} {{{{inp}}}}"
"""


@pytest.fixture
def workflows(channel: grpc.aio.Channel) -> rpc.WorkflowServiceStub:
    return rpc.WorkflowServiceStub(channel)


@pytest.fixture
def steps(channel: grpc.aio.Channel) -> srpc.StepExecutionServiceStub:
    return srpc.StepExecutionServiceStub(channel)


async def reported(stub: rpc.WorkflowServiceStub, run_id: str, step: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(await step_log(stub, run_id, step, ()))
    return report


@pytest.fixture
async def run_id(workflows: rpc.WorkflowServiceStub, steps: srpc.StepExecutionServiceStub) -> str:
    """The pipeline run with EVIL everywhere a caller can put a value, `down` released by
    a continue action carrying EVIL as its parameter."""
    request = rr.CreateRunRequest(
        run_yaml=PIPELINE, username=EVIL, parameters={"word": EVIL, "up.p": EVIL}
    )
    run_id = (await workflows.CreateRun(request)).run.run_id

    async def down() -> sr.GetStepExecutionResponse:
        return await steps.GetStepExecution(
            sr.GetStepExecutionRequest(run_id=run_id, step_name="down")
        )

    held = await assert_eventually(
        down, lambda r: r.step_execution.status == enums.STEP_EXECUTION_STATUS_HOLD
    )
    await steps.ActOnStepExecution(
        sr.ActOnStepExecutionRequest(
            run_id=run_id,
            uuid=held.step_execution.uuid,
            action=enums.STEP_ACTION_CONTINUE,
            parameters=[sr.WorkflowParameter(name="q", value=EVIL)],
        )
    )
    run = await finished(workflows, run_id, ())
    assert run.status == enums.RUN_STATUS_SUCCEEDED
    return run_id


async def test_values_substituted_into_a_command_arrive_as_single_arguments(
    workflows: rpc.WorkflowServiceStub, run_id: str
) -> None:
    up = await reported(workflows, run_id, "up")
    out = up["env"]["PF_OUTPUT_ARTIFACT_OUT"]
    assert up["argv"] == [EVIL, EVIL, EVIL, "up", out]


async def test_upstream_parameters_artifact_paths_and_action_parameters_arrive_whole(
    workflows: rpc.WorkflowServiceStub, run_id: str
) -> None:
    down = await reported(workflows, run_id, "down")
    assert down["argv"] == [EVIL, EVIL, down["env"]["PF_INPUT_ARTIFACT_INP"]]


async def test_the_values_are_in_the_environment_too(
    workflows: rpc.WorkflowServiceStub, run_id: str
) -> None:
    up = await reported(workflows, run_id, "up")
    down = await reported(workflows, run_id, "down")
    assert up["env"]["PF_PARAM_WORD"] == EVIL
    assert up["env"]["PF_PARAM_P"] == EVIL
    assert up["env"]["PF_USER_NAME"] == EVIL
    assert down["env"]["PF_PARAM_Q"] == EVIL


async def test_a_nul_character_is_refused_up_front(workflows: rpc.WorkflowServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await workflows.CreateRun(
            rr.CreateRunRequest(run_yaml=PIPELINE, parameters={"word": "a\0b"})
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
