"""A step's CPU time, peak memory and wall time come from the kernel's accounting of its
sandboxed process tree (server/executors/reaper.py), through GetRun and
GetStepStatistics."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import grpc
import pytest

from dagwire.server.config import ServerConfig
from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.security.sandboxing import ALICE, one_step, run_to_end, step_log
from tests.statistics.conftest import BURN, MB, SLEEP, took


async def test_a_busy_step_reports_its_cpu_time_peak_memory_and_wall_time(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    run = await run_to_end(workflows, one_step(BURN))
    assert run.status == enums.RUN_STATUS_SUCCEEDED, run

    reply = await workflows.GetStepStatistics(
        rr.GetStepStatisticsRequest(run_id=run.run_id), metadata=ALICE
    )

    (entry,) = reply.statistics
    duration = took(await step_log(workflows, run.run_id, "probe"))
    assert (entry.step_name, entry.attempt, entry.exit_code, entry.complete) == (
        "probe",
        1,
        0,
        True,
    )
    assert entry.cpu_seconds >= 0.2
    assert entry.cpu_seconds == entry.user_cpu_seconds + entry.system_cpu_seconds
    assert entry.peak_memory_bytes >= 40 * MB
    assert entry.wall_seconds >= duration
    assert not entry.samples  # the totals only, unless asked


async def test_a_sleeping_step_reports_near_zero_cpu(workflows: rpc.WorkflowServiceStub) -> None:
    run = await run_to_end(workflows, one_step(SLEEP))

    reply = await workflows.GetStepStatistics(
        rr.GetStepStatisticsRequest(run_id=run.run_id, step_name="probe"), metadata=ALICE
    )

    (entry,) = reply.statistics
    assert entry.cpu_seconds < 0.15
    assert entry.wall_seconds >= 1.0


async def test_get_run_shows_each_finished_step_with_its_statistics(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    run = await run_to_end(workflows, one_step(BURN))

    step = run.steps[0]
    assert step.HasField("statistics")
    assert (step.statistics.job_id, step.statistics.attempt) == (step.job_id, step.attempt)
    assert step.statistics.peak_memory_bytes >= 40 * MB


async def test_samples_trace_the_process_tree_over_time_when_asked(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    run = await run_to_end(workflows, one_step(SLEEP))

    reply = await workflows.GetStepStatistics(
        rr.GetStepStatisticsRequest(run_id=run.run_id, with_samples=True), metadata=ALICE
    )

    samples = reply.statistics[0].samples
    times = [s.time.ToNanoseconds() for s in samples]
    assert len(samples) >= 2
    assert times == sorted(times)
    assert max(s.rss_bytes for s in samples) > 0  # the sleeping tree was resident
    # The last sample is the final total (kept to the millisecond).
    assert samples[-1].cpu_seconds == pytest.approx(reply.statistics[0].cpu_seconds, abs=1e-3)


async def test_statistics_of_an_unknown_step_are_not_found(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    run = await run_to_end(workflows, one_step(SLEEP))

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await workflows.GetStepStatistics(
            rr.GetStepStatisticsRequest(run_id=run.run_id, step_name="nope"), metadata=ALICE
        )

    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert "step" in (caught.value.details() or "")


async def test_deleting_a_run_forgets_its_figures(
    workflows: rpc.WorkflowServiceStub, server_config: ServerConfig
) -> None:
    run = await run_to_end(workflows, one_step(SLEEP))
    database = server_config.data_dir / "dagwire.db"
    assert _usage_rows(database, run.run_id) == 1

    await workflows.DeleteRun(rr.DeleteRunRequest(run_id=run.run_id), metadata=ALICE)

    assert _usage_rows(database, run.run_id) == 0


def _usage_rows(database: Path, job_id: str) -> int:
    with closing(sqlite3.connect(database)) as conn:
        query = "SELECT COUNT(*) FROM process_usage WHERE job_id = ?"
        return int(conn.execute(query, (job_id,)).fetchone()[0])
