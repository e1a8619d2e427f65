"""CreateRun is one write transaction: the run's record and the request's key ride with
its job's insert, so a failed create leaves nothing behind and racing requests with one
request_id make exactly one run; on SQLite and on PostgreSQL (skipped, saying why,
where none answers)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from dagwire.server.engine.model import JobKind
from dagwire.server.store import sql
from dagwire.server.store.workflow import request_keys, runs
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import ServerThread
from tests.store.conftest import PG_ADMIN_DSN, _create_pg_database, _drop_pg_database

SPEC = "name: once\nentry_points:\n  say: {command: 'echo hi'}\n"
RACERS = 20


@pytest.fixture(params=["sqlite", "postgresql"])
async def server_overrides(request: pytest.FixtureRequest) -> AsyncIterator[dict[str, Any]]:
    if request.param == "sqlite":
        yield {}
        return
    database = await _create_pg_database()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield {"database_url": f"{base}/{database}"}
    finally:
        await _drop_pg_database(database)


async def stored_rows(server: ServerThread) -> tuple[int, int]:
    """How many run records and request keys the server's database holds."""
    engine = create_async_engine(server.config.store_url)
    try:
        async with engine.connect() as conn:
            records = await conn.scalar(select(func.count()).select_from(runs))
            keys = await conn.scalar(select(func.count()).select_from(request_keys))
    finally:
        await engine.dispose()
    return int(records or 0), int(keys or 0)


def create(request_id: str) -> rr.CreateRunRequest:
    return rr.CreateRunRequest(run_yaml=SPEC, request_id=request_id)


async def test_racing_creates_with_one_request_id_make_exactly_one_run(
    workflows: rpc.WorkflowServiceStub, dagwire_server: ServerThread
) -> None:
    answers = await asyncio.gather(
        *(workflows.CreateRun(create("same-key")) for _ in range(RACERS))
    )

    assert len({answer.run.run_id for answer in answers}) == 1
    listed = await workflows.ListRuns(rr.ListRunsRequest())
    assert [run.run_id for run in listed.runs] == [answers[0].run.run_id]
    assert await stored_rows(dagwire_server) == (1, 1)


async def test_a_create_whose_job_write_fails_leaves_no_record_and_no_request_key(
    workflows: rpc.WorkflowServiceStub,
    dagwire_server: ServerThread,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_rows = sql._write_rows

    def failing_for_runs(conn: Any, plans: Sequence[Any]) -> None:
        # The run's job row is written after its riders, in the same transaction.
        if any(plan.job.spec.kind is JobKind.RUN for plan in plans):
            raise RuntimeError("the disk is full")
        write_rows(conn, plans)

    monkeypatch.setattr(sql, "_write_rows", failing_for_runs)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await workflows.CreateRun(create("key-1"))

    assert raised.value.code() is grpc.StatusCode.INTERNAL
    assert await stored_rows(dagwire_server) == (0, 0)
    monkeypatch.setattr(sql, "_write_rows", write_rows)
    again = await workflows.CreateRun(create("key-1"))  # the key was not taken
    assert await stored_rows(dagwire_server) == (1, 1)
    got = await workflows.GetRun(rr.GetRunRequest(run_id=again.run.run_id))
    assert got.run.run_id == again.run.run_id
