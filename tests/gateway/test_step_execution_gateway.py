"""StepExecutionService over the HTTP/JSON gateway: read, list, act on and watch the
steps of a run, with gRPC statuses as HTTP statuses."""

from __future__ import annotations

from pathlib import Path

import grpc

from tests.conftest import assert_eventually
from tests.gateway.conftest import Gateway
from tests.gateway.workflows import (
    DEMO,
    STEPS,
    call,
    create_run,
    ndjson,
    violations,
    wait_finished,
)


async def get_step(gateway: Gateway, run_id: str, name: str) -> dict[str, object]:
    answer = await call(gateway, STEPS + "get", {"run_id": run_id, "step_name": name})
    step: dict[str, object] = answer["step_execution"]
    return step


async def test_retrying_a_failed_step_leads_the_run_to_success(
    gateway: Gateway, tmp_path: Path
) -> None:
    marker = tmp_path / "ready"
    run_yaml = (
        "name: second-chance\nentry_points:\n"
        '  fetch: {command: "echo fetched"}\n'
        f'  train: {{command: "test -f {marker}", deps: fetch}}\n'
    )
    run_id = await create_run(gateway, run_yaml)
    assert (await wait_finished(gateway, run_id))["status"] == "RUN_STATUS_FAILED"
    before = await get_step(gateway, run_id, "train")
    assert (before["status"], before["attempt"]) == ("STEP_EXECUTION_STATUS_FAILED", 1)

    marker.touch()
    acted = await call(
        gateway,
        STEPS + "act",
        {"run_id": run_id, "step_name": "train", "action": "STEP_ACTION_RETRY"},
    )
    assert acted["step_execution"]["uuid"] == before["uuid"]
    assert (await wait_finished(gateway, run_id))["status"] == "RUN_STATUS_SUCCEEDED"
    after = await get_step(gateway, run_id, "train")
    assert (after["status"], after["attempt"]) == ("STEP_EXECUTION_STATUS_COMPLETED", 2)


async def test_an_action_the_step_cannot_take_is_a_400_failed_precondition(
    gateway: Gateway,
) -> None:
    run_id = await create_run(gateway)
    await wait_finished(gateway, run_id)
    reply = await gateway.post(
        STEPS + "act", {"runId": run_id, "stepName": "a", "action": "STEP_ACTION_STOP"}
    )
    assert reply.status == 400
    assert reply.body["code"] == grpc.StatusCode.FAILED_PRECONDITION.value[0]


async def test_an_act_without_an_action_names_the_field(gateway: Gateway) -> None:
    run_id = await create_run(gateway)
    reply = await gateway.post(STEPS + "act", {"run_id": run_id, "step_name": "a"})
    assert reply.status == 400
    assert "action" in violations(reply.body)


async def test_the_steps_of_a_run_are_listed(gateway: Gateway) -> None:
    run_id = await create_run(gateway, DEMO)
    await wait_finished(gateway, run_id)
    listed = await call(gateway, STEPS + "list", {"run_id": run_id})
    assert {s["step_name"]: s["status"] for s in listed["step_executions"]} == {
        "a": "STEP_EXECUTION_STATUS_COMPLETED",
        "b": "STEP_EXECUTION_STATUS_COMPLETED",
    }


async def test_a_step_of_an_unknown_run_is_a_404(gateway: Gateway) -> None:
    reply = await gateway.post(STEPS + "get", {"run_id": "run-nope", "step_name": "a"})
    assert reply.status == 404


async def test_the_step_watch_streams_every_transition_and_ends_with_the_run(
    gateway: Gateway,
) -> None:
    run_id = await create_run(gateway, DEMO)
    seen: dict[str, list[str]] = {}
    async for event in ndjson(gateway, STEPS + "watch", {"run_id": run_id, "timeout_seconds": 20}):
        step = event["step_execution"]["step_name"]
        seen.setdefault(step, []).append(event["status"].removeprefix("STEP_EXECUTION_STATUS_"))
    assert seen["b"][-1] == "COMPLETED" and seen["a"][-1] == "COMPLETED"


async def test_watching_the_steps_of_an_unknown_run_is_a_404(gateway: Gateway) -> None:
    reply = await gateway.post(STEPS + "watch", {"run_id": "run-nope"})
    assert reply.status == 404
    assert reply.body["code"] == grpc.StatusCode.NOT_FOUND.value[0]


async def test_metrics_count_http_calls_by_grpc_code(gateway: Gateway) -> None:
    await gateway.post(STEPS + "get", {"run_id": "run-nope", "step_name": "a"})

    async def exposition() -> str:
        async with gateway.session.get("/metrics") as response:
            return await response.text()

    text = await assert_eventually(exposition, lambda text: "GetStepExecution" in text)
    (line,) = [
        line
        for line in text.splitlines()
        if line.startswith("dagwire_rpc_handled_total") and "GetStepExecution" in line
    ]
    assert 'transport="http"' in line and 'code="NOT_FOUND"' in line
