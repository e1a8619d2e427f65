"""ModelArts' path read as plain HTTP (as curl would): what a body that is not a
StepExecutionAction gets, in ModelArts' error shape."""

from __future__ import annotations

import pytest

from tests.gateway.conftest import Gateway
from tests.gateway.workflows import STEPS, call, create_run, wait_finished

FAILING = 'name: f\nentry_points:\n  a: {command: "exit 1", parameters: {mode: x}}\n'


async def actions_path(gateway: Gateway) -> str:
    run_id = await create_run(gateway, FAILING)
    await wait_finished(gateway, run_id)
    step = (await call(gateway, STEPS + "get", {"run_id": run_id, "step_name": "a"}))[
        "step_execution"
    ]
    return (
        f"/v2/dagwire/workflows/{step['workflow_id']}/executions/{run_id}"
        f"/step-executions/{step['uuid']}/actions"
    )


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param(b"{", "the body is not JSON", id="not-json"),
        pytest.param(b"[]", "body must be a JSON object", id="not-an-object"),
        pytest.param(b'{"action": "retry"}', "unknown fields: action", id="dagwire-field"),
        pytest.param(b'{"action_name": "RETRY"}', "action_name must be one of", id="case"),
        pytest.param(
            b'{"action_name": "retry", "parameters": [{"name": "mode", "vale": 1}]}',
            "parameters[0] has unknown fields: vale",
            id="parameter-typo",
        ),
        pytest.param(
            b'{"action_name": "retry", "parameters": {"mode": 1}}',
            "parameters must be a JSON array",
            id="parameters-not-a-list",
        ),
    ],
)
async def test_a_body_that_is_not_an_action_is_400_modelarts_0104(
    gateway: Gateway, body: bytes, words: str
) -> None:
    reply = await gateway.post(await actions_path(gateway), data=body)
    assert reply.status == 400
    assert set(reply.body) == {"error_code", "error_msg"}
    assert reply.body["error_code"] == "ModelArts.0104"
    assert words in reply.body["error_msg"]


async def test_a_json_number_value_is_checked_as_its_type(gateway: Gateway) -> None:
    path = await actions_path(gateway)
    body = {"action_name": "retry", "parameters": [{"name": "mode", "type": "int", "value": 2.5}]}
    reply = await gateway.post(path, body)
    assert (reply.status, reply.body["error_code"]) == (400, "ModelArts.0104")
    assert "'2.5' is not of type int" in reply.body["error_msg"]

    body["parameters"][0]["value"] = 3  # type: ignore[index]
    accepted = await gateway.post(path, body)
    assert accepted.status == 201
    assert accepted.body["status"] in ("pending", "creating", "running", "failed")
