"""The step calls of both clients against a real server: list, get (by name or by uuid
alone), retry with a parameter, stop, continue with data, and the watch, as typed
results."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from dagwire.client import (
    AsyncDagwireClient,
    DagwireClient,
    InvalidArgumentError,
    NotFoundError,
    RunStatus,
    StepExecution,
    StepExecutionStatus,
)

GATED = """
name: gated
entry_points:
  train:
    command: "test {{mode}} = fixed"
    parameters: {mode: broken}
  ship: {command: "echo shipped", deps: train}
"""
CONFIRM = """
name: confirm
entry_points:
  publish:
    hold: true
    command: "echo publishing {{target}}"
    parameters: {target: staging}
"""
SLOW = 'name: slow\nentry_points:\n  nap: {command: "sleep 30"}\n'


@pytest.fixture
def client(dagwire_server: Any) -> Iterator[DagwireClient]:
    with DagwireClient(target=dagwire_server.address, timeout=10) as client:
        yield client


@pytest.fixture
async def async_client(dagwire_server: Any) -> AsyncIterator[AsyncDagwireClient]:
    async with AsyncDagwireClient(target=dagwire_server.address, timeout=10) as client:
        yield client


def wait_for(client: DagwireClient, run_id: str, name: str, status: StepExecutionStatus) -> None:
    for change in client.watch_steps(run_id, [name], timeout_seconds=20):
        if change.status is status:
            return
    raise AssertionError(f"{name} never became {status.value}")


def test_a_failed_step_retried_with_a_fixing_parameter_lets_the_run_succeed(
    client: DagwireClient,
) -> None:
    handle = client.create_run(GATED)
    assert handle.result(timeout=20).status is RunStatus.FAILED
    failed = client.list_steps(handle.run_id, status="failed").items
    assert [s.step_name for s in failed] == ["train"]

    retried = client.retry_step(handle.run_id, "train", parameters={"mode": "fixed"})

    assert isinstance(retried, StepExecution) and retried.uuid == failed[0].uuid
    assert handle.result(timeout=20).status is RunStatus.SUCCEEDED
    train = client.get_step(uuid=failed[0].uuid)
    assert (train.run_id, train.status, train.attempt) == (
        handle.run_id,
        StepExecutionStatus.COMPLETED,
        2,
    )


def test_a_held_step_continues_with_data_and_a_running_one_stops(client: DagwireClient) -> None:
    held = client.create_run(CONFIRM)
    wait_for(client, held.run_id, "publish", StepExecutionStatus.HOLD)
    client.continue_step(held.run_id, "publish", data={"target": "production"})
    assert held.result(timeout=20).status is RunStatus.SUCCEEDED
    assert held.logs("publish")[0].log_content == "publishing production\n"

    slow = client.create_run(SLOW)
    wait_for(client, slow.run_id, "nap", StepExecutionStatus.RUNNING)
    stopping = client.stop_step(slow.run_id, "nap")
    # The answer comes before the process has exited: stopping, then stopped.
    assert stopping.status is StepExecutionStatus.STOPPING
    wait_for(client, slow.run_id, "nap", StepExecutionStatus.STOPPED)


def test_refusals_are_typed_errors(client: DagwireClient) -> None:
    handle = client.create_run(GATED)
    handle.result(timeout=20)
    with pytest.raises(InvalidArgumentError) as refused:
        client.retry_step(handle.run_id, "train", parameters={"epochs": 3})
    assert "parameters.epochs" in str(refused.value)
    with pytest.raises(NotFoundError):
        client.get_step(handle.run_id, "nope")


async def test_the_async_client_makes_the_same_calls(async_client: AsyncDagwireClient) -> None:
    handle = await async_client.create_run(GATED)
    await handle.result(timeout=20)
    retried = await async_client.retry_step(handle.run_id, "train", parameters={"mode": "fixed"})
    assert retried.step_name == "train"
    seen = [
        (change.step.step_name, change.status)
        async for change in async_client.watch_steps(handle.run_id, timeout_seconds=20)
    ]
    assert seen[-1] == ("ship", StepExecutionStatus.COMPLETED)
    train = await async_client.get_step(handle.run_id, "train")
    assert train.attempt == 2
