"""A party lost with its server (its process gone without an exit record when the server
comes back) leaves a trace: the relaunched task's status says when and as which attempt,
in QueryJob, GetRun and the CLI, and the server logs it."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import structlog
from click.testing import CliRunner

from dagwire.client.cli import main
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from dagwire.server.config import ServerConfig
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as workflow_rpc
from tests.api.conftest import create_ok, job_request, sleeping
from tests.conftest import ServerThread, assert_eventually

RELAUNCHED = re.compile(
    r"party alice lost with its server \(.+\), found at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; "
    r"relaunched as attempt 2"
)
LONG_RUN = """
name: long
entry_points:
  wait: {command: "sleep 30"}
"""


class Restarts:
    """Servers one after another on the same data dir; the party processes of the one
    stopped are killed (-9, no exit record) before the next starts."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.current = ServerThread(config)
        self.current.start()

    def restart_losing_every_party(self) -> ServerThread:
        self.current.stop()  # graceful: the parties run on, to be recovered
        for pid_file in self.config.data_dir.rglob("pid"):
            os.killpg(int(pid_file.read_text()), signal.SIGKILL)
        self.current = ServerThread(dataclasses.replace(self.config, listen="127.0.0.1:0"))
        self.current.start()
        return self.current


@pytest.fixture
def restarts(server_config: ServerConfig) -> Iterator[Restarts]:
    servers = Restarts(server_config)
    try:
        yield servers
    finally:
        servers.current.stop()


async def task_status(address: str, job_id: str) -> pb.TaskStatus:
    async with grpc.aio.insecure_channel(address) as channel:
        response = await job_pb2_grpc.JobServiceStub(channel).QueryJob(
            pb.QueryJobRequest(job_id=job_id)
        )
    return response.data.status.tasks[0]


async def test_query_job_and_the_cli_say_the_party_was_lost_and_relaunched(
    restarts: Restarts, tmp_path: Path
) -> None:
    async with grpc.aio.insecure_channel(restarts.current.address) as channel:
        request = job_request("job-lost", sleeping("wait", 30, parties=("alice",)))
        await create_ok(job_pb2_grpc.JobServiceStub(channel), request)
    await assert_eventually(
        lambda: task_status(restarts.current.address, "job-lost"),
        lambda task: task.state == "Running" and bool(list(tmp_path.rglob("pid"))),
    )
    with structlog.testing.capture_logs() as logs:
        server = restarts.restart_losing_every_party()
        task = await assert_eventually(
            lambda: task_status(server.address, "job-lost"),
            lambda task: "relaunched" in task.err_msg,
        )
    assert task.state == "Running"
    assert RELAUNCHED.fullmatch(task.err_msg), task.err_msg
    lost = [line for line in logs if line["event"] == "party lost"]
    assert [(line["job_id"], line["domain"], line["reason"]) for line in lost] == [
        ("job-lost", "alice", task.err_msg)
    ]
    shown = CliRunner().invoke(main, ["--target", server.address, "job", "get", "job-lost"])
    assert "relaunched as attempt 2" in " ".join(shown.output.split()), shown.output


async def test_get_run_says_the_step_was_lost_and_relaunched(restarts: Restarts) -> None:
    async def run(address: str, run_id: str) -> rr.GetRunResponse:
        async with grpc.aio.insecure_channel(address) as channel:
            stub = workflow_rpc.WorkflowServiceStub(channel)
            return await stub.GetRun(rr.GetRunRequest(run_id=run_id))

    async with grpc.aio.insecure_channel(restarts.current.address) as channel:
        created = await workflow_rpc.WorkflowServiceStub(channel).CreateRun(
            rr.CreateRunRequest(run_yaml=LONG_RUN)
        )
    run_id = created.run.run_id
    await assert_eventually(
        lambda: run(restarts.current.address, run_id),
        lambda got: any(restarts.config.data_dir.rglob("pid")),
    )
    server = restarts.restart_losing_every_party()
    got = await assert_eventually(
        lambda: run(server.address, run_id),
        lambda got: "relaunched" in got.run.steps[0].message,
    )
    step = got.run.steps[0]
    assert re.search(r"lost with its server .*relaunched as attempt 2", step.message)
