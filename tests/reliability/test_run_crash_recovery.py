"""kill -9 the server while a pipeline run's step writes an artifact, start it again on
the same store: the run finishes, the step that finished while the server was down is
recorded from its exit record (its artifact registered, its dependent fed), and no step
runs twice."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc

from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import message_pb2 as pb
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.eventually import assert_eventually
from tests.processes import ServerProcess

SPEC = """
name: crash
entry_points:
  first: {{command: "echo first >> {work}/ran"}}
  slow:
    deps: first
    command: "echo slow >> {work}/ran; sleep 1.5; echo model > {{{{model}}}}"
    artifacts: {{output: [model]}}
  use:
    deps: slow
    command: "echo use >> {work}/ran; cat {{{{m}}}}"
    artifacts: {{input: {{m: "{{{{slow.model}}}}"}}}}
"""


async def _get(address: str, run_id: str) -> rr.GetRunResponse:
    async with grpc.aio.insecure_channel(address) as channel:
        return await rpc.WorkflowServiceStub(channel).GetRun(rr.GetRunRequest(run_id=run_id))


async def _until(
    address: str, run_id: str, accept: Callable[[pb.Run], bool], timeout: float = 20
) -> rr.GetRunResponse:
    return await assert_eventually(
        lambda: _get(address, run_id), lambda reply: accept(reply.run), timeout=timeout
    )


def _exit_records(root: Path, step: str) -> list[Path]:
    """The exit records the executor wrote for `step`'s processes (tasks/<run>/<task>/...)."""
    return [
        path
        for path in root.rglob("exit_status")
        if path.relative_to(root).parts[-4].endswith(f"-{step}")
    ]


async def test_a_run_survives_a_kill_while_a_step_runs(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    server = ServerProcess(tmp_path).start()
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = rpc.WorkflowServiceStub(channel)
            run = (await stub.CreateRun(rr.CreateRunRequest(run_yaml=SPEC.format(work=work)))).run
        await _until(
            server.address,
            run.run_id,
            lambda r: {s.name: s.status for s in r.steps}["slow"] == enums.STEP_STATUS_RUNNING,
        )
    finally:
        server.kill()
    # `slow` finishes and writes its exit record while no server runs.
    await assert_eventually(lambda: _exit_records(tmp_path, "slow"), what="slow's exit record")
    again = ServerProcess(tmp_path, port=int(server.address.rsplit(":", 1)[1])).start()
    try:
        done = await _until(
            again.address,
            run.run_id,
            lambda r: r.status in (enums.RUN_STATUS_SUCCEEDED, enums.RUN_STATUS_FAILED),
        )
        assert done.run.status == enums.RUN_STATUS_SUCCEEDED, done.run
        ran = (work / "ran").read_text().split()
        assert sorted(ran) == ["first", "slow", "use"]
        async with grpc.aio.insecure_channel(again.address) as channel:
            stub = rpc.WorkflowServiceStub(channel)
            logs = await stub.GetRunLog(rr.GetRunLogRequest(run_id=run.run_id, step_name="use"))
            artifacts = await stub.ListArtifacts(
                rr.ListArtifactsRequest(filter=f"run_id={run.run_id} AND step_name=slow")
            )
        assert logs.logs[0].log_content == "model\n"
        assert [a.name for a in artifacts.artifacts] == ["model"]
    finally:
        again.stop()
