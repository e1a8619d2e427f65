"""The same isolation on PostgreSQL (the scale-out store): a foreign resource answers as
a missing one, and lists hold only the caller's own. Skipped when no PostgreSQL answers
on 127.0.0.1:5432."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from dagwire.server.config import ServerConfig
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.security.tenancy import BOB, PROBES, World, build_world, target, twin, with_tokens
from tests.security.test_tenancy_grpc import _call
from tests.store.conftest import PG_ADMIN_DSN, _create_pg_database, _drop_pg_database


@pytest.fixture
async def database() -> AsyncIterator[str]:
    name = await _create_pg_database()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        await _drop_pg_database(name)


@pytest.fixture
def server_config(server_config: ServerConfig, tmp_path: Path, database: str) -> ServerConfig:
    return with_tokens(server_config, tmp_path, database_url=database)


@pytest.fixture
async def world(channel: grpc.aio.Channel) -> World:
    return await build_world(channel)


async def test_on_postgresql_a_foreign_resource_answers_as_a_missing_one(
    channel: grpc.aio.Channel, world: World
) -> None:
    mismatches = []
    for probe in PROBES:
        alices = target(world, probe)
        foreign = await _call(channel, probe, alices)
        missing = await _call(channel, probe, twin(alices))
        if foreign != missing.naming(twin(alices), alices):
            mismatches.append((probe.label, foreign, missing))
    assert mismatches == []
    workflows = rpc.WorkflowServiceStub(channel)
    assert (await workflows.ListPipelines(rr.ListPipelinesRequest(), metadata=BOB)).pipelines == []
    assert (await workflows.ListRuns(rr.ListRunsRequest(), metadata=BOB)).runs == []
    assert (await workflows.ListSchedules(rr.ListSchedulesRequest(), metadata=BOB)).schedules == []
