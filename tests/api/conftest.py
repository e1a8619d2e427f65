"""Helpers for driving JobService over a real channel with the generated stubs, the way
any Kuscia client does."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from tests.conftest import assert_eventually

SEED_BODY = Path(__file__).parent.parent / "data" / "kuscia_create_job.json"


@pytest.fixture
def stub(channel: grpc.aio.Channel) -> job_pb2_grpc.JobServiceStub:
    return job_pb2_grpc.JobServiceStub(channel)


def seed_request(job_id: str = "job-alice-bob-001") -> pb.CreateJobRequest:
    """Kuscia's documented CreateJob body, as is."""
    body = json.loads(SEED_BODY.read_text())
    body["job_id"] = job_id
    return json_format.ParseDict(body, pb.CreateJobRequest())


def job_request(
    job_id: str,
    *tasks: pb.Task,
    max_parallelism: int = 10,
) -> pb.CreateJobRequest:
    return pb.CreateJobRequest(
        job_id=job_id, initiator="alice", max_parallelism=max_parallelism, tasks=list(tasks)
    )


def task(
    alias: str,
    *dependencies: str,
    image: str = "dagwire-sleep",
    config: dict[str, Any] | None = None,
    parties: tuple[str, ...] = ("alice", "bob"),
    **fields: Any,
) -> pb.Task:
    return pb.Task(
        alias=alias,
        app_image=image,
        parties=[pb.Party(domain_id=domain, role="partner") for domain in parties],
        dependencies=list(dependencies),
        task_input_config=json.dumps(config or {}),
        **fields,
    )


def sleeping(alias: str, seconds: float, *dependencies: str, **fields: Any) -> pb.Task:
    return task(alias, *dependencies, config={"sleep_seconds": seconds}, **fields)


async def query(stub: job_pb2_grpc.JobServiceStub, job_id: str) -> pb.QueryJobResponse:
    return await stub.QueryJob(pb.QueryJobRequest(job_id=job_id))


async def wait_for_state(
    stub: job_pb2_grpc.JobServiceStub,
    job_id: str,
    state: str | Callable[[str], bool],
    timeout: float = 20.0,
) -> pb.QueryJobResponse:
    accept = state if callable(state) else (lambda s: s == state)
    return await assert_eventually(
        lambda: query(stub, job_id), lambda r: accept(r.data.status.state), timeout=timeout
    )


async def create_ok(stub: job_pb2_grpc.JobServiceStub, request: pb.CreateJobRequest) -> None:
    response = await stub.CreateJob(request)
    assert response.status.code == 0, response.status.message
