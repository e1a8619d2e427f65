"""A step's figures are the kernel's, recorded by its reaper beside the exit status: a
step that finishes while the server is down (kill -9) still reports them once the server
is back, and they are stored with the run, so a later restart shows the same."""

from __future__ import annotations

from pathlib import Path

import grpc

from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.eventually import assert_eventually
from tests.processes import ServerProcess
from tests.security.sandboxing import one_step
from tests.statistics.conftest import BURN, MB

FINISHED = (enums.RUN_STATUS_SUCCEEDED, enums.RUN_STATUS_FAILED)


async def _run(address: str, run_id: str) -> rr.GetRunResponse:
    async with grpc.aio.insecure_channel(address) as channel:
        return await rpc.WorkflowServiceStub(channel).GetRun(rr.GetRunRequest(run_id=run_id))


async def _statistics(address: str, run_id: str) -> rr.GetStepStatisticsResponse:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = rpc.WorkflowServiceStub(channel)
        return await stub.GetStepStatistics(rr.GetStepStatisticsRequest(run_id=run_id))


async def test_figures_of_a_step_that_ended_while_the_server_was_down_survive_restarts(
    tmp_path: Path,
) -> None:
    server = ServerProcess(tmp_path).start()
    port = int(server.address.rsplit(":", 1)[1])
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = rpc.WorkflowServiceStub(channel)
            created = await stub.CreateRun(rr.CreateRunRequest(run_yaml=one_step(BURN)))
        run_id = created.run.run_id
        await assert_eventually(
            lambda: _run(server.address, run_id),
            lambda reply: reply.run.steps[0].status == enums.STEP_STATUS_RUNNING,
        )
    finally:
        server.kill()
    # The step ends, and its reaper records what it cost, while no server runs.
    await assert_eventually(
        lambda: [
            p
            for p in (tmp_path / "data").rglob("statistics.json")
            if '"complete":true' in p.read_text()
        ],
        what="the reaper's final record",
    )
    again = ServerProcess(tmp_path, port=port).start()
    try:
        await assert_eventually(
            lambda: _run(again.address, run_id), lambda reply: reply.run.status in FINISHED
        )
        first = await _statistics(again.address, run_id)
    finally:
        again.stop()
    third = ServerProcess(tmp_path, port=port).start()
    try:
        later = await _statistics(third.address, run_id)
    finally:
        third.stop()

    (entry,) = first.statistics
    assert entry.cpu_seconds >= 0.2
    assert entry.peak_memory_bytes >= 40 * MB
    assert entry.complete
    assert later == first


async def test_a_step_a_restarted_server_reattached_to_reports_its_final_figures(
    tmp_path: Path,
) -> None:
    server = ServerProcess(tmp_path).start()
    port = int(server.address.rsplit(":", 1)[1])
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = rpc.WorkflowServiceStub(channel)
            created = await stub.CreateRun(
                rr.CreateRunRequest(run_yaml=one_step(f"sleep 2; {BURN}"))
            )
        run_id = created.run.run_id
        await assert_eventually(
            lambda: _run(server.address, run_id),
            lambda reply: reply.run.steps[0].status == enums.STEP_STATUS_RUNNING,
        )
    finally:
        server.kill()
    # Back while the step still runs: the server watches it as a process not its child.
    again = ServerProcess(tmp_path, port=port).start()
    try:
        done = await assert_eventually(
            lambda: _run(again.address, run_id), lambda reply: reply.run.status in FINISHED
        )
        reply = await _statistics(again.address, run_id)
    finally:
        again.stop()

    assert done.run.status == enums.RUN_STATUS_SUCCEEDED
    (entry,) = reply.statistics
    assert entry.complete
    assert entry.cpu_seconds >= 0.2
    assert entry.wall_seconds >= 2.0
