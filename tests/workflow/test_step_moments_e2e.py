"""The moments of a step between the engine's states, observed on real runs through
WatchStepExecutions (each event carries the step as it stood then): creating from the
launch until its process has started, created at that instant, and stopping from a stop
until its process has exited."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import message_pb2 as pb
from dagwire.v1 import step_execution_request_response_pb2 as sr
from dagwire.v1 import step_execution_service_pb2_grpc as srpc
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import assert_eventually
from tests.workflow.conftest import run_yaml


@pytest.fixture
def steps(channel: grpc.aio.Channel) -> srpc.StepExecutionServiceStub:
    return srpc.StepExecutionServiceStub(channel)


def name(status: int) -> str:
    return enums.StepExecutionStatus.Name(status).removeprefix("STEP_EXECUTION_STATUS_")


async def get_step(stub: srpc.StepExecutionServiceStub, run_id: str, step: str) -> pb.StepExecution:
    request = sr.GetStepExecutionRequest(run_id=run_id, step_name=step)
    return (await stub.GetStepExecution(request)).step_execution


async def act(
    stub: srpc.StepExecutionServiceStub, run_id: str, step: str, action: str
) -> pb.StepExecution:
    request = sr.ActOnStepExecutionRequest(
        run_id=run_id, step_name=step, action=enums.StepAction.Value(f"STEP_ACTION_{action}")
    )
    return (await stub.ActOnStepExecution(request)).step_execution


async def watch_until(
    events: AsyncIterator[sr.WatchStepExecutionsResponse], status: str
) -> list[tuple[str, str]]:
    """(the status an event reports, the step's status as it stood then), up to and
    including the first event reporting `status`."""
    seen: list[tuple[str, str]] = []
    async for event in events:
        seen.append((name(event.status), name(event.step_execution.status)))
        if seen[-1][0] == status:
            return seen
    raise AssertionError(f"the stream ended before {status}: {seen}")


async def test_a_launched_step_is_creating_until_its_process_has_started(
    workflows: rpc.WorkflowServiceStub, steps: srpc.StepExecutionServiceStub
) -> None:
    text = 'name: launch\nentry_points:\n  gate: {command: "true", hold: true}\n'
    run_id = (await run_yaml(workflows, text)).run_id
    await assert_eventually(
        lambda: get_step(steps, run_id, "gate"), lambda s: name(s.status) == "HOLD"
    )
    stream = steps.WatchStepExecutions(
        sr.WatchStepExecutionsRequest(run_id=run_id, timeout_seconds=20)
    ).__aiter__()
    await watch_until(stream, "HOLD")  # the watch is live before the launch
    await act(steps, run_id, "gate", "CONTINUE")
    seen = await watch_until(stream, "COMPLETED")
    # The launch is committed before the process starts: the step stood creating then.
    assert seen[0] == ("CREATING", "CREATING")
    assert [reported for reported, _ in seen] == ["CREATING", "CREATED", "RUNNING", "COMPLETED"]
    replay = steps.WatchStepExecutions(sr.WatchStepExecutionsRequest(run_id=run_id))
    words = {name(e.status): e.message async for e in replay}
    assert (words["CREATING"], words["CREATED"]) == ("attempt 1 launched", "attempt 1 started")


async def test_created_is_the_instant_a_steps_processes_started(
    workflows: rpc.WorkflowServiceStub, steps: srpc.StepExecutionServiceStub
) -> None:
    text = 'name: started\nentry_points:\n  a: {command: "sleep 30"}\n'
    run_id = (await run_yaml(workflows, text)).run_id
    running = await assert_eventually(
        lambda: get_step(steps, run_id, "a"), lambda s: name(s.status) == "RUNNING"
    )
    *_, created, to_running = running.events
    assert created.endswith("change status from creating to created")
    assert to_running.endswith("change status from created to running")
    assert created.partition(" change")[0] == to_running.partition(" change")[0]
    await act(steps, run_id, "a", "STOP")


async def test_a_stopped_step_is_stopping_until_its_process_has_exited(
    workflows: rpc.WorkflowServiceStub, steps: srpc.StepExecutionServiceStub
) -> None:
    text = 'name: halt\nentry_points:\n  long: {command: "sleep 30"}\n'
    run_id = (await run_yaml(workflows, text)).run_id
    await assert_eventually(
        lambda: get_step(steps, run_id, "long"), lambda s: name(s.status) == "RUNNING"
    )
    stream = steps.WatchStepExecutions(
        sr.WatchStepExecutionsRequest(run_id=run_id, timeout_seconds=20)
    ).__aiter__()
    await watch_until(stream, "RUNNING")
    answer = await act(steps, run_id, "long", "STOP")
    # The stop is recorded at once; the process is told to terminate and still runs.
    assert name(answer.status) == "STOPPING"
    assert answer.error_info.error_code == "STOPPED"
    seen = await watch_until(stream, "STOPPED")
    assert seen == [("STOPPING", "STOPPING"), ("STOPPED", "STOPPED")]
    # The run failed with the stop, yet its watch waited for the exit; now it ends.
    assert [e async for e in stream] == []
    stopped = await get_step(steps, run_id, "long")
    assert name(stopped.status) == "STOPPED"
    assert [e.partition(" change status ")[2] for e in stopped.events[-2:]] == [
        "from running to stopping",
        "from stopping to stopped",
    ]


async def test_a_step_that_ignores_sigterm_is_stopping_until_it_is_killed(
    workflows: rpc.WorkflowServiceStub, steps: srpc.StepExecutionServiceStub
) -> None:
    text = (
        "name: stubborn\nentry_points:\n"
        "  deaf: {command: \"trap '' TERM; echo trap-set; sleep 30\"}\n"
    )
    run_id = (await run_yaml(workflows, text)).run_id
    # Running means its process started, not that its shell has set the trap yet: the
    # line it prints after the trap says it has.
    await assert_eventually(
        lambda: workflows.GetRunLog(rr.GetRunLogRequest(run_id=run_id, step_name="deaf")),
        lambda answer: any("trap-set" in log.log_content for log in answer.logs),
    )
    await act(steps, run_id, "deaf", "STOP")
    # Polled, not watched: it stays stopping for the kill grace period, then is stopped.
    still = await get_step(steps, run_id, "deaf")
    assert name(still.status) == "STOPPING"
    await assert_eventually(
        lambda: get_step(steps, run_id, "deaf"), lambda s: name(s.status) == "STOPPED"
    )


async def test_the_steps_of_a_stopped_run_are_stopping_until_their_processes_exit(
    workflows: rpc.WorkflowServiceStub, steps: srpc.StepExecutionServiceStub
) -> None:
    text = 'name: whole\nentry_points:\n  a: {command: "sleep 30"}\n  b: {command: "sleep 30"}\n'
    run_id = (await run_yaml(workflows, text)).run_id
    stream = steps.WatchStepExecutions(
        sr.WatchStepExecutionsRequest(run_id=run_id, timeout_seconds=20)
    ).__aiter__()
    seen: dict[str, list[str]] = {}
    async for event in stream:
        seen.setdefault(event.step_execution.step_name, []).append(name(event.status))
        if all(statuses[-1:] == ["RUNNING"] for statuses in seen.values()) and len(seen) == 2:
            break
    await workflows.StopRun(rr.StopRunRequest(run_id=run_id, force=True))
    async for event in stream:  # ends once the run has ended and both have exited
        seen[event.step_execution.step_name].append(name(event.status))
    assert {step: statuses[-3:] for step, statuses in seen.items()} == {
        "a": ["RUNNING", "STOPPING", "STOPPED"],
        "b": ["RUNNING", "STOPPING", "STOPPED"],
    }
