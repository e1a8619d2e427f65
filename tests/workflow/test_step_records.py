"""A step's artifacts and cache entry are recorded with the save of its successful exit,
in the same transaction: an exit whose save fails, or a stale one that makes nothing
succeed, records nothing."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from dagwire.server.engine.model import ChangeType, JobKind, TaskState
from dagwire.server.executors.base import PartyExited, PartyKey, PartyProgress, StepOutputs
from dagwire.server.store import sql
from dagwire.server.store.workflow import artifacts, cache_entries
from dagwire.server.workflow.compile import RUN_DOMAIN
from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import ServerThread, assert_eventually
from tests.workflow.conftest import get_run, run_yaml, step_statuses, wait_finished

CACHED = """
name: cached
cache: {enable: true, max_expired_time: -1}
entry_points:
  a: {command: "echo a > {{out}}", artifacts: {output: [out]}}
"""


def records_in(conn: Connection) -> tuple[int, int]:
    """Artifacts and cache entries as `conn`'s transaction sees them."""
    return (
        int(conn.scalar(select(func.count()).select_from(artifacts)) or 0),
        int(conn.scalar(select(func.count()).select_from(cache_entries)) or 0),
    )


async def stored_records(server: ServerThread) -> tuple[int, int]:
    engine = create_async_engine(server.config.store_url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(records_in)
    finally:
        await engine.dispose()


def saves_a_success(plans: Sequence[Any]) -> bool:
    return any(
        plan.type is ChangeType.MODIFIED
        and plan.job.spec.kind is JobKind.RUN
        and any(task.state is TaskState.SUCCEEDED for task in plan.job.tasks)
        for plan in plans
    )


async def test_an_exit_whose_save_fails_records_no_artifact_and_no_cache_entry(
    workflows: rpc.WorkflowServiceStub,
    dagwire_server: ServerThread,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_rows = sql._write_rows
    failed = threading.Event()
    seen_in_transaction: list[tuple[int, int]] = []

    def failing_success(conn: Connection, plans: Sequence[Any]) -> None:
        if saves_a_success(plans):
            seen_in_transaction.append(records_in(conn))
            failed.set()
            raise RuntimeError("the disk is full")
        write_rows(conn, plans)

    monkeypatch.setattr(sql, "_write_rows", failing_success)

    await run_yaml(workflows, CACHED)

    assert await asyncio.to_thread(failed.wait, 20)
    assert seen_in_transaction[0] == (1, 1)  # written by the save's transaction ...
    assert await stored_records(dagwire_server) == (0, 0)  # ... and gone with it


async def test_a_stale_exit_report_records_nothing(
    workflows: rpc.WorkflowServiceStub, dagwire_server: ServerThread, work_dir: Path
) -> None:
    text = f"""
name: waits
cache: {{enable: true, max_expired_time: -1}}
entry_points:
  a:
    command: "echo a > {{{{out}}}}; while [ ! -f {work_dir}/go ]; do sleep 0.05; done"
    artifacts: {{output: [out]}}
"""
    run = await run_yaml(workflows, text)
    step = (
        await assert_eventually(
            lambda: get_run(workflows, run.run_id),
            lambda got: step_statuses(got).get("a") == "STEP_STATUS_RUNNING",
        )
    ).steps[0]
    assert dagwire_server.server is not None
    # A success of an attempt that is not the running one, naming an output of its own,
    # in one batch with a progress report of the running attempt: a save it rides along.
    key = PartyKey(run.run_id, step.job_id, RUN_DOMAIN, step.attempt)
    stale = PartyExited(
        replace(key, attempt=key.attempt - 1),
        0,
        step_outputs=StepOutputs(
            outputs={"ghost": str(work_dir / "ghost")}, first_fp="f", second_fp="s"
        ),
    )
    runtime = dagwire_server.server.runtime
    dagwire_server.call_soon(lambda: [runtime.report(r) for r in (stale, PartyProgress(key, 0.5))])
    (work_dir / "go").touch()  # a job's reports are applied in order: those two first

    finished = await wait_finished(workflows, run.run_id)

    assert finished.status == enums.RUN_STATUS_SUCCEEDED
    assert await stored_records(dagwire_server) == (1, 1)  # the real exit's only
    listed = await workflows.ListArtifacts(rr.ListArtifactsRequest(filter=f"run_id={run.run_id}"))
    assert [artifact.name for artifact in listed.artifacts] == ["out"]


async def test_a_step_that_succeeds_has_its_artifacts_and_cache_entry_recorded(
    workflows: rpc.WorkflowServiceStub, dagwire_server: ServerThread
) -> None:
    run = await wait_finished(workflows, (await run_yaml(workflows, CACHED)).run_id)

    assert run.status == enums.RUN_STATUS_SUCCEEDED
    assert await stored_records(dagwire_server) == (1, 1)
