"""kill -9 the server while a stopped step's process is still exiting (it ignores SIGTERM,
so it lives through the kill grace period): started again on the same store, the server
finds the process from its records, stops it, and records its exit; the step goes from
stopping to stopped while the rest of the run goes on."""

from __future__ import annotations

from pathlib import Path

import grpc

from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import step_execution_request_response_pb2 as sr
from dagwire.v1 import step_execution_service_pb2_grpc as srpc
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import assert_eventually
from tests.processes import ServerProcess

SPEC = """
name: stubborn
failure_options: {strategy: continue}
entry_points:
  deaf: {command: "trap '' TERM; sleep 60"}
  other: {command: "sleep 60"}
"""


async def _status(address: str, run_id: str, step: str) -> int:
    async with grpc.aio.insecure_channel(address) as channel:
        request = sr.GetStepExecutionRequest(run_id=run_id, step_name=step)
        reply = await srpc.StepExecutionServiceStub(channel).GetStepExecution(request)
        return reply.step_execution.status


async def test_a_step_stopping_when_the_server_died_is_stopped_after_the_restart(
    tmp_path: Path,
) -> None:
    server = ServerProcess(tmp_path).start()
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = rpc.WorkflowServiceStub(channel)
            run_id = (await stub.CreateRun(rr.CreateRunRequest(run_yaml=SPEC))).run.run_id
            await assert_eventually(
                lambda: _status(server.address, run_id, "deaf"),
                lambda s: s == enums.STEP_EXECUTION_STATUS_RUNNING,
            )
            stop = sr.ActOnStepExecutionRequest(
                run_id=run_id, step_name="deaf", action=enums.STEP_ACTION_STOP
            )
            answer = await srpc.StepExecutionServiceStub(channel).ActOnStepExecution(stop)
            assert answer.step_execution.status == enums.STEP_EXECUTION_STATUS_STOPPING
    finally:
        server.kill()  # within the kill grace period: the process outlives the server
    again = ServerProcess(tmp_path, port=int(server.address.rsplit(":", 1)[1])).start()
    try:
        await assert_eventually(
            lambda: _status(again.address, run_id, "deaf"),
            lambda s: s == enums.STEP_EXECUTION_STATUS_STOPPED,
            timeout=20,
        )
        assert await _status(again.address, run_id, "other") == enums.STEP_EXECUTION_STATUS_RUNNING
        async with grpc.aio.insecure_channel(again.address) as channel:
            await rpc.WorkflowServiceStub(channel).StopRun(
                rr.StopRunRequest(run_id=run_id, force=True)
            )
    finally:
        again.stop()
