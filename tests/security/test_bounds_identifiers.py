"""Identifiers that name directories (job, task and party domain ids; step and
artifact names) are refused at the door when they could name a path outside their directory: 11100 on
JobService, INVALID_ARGUMENT on WorkflowService, over gRPC and HTTP, and no directory
is made for them."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import ServerThread
from tests.gateway.conftest import Gateway
from tests.gateway.workflows import WORKFLOW
from tests.security.bounds_clients import gateway, server_overrides

__all__ = ["gateway", "server_overrides"]  # fixtures

REQUEST_INVALID = 11100
HOSTILE = ["x/y", "..", ".", "nul\0id", "new\nline", "UPPER", "a" * 64, "-lead", "/abs"]


def job(job_id: str = "ok-job", task_id: str = "", domain: str = "bob") -> pb.CreateJobRequest:
    return pb.CreateJobRequest(
        job_id=job_id,
        initiator="alice",
        tasks=[
            pb.Task(
                alias="t",
                task_id=task_id,
                app_image="dagwire-noop",
                parties=[pb.Party(domain_id="alice"), pb.Party(domain_id=domain)],
            )
        ],
    )


def made_directories(server: ServerThread) -> list[Path]:
    tasks = server.config.data_dir / "tasks"
    return list(tasks.rglob("*")) if tasks.exists() else []


@pytest.mark.parametrize("domain", HOSTILE, ids=repr)
async def test_a_party_domain_id_that_is_no_dns_label_is_request_invalid(
    channel: grpc.aio.Channel, dagwire_server: ServerThread, domain: str
) -> None:
    answer = await job_pb2_grpc.JobServiceStub(channel).CreateJob(job(domain=domain))
    assert answer.status.code == REQUEST_INVALID
    assert "domain_id" in answer.status.message and "DNS-1123 label" in answer.status.message
    assert made_directories(dagwire_server) == []


@pytest.mark.parametrize("job_id", ["x/y", "..", "../../etc", "nul\0id"], ids=repr)
async def test_a_job_id_that_could_name_a_path_is_request_invalid(
    channel: grpc.aio.Channel, job_id: str
) -> None:
    answer = await job_pb2_grpc.JobServiceStub(channel).CreateJob(job(job_id=job_id))
    assert answer.status.code == REQUEST_INVALID
    assert "job_id" in answer.status.message


@pytest.mark.parametrize("task_id", ["x/y", "..", "../../etc", "new\nline"], ids=repr)
async def test_a_task_id_that_could_name_a_path_is_request_invalid(
    channel: grpc.aio.Channel, task_id: str
) -> None:
    answer = await job_pb2_grpc.JobServiceStub(channel).CreateJob(job(task_id=task_id))
    assert answer.status.code == REQUEST_INVALID
    assert "task_id" in answer.status.message


async def test_a_hostile_domain_id_over_http_is_request_invalid(
    gateway: Gateway, dagwire_server: ServerThread
) -> None:
    body = {
        "job_id": "ok-job",
        "initiator": "alice",
        "tasks": [
            {
                "alias": "t",
                "app_image": "dagwire-noop",
                "parties": [{"domain_id": "alice"}, {"domain_id": "../../x"}],
            }
        ],
    }
    reply = await gateway.post("/api/v1/job/create", body)
    assert reply.body["status"]["code"] == REQUEST_INVALID
    assert "DNS-1123 label" in reply.body["status"]["message"]
    assert made_directories(dagwire_server) == []


@pytest.mark.parametrize(
    "spec",
    [
        'name: p\nentry_points: {"../x": {command: echo}}',
        'name: p\nentry_points: {"a/b": {command: echo}}',
        "name: p\nentry_points: {s: {command: echo, artifacts: {output: ['../../x']}}}",
    ],
    ids=["step-dotdot", "step-slash", "artifact-dotdot"],
)
async def test_a_step_or_artifact_name_that_could_name_a_path_is_invalid_argument(
    channel: grpc.aio.Channel, dagwire_server: ServerThread, spec: str
) -> None:
    # Run ids are made by the server; step and artifact names name directories below them.
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await rpc.WorkflowServiceStub(channel).CreateRun(rr.CreateRunRequest(run_yaml=spec))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert not (dagwire_server.config.data_dir / "artifacts").exists()


async def test_a_hostile_step_name_over_http_is_a_400(gateway: Gateway) -> None:
    spec = 'name: p\nentry_points: {"../x": {command: echo}}'
    reply = await gateway.post(WORKFLOW + "run/create", {"run_yaml": spec})
    assert reply.status == 400
