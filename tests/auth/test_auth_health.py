"""With --auth-health, health checks need credentials like everything else."""

from __future__ import annotations

import dataclasses

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from dagwire.server.config import ServerConfig
from tests.auth.conftest import ALICE


@pytest.fixture
def server_config(server_config: ServerConfig) -> ServerConfig:
    return dataclasses.replace(server_config, auth_health=True)


async def test_health_without_a_token_fails_unauthenticated(channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "missing token" in (refused.value.details() or "")


async def test_health_with_a_token_answers(channel: grpc.aio.Channel) -> None:
    response = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(), metadata=ALICE
    )
    assert response.status == health_pb2.HealthCheckResponse.SERVING
