"""StepExecutionService through a real channel: every action from every status, holds,
conditions, retry to success, and the status history a watcher sees."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import message_pb2 as pb
from dagwire.v1 import step_execution_request_response_pb2 as sr
from dagwire.v1 import step_execution_service_pb2_grpc as srpc
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import assert_eventually
from tests.workflow.conftest import field_violations, run_status, run_yaml, wait_finished

MATRIX = """
name: matrix
failure_options: {strategy: continue}
entry_points:
  done: {command: "true"}
  broken: {command: "exit 1"}
  blocked: {command: "true", deps: broken}
  slow: {command: "sleep 30"}
  waiting: {command: "true", deps: slow}
  gate: {command: "true", hold: true}
  held: {command: "exit 1", policy: {execution_policy: continue}}
  halted: {command: "sleep 30"}
"""

# The step of MATRIX in each status (after `halted` is stopped).
STATUS_OF = {
    "done": "COMPLETED",
    "broken": "FAILED",
    "blocked": "SKIPPED",
    "slow": "RUNNING",
    "waiting": "WAIT_INPUTS",
    "gate": "HOLD",
    "held": "HOLD",
    "halted": "STOPPED",
}

# (step, action) -> the status it leads to; absent pairs are refused.
ALLOWED = {
    ("broken", "RETRY"): "FAILED",  # it fails again, but it ran again
    ("halted", "RETRY"): "RUNNING",
    ("held", "RETRY"): "HOLD",
    ("slow", "STOP"): "STOPPED",
    ("gate", "CONTINUE"): "COMPLETED",
    ("held", "CONTINUE"): "FAILED",
}


@pytest.fixture
def steps(channel: grpc.aio.Channel) -> srpc.StepExecutionServiceStub:
    return srpc.StepExecutionServiceStub(channel)


async def get_step(stub: srpc.StepExecutionServiceStub, run_id: str, name: str) -> pb.StepExecution:
    response = await stub.GetStepExecution(
        sr.GetStepExecutionRequest(run_id=run_id, step_name=name)
    )
    return response.step_execution


def status(step: pb.StepExecution) -> str:
    return enums.StepExecutionStatus.Name(step.status).removeprefix("STEP_EXECUTION_STATUS_")


async def act(
    stub: srpc.StepExecutionServiceStub, run_id: str, name: str, action: str, **params: str
) -> pb.StepExecution:
    request = sr.ActOnStepExecutionRequest(
        run_id=run_id,
        step_name=name,
        action=enums.StepAction.Value(f"STEP_ACTION_{action}"),
        parameters=[sr.WorkflowParameter(name=k, value=v) for k, v in params.items()],
    )
    return (await stub.ActOnStepExecution(request)).step_execution


async def matrix_run(
    workflows: rpc.WorkflowServiceStub, steps: srpc.StepExecutionServiceStub
) -> str:
    run_id = (await run_yaml(workflows, MATRIX)).run_id

    async def statuses() -> dict[str, str]:
        listed = await steps.ListStepExecutions(sr.ListStepExecutionsRequest(run_id=run_id))
        return {s.step_name: status(s) for s in listed.step_executions}

    await assert_eventually(statuses, lambda s: s["halted"] == "RUNNING" and s["held"] == "HOLD")
    await act(steps, run_id, "halted", "STOP")
    await assert_eventually(statuses, lambda s: s == STATUS_OF)
    return run_id


@pytest.mark.parametrize("action", ["RETRY", "STOP", "CONTINUE"])
@pytest.mark.parametrize("name", sorted(STATUS_OF))
async def test_each_action_from_each_status_is_applied_or_refused(
    workflows: rpc.WorkflowServiceStub, steps: srpc.StepExecutionServiceStub, name: str, action: str
) -> None:
    run_id = await matrix_run(workflows, steps)
    before = await get_step(steps, run_id, name)
    if (name, action) not in ALLOWED:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await act(steps, run_id, name, action)
        assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        assert f"it is {STATUS_OF[name].lower()}; {action.lower()}" in (
            caught.value.details() or ""
        )
        after = await get_step(steps, run_id, name)
        assert (status(after), after.attempt) == (status(before), before.attempt)
        return
    await act(steps, run_id, name, action)
    expected = ALLOWED[(name, action)]
    after = await assert_eventually(
        lambda: get_step(steps, run_id, name), lambda s: status(s) == expected
    )
    assert after.uuid == before.uuid
    if action == "RETRY":
        assert after.attempt == before.attempt + 1


async def test_a_continued_failure_lets_its_dependents_run(
    workflows: rpc.WorkflowServiceStub, steps: srpc.StepExecutionServiceStub
) -> None:
    text = """
name: lenient
entry_points:
  flaky: {command: "exit 2", policy: {execution_policy: continue}}
  after: {command: "echo after", deps: flaky}
"""
    run_id = (await run_yaml(workflows, text)).run_id
    await assert_eventually(lambda: get_step(steps, run_id, "flaky"), lambda s: status(s) == "HOLD")
    assert "exit code 2" in (await get_step(steps, run_id, "flaky")).error_info.error_message
    await act(steps, run_id, "flaky", "CONTINUE")
    done = await wait_finished(workflows, run_id)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED"
    flaky = await get_step(steps, run_id, "flaky")
    assert status(flaky) == "FAILED" and flaky.properties["waived"] == "true"


async def test_a_hold_step_released_by_continue_runs_with_the_given_parameters(
    workflows: rpc.WorkflowServiceStub, steps: srpc.StepExecutionServiceStub
) -> None:
    text = """
name: confirm
entry_points:
  prepare: {command: "echo prepared"}
  publish:
    deps: prepare
    hold: true
    command: "echo publishing {{target}}"
    parameters: {target: staging}
"""
    run_id = (await run_yaml(workflows, text)).run_id
    held = await assert_eventually(
        lambda: get_step(steps, run_id, "publish"), lambda s: status(s) == "HOLD"
    )
    assert held.type == "hold" and held.attempt == 0
    request = sr.ActOnStepExecutionRequest(
        run_id=run_id,
        uuid=held.uuid,
        action=enums.STEP_ACTION_CONTINUE,
        data_requirements=[
            sr.DataRequirement(name="target", type="obs", value={"value": "production"})
        ],
    )
    await steps.ActOnStepExecution(request)
    done = await wait_finished(workflows, run_id)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED"
    logs = await workflows.GetRunLog(rr.GetRunLogRequest(run_id=run_id, step_name="publish"))
    assert logs.logs[0].log_content == "publishing production\n"
    published = await get_step(steps, run_id, "publish")
    assert {i.name: i.value for i in published.inputs if i.type == "parameter"}[
        "target"
    ] == "production"


CONDITION = """
name: gated
entry_points:
  train:
    command: "echo '{{\\"accuracy\\": {accuracy}}}' > $PF_METRICS_FILE"
  check:
    deps: train
    condition:
      conditions: [{{type: ">=", left: "{{{{train.accuracy}}}}", right: 0.9}}]
      if_then_steps: [deploy]
      else_then_steps: [retrain]
  deploy: {{command: "echo deploy"}}
  retrain: {{command: "echo retrain"}}
  report: {{command: "echo report", deps: deploy}}
"""


@pytest.mark.parametrize(
    ("accuracy", "taken", "skipped"), [(0.95, "deploy", "retrain"), (0.5, "retrain", "deploy")]
)
async def test_a_condition_routes_to_one_branch_and_skips_the_other(
    workflows: rpc.WorkflowServiceStub,
    steps: srpc.StepExecutionServiceStub,
    accuracy: float,
    taken: str,
    skipped: str,
) -> None:
    run_id = (await run_yaml(workflows, CONDITION.format(accuracy=accuracy))).run_id
    done = await wait_finished(workflows, run_id)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED"
    check = await get_step(steps, run_id, "check")
    assert check.type == "condition" and status(check) == "COMPLETED"
    assert check.conditions_execution.result == ("true" if accuracy >= 0.9 else "false")
    assert [(m.name, float(m.value)) for m in check.conditions_execution.metric_list] == [
        ("train.accuracy", accuracy)
    ]
    assert [(c.type, c.left, c.right) for c in check.conditions] == [
        (">=", "{{train.accuracy}}", "0.9")
    ]
    assert status(await get_step(steps, run_id, taken)) == "COMPLETED"
    assert status(await get_step(steps, run_id, skipped)) == "SKIPPED"
    report = await get_step(steps, run_id, "report")
    assert status(report) == ("COMPLETED" if taken == "deploy" else "SKIPPED")


async def test_retry_after_a_failure_leads_the_run_to_success(
    workflows: rpc.WorkflowServiceStub, steps: srpc.StepExecutionServiceStub, work_dir: Path
) -> None:
    text = f"""
name: second-chance
entry_points:
  fetch: {{command: "echo fetched"}}
  train: {{command: "test -f {work_dir}/ready", deps: fetch}}
  ship: {{command: "echo shipped", deps: train}}
"""
    run_id = (await run_yaml(workflows, text)).run_id
    failed = await wait_finished(workflows, run_id)
    assert run_status(failed) == "RUN_STATUS_FAILED"
    before = await get_step(steps, run_id, "train")
    (work_dir / "ready").touch()
    await act(steps, run_id, "train", "RETRY")
    done = await wait_finished(workflows, run_id)
    assert run_status(done) == "RUN_STATUS_SUCCEEDED"
    train = await get_step(steps, run_id, "train")
    assert (train.uuid, train.attempt) == (before.uuid, 2)
    assert status(await get_step(steps, run_id, "ship")) == "COMPLETED"
    assert (await get_step(steps, run_id, "fetch")).attempt == 1
    assert [e.partition(" change status ")[2] for e in train.events] == [
        "from init to wait_inputs",
        "from wait_inputs to creating",
        "from creating to created",
        "from created to running",
        "from running to failed",
        "from failed to creating",
        "from creating to created",
        "from created to running",
        "from running to completed",
    ]


async def test_a_watcher_sees_every_transition_in_order(
    workflows: rpc.WorkflowServiceStub, steps: srpc.StepExecutionServiceStub, work_dir: Path
) -> None:
    text = f"""
name: watched
entry_points:
  a: {{command: "echo a"}}
  b: {{command: "test -f {work_dir}/ok", deps: a}}
"""
    run_id = (await run_yaml(workflows, text)).run_id
    await wait_finished(workflows, run_id)
    (work_dir / "ok").touch()
    await act(steps, run_id, "b", "RETRY")
    seen: dict[str, list[str]] = {}
    stream = steps.WatchStepExecutions(
        sr.WatchStepExecutionsRequest(run_id=run_id, timeout_seconds=20)
    )
    async for event in stream:
        name = event.step_execution.step_name
        seen.setdefault(name, []).append(
            enums.StepExecutionStatus.Name(event.status).removeprefix("STEP_EXECUTION_STATUS_")
        )
    launch = ["CREATING", "CREATED", "RUNNING"]
    assert seen == {
        "a": [*launch, "COMPLETED"],
        # The retry relaunches b at once: from FAILED straight to its second attempt.
        "b": ["WAIT_INPUTS", *launch, "FAILED", *launch, "COMPLETED"],
    }


async def test_unknown_runs_and_steps_are_not_found(
    workflows: rpc.WorkflowServiceStub, steps: srpc.StepExecutionServiceStub
) -> None:
    run_id = (await run_yaml(workflows, "name: x\nentry_points:\n  a: {command: 'true'}\n")).run_id
    for request in (
        sr.GetStepExecutionRequest(run_id="run-nope", step_name="a"),
        sr.GetStepExecutionRequest(run_id=run_id, step_name="nope"),
        sr.GetStepExecutionRequest(run_id=run_id, uuid="0000"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await steps.GetStepExecution(request)
        assert caught.value.code() is grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await steps.ActOnStepExecution(sr.ActOnStepExecutionRequest(run_id=run_id, step_name="a"))
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("action", ["RETRY", "STOP", "CONTINUE"])
async def test_an_unknown_parameter_is_refused_on_every_action_naming_it(
    workflows: rpc.WorkflowServiceStub, steps: srpc.StepExecutionServiceStub, action: str
) -> None:
    run_id = (await run_yaml(workflows, MATRIX)).run_id
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await act(steps, run_id, "gate", action, epochs="3")
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "parameters.epochs" in field_violations(caught.value)


async def test_a_parameter_value_outside_its_enum_is_refused(
    workflows: rpc.WorkflowServiceStub, steps: srpc.StepExecutionServiceStub
) -> None:
    text = 'name: e\nentry_points:\n  a: {command: "exit 1", parameters: {mode: x}}\n'
    run_id = (await run_yaml(workflows, text)).run_id
    await wait_finished(workflows, run_id)
    request = sr.ActOnStepExecutionRequest(
        run_id=run_id,
        step_name="a",
        action=enums.STEP_ACTION_RETRY,
        parameters=[sr.WorkflowParameter(name="mode", value="z", enum=["x", "y"])],
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await steps.ActOnStepExecution(request)
    assert field_violations(caught.value) == {"parameters.mode": "'z' is not one of x, y"}
    assert (await get_step(steps, run_id, "a")).attempt == 1


async def test_a_step_is_found_by_its_uuid_alone(
    workflows: rpc.WorkflowServiceStub, steps: srpc.StepExecutionServiceStub
) -> None:
    await run_yaml(workflows, "name: other\nentry_points:\n  a: {command: 'true'}\n")
    run_id = (await run_yaml(workflows, "name: x\nentry_points:\n  a: {command: 'true'}\n")).run_id
    wanted = await get_step(steps, run_id, "a")
    found = await steps.GetStepExecution(sr.GetStepExecutionRequest(uuid=wanted.uuid))
    assert (found.step_execution.run_id, found.step_execution.step_name) == (run_id, "a")


async def test_a_step_that_outlives_its_timeout_is_reported_timeout(
    workflows: rpc.WorkflowServiceStub, steps: srpc.StepExecutionServiceStub
) -> None:
    text = 'name: t\nentry_points:\n  nap: {command: "sleep 30", timeout: 1}\n'
    run_id = (await run_yaml(workflows, text)).run_id
    await wait_finished(workflows, run_id)
    nap = await get_step(steps, run_id, "nap")
    assert status(nap) == "TIMEOUT"
    assert nap.events[-1].endswith("change status from running to timeout")


async def test_a_step_with_its_inputs_ready_waiting_for_a_slot_is_pending(
    workflows: rpc.WorkflowServiceStub, steps: srpc.StepExecutionServiceStub
) -> None:
    text = (
        "name: one-at-a-time\nparallelism: 1\nentry_points:\n"
        '  a: {command: "sleep 30"}\n  b: {command: "sleep 30"}\n'
    )
    run_id = (await run_yaml(workflows, text)).run_id

    async def statuses() -> list[str]:
        listed = await steps.ListStepExecutions(sr.ListStepExecutionsRequest(run_id=run_id))
        return sorted(status(s) for s in listed.step_executions)

    # The first is creating until its process has started, then running.
    await assert_eventually(statuses, lambda s: s == ["PENDING", "RUNNING"])
    await workflows.StopRun(rr.StopRunRequest(run_id=run_id, force=True))
