"""A step has the network only when it asks for it (`network: true`) and the operator
allows it (--sandbox-network)."""

from __future__ import annotations

import dataclasses

import pytest

from dagwire.server.config import ServerConfig
from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.security.sandboxing import (
    PYTHON,
    loopback_listener,
    one_step,
    run_to_end,
    token_file,
    workflows,
)
from tests.security.sandboxing import server_config as sandboxed_config

__all__ = ["loopback_listener", "sandboxed_config", "token_file", "workflows"]  # fixtures


@pytest.fixture
def allowed() -> bool:
    return True


@pytest.fixture
def server_config(sandboxed_config: ServerConfig, allowed: bool) -> ServerConfig:
    return dataclasses.replace(sandboxed_config, sandbox_network=allowed)


def connecting(port: int, asks: bool) -> str:
    code = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5)"
    return one_step(f'{PYTHON} -c "{code}"', network="true" if asks else "false")


async def test_a_step_that_asks_gets_the_network_the_operator_allows(
    workflows: rpc.WorkflowServiceStub, loopback_listener: tuple[int, list[str]]
) -> None:
    port, connected = loopback_listener
    run = await run_to_end(workflows, connecting(port, asks=True))
    assert run.status == enums.RUN_STATUS_SUCCEEDED
    assert len(connected) == 1


async def test_a_step_that_does_not_ask_has_none(
    workflows: rpc.WorkflowServiceStub, loopback_listener: tuple[int, list[str]]
) -> None:
    port, connected = loopback_listener
    run = await run_to_end(workflows, connecting(port, asks=False))
    assert run.status == enums.RUN_STATUS_FAILED
    assert connected == []


@pytest.mark.parametrize("allowed", [False])
async def test_without_the_operators_leave_asking_gets_nothing(
    workflows: rpc.WorkflowServiceStub, loopback_listener: tuple[int, list[str]]
) -> None:
    port, connected = loopback_listener
    run = await run_to_end(workflows, connecting(port, asks=True))
    assert run.status == enums.RUN_STATUS_FAILED
    assert connected == []
