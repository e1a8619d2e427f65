"""Pipeline YAML from a caller is bounded: aliases are refused (a 450-byte alias bomb
stalled the server 19 s at 4.3 GB), nesting is capped, and an error quotes at most about
200 characters of what the caller sent."""

from __future__ import annotations

import time

import grpc
import pytest

from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.gateway.conftest import Gateway
from tests.gateway.workflows import WORKFLOW
from tests.security.bounds_clients import alias_bomb, gateway, server_overrides
from tests.workflow.conftest import field_violations

__all__ = ["gateway", "server_overrides"]  # fixtures

BOMB = alias_bomb(8)
BIGGER_BOMB = alias_bomb(9)  # the 548-byte variant stalled the server for minutes


async def create_pipeline(channel: grpc.aio.Channel, text: str) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await rpc.WorkflowServiceStub(channel).CreatePipeline(
            rr.CreatePipelineRequest(pipeline_yaml=text), timeout=10
        )
    return raised.value


@pytest.mark.parametrize("bomb", [BOMB, BIGGER_BOMB], ids=["9^8", "9^9"])
async def test_an_alias_bomb_is_invalid_argument_within_2_s_naming_the_rule(
    channel: grpc.aio.Channel, bomb: str
) -> None:
    assert len(bomb.encode()) < 600
    started = time.monotonic()
    error = await create_pipeline(channel, bomb)
    assert time.monotonic() - started < 2.0
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "aliases (*name) are not allowed" in error.details()


async def test_an_alias_bomb_as_a_run_yaml_is_refused_the_same_way(
    channel: grpc.aio.Channel,
) -> None:
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await rpc.WorkflowServiceStub(channel).CreateRun(
            rr.CreateRunRequest(run_yaml=BIGGER_BOMB), timeout=10
        )
    assert time.monotonic() - started < 2.0
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "aliases" in field_violations(raised.value)["run_yaml"]


async def test_an_alias_bomb_over_http_is_a_400_within_2_s(gateway: Gateway) -> None:
    started = time.monotonic()
    reply = await gateway.post(WORKFLOW + "pipeline/create", {"pipeline_yaml": BIGGER_BOMB})
    assert time.monotonic() - started < 2.0
    assert reply.status == 400
    assert "aliases (*name) are not allowed" in reply.body["message"]


async def test_deep_nesting_is_refused_naming_the_limit(channel: grpc.aio.Channel) -> None:
    error = await create_pipeline(channel, "name: deep\nparameters: " + "[" * 100_000)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "nests more than" in error.details()


async def test_an_integer_too_long_for_python_is_invalid_argument(
    channel: grpc.aio.Channel,
) -> None:
    text = "name: big\nparallelism: " + "9" * 100_000 + "\nentry_points: {s: {command: echo}}"
    error = await create_pipeline(channel, text)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len(error.details()) < 400


@pytest.mark.parametrize(
    "text",
    [
        "name: " + "n" * 500_000 + "\nentry_points: {s: {command: echo}}",
        "name: ok\nparallelism: '" + "p" * 500_000 + "'\nentry_points: {s: {command: echo}}",
        "name: ok\nentry_points: {s: {command: echo, deps: " + "d" * 500_000 + "}}",
        "name: ok\n" + "k" * 500_000 + ": 1\nentry_points: {s: {command: echo}}",
    ],
    ids=["name", "parallelism", "deps", "unknown-key"],
)
async def test_an_error_quotes_at_most_about_200_characters_of_a_caller_value(
    channel: grpc.aio.Channel, text: str
) -> None:
    error = await create_pipeline(channel, text)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len(error.details()) < 700
    for field, description in field_violations(error).items():
        assert len(field) <= 200 and len(description) <= 500, (field[:50], description[:50])
