"""Health answers through the whole interceptor chain (request ids, metrics, and with
--auth-health authentication), whatever the shape of its handlers: Check returns its
response, Watch writes its responses with `context.write`."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from dagwire.server.config import ServerConfig
from tests.conftest import ServerThread

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
TOKEN = "probe-4b1e7d"
Metadata = tuple[tuple[str, str], ...]


@dataclasses.dataclass
class Probe:
    server: ServerThread
    metadata: Metadata


@pytest.fixture(params=["open", "auth-health"])
async def probe(
    request: pytest.FixtureRequest, server_config: ServerConfig, tmp_path: Path
) -> AsyncIterator[Probe]:
    """A server of its own (the Watch test shuts it down), with health open to every
    caller or, with --auth-health, behind a token."""
    metadata: Metadata = (("x-request-id", "probe-1"),)
    if request.param == "auth-health":
        tokens = tmp_path / "tokens.yaml"
        tokens.write_text(f"tokens:\n  - {{token: {TOKEN}, name: probe}}\n")
        server_config = dataclasses.replace(server_config, token_file=tokens, auth_health=True)
        metadata += (("token", TOKEN),)
    server = ServerThread(server_config)
    server.start()
    try:
        yield Probe(server, metadata)
    finally:
        server.stop()


async def test_check_answers_serving_with_its_request_id(probe: Probe) -> None:
    async with grpc.aio.insecure_channel(probe.server.address) as channel:
        call = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), metadata=probe.metadata
        )
        assert (await call).status == SERVING
        assert dict(await call.trailing_metadata())["x-request-id"] == "probe-1"


async def test_watch_sees_serving_then_not_serving_at_graceful_shutdown(probe: Probe) -> None:
    async with grpc.aio.insecure_channel(probe.server.address) as channel:
        call = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(), metadata=probe.metadata
        )
        assert (await call.read()).status == SERVING
        stopping = asyncio.create_task(asyncio.to_thread(probe.server.stop))
        assert (await call.read()).status == NOT_SERVING
        await stopping
