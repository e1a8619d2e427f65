"""The figures ride with the exit on PostgreSQL too (the scale-out store). Skipped when
no PostgreSQL answers on 127.0.0.1:5432."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from dagwire.server.config import ServerConfig
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.security.sandboxing import ALICE, one_step, run_to_end
from tests.statistics.conftest import BURN, MB
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
def server_config(server_config: ServerConfig, database: str) -> ServerConfig:
    return dataclasses.replace(server_config, database_url=database)


async def test_on_postgresql_a_steps_figures_are_stored_with_its_exit(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    run = await run_to_end(workflows, one_step(BURN))

    reply = await workflows.GetStepStatistics(
        rr.GetStepStatisticsRequest(run_id=run.run_id), metadata=ALICE
    )

    (entry,) = reply.statistics
    assert entry.cpu_seconds >= 0.2
    assert entry.peak_memory_bytes >= 40 * MB
