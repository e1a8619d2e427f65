"""`--log-format json`: one JSON object per line, carrying the call's request id and
the job it concerns, from the server as a user runs it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from tests.api.conftest import seed_request
from tests.processes import ServerProcess


@pytest.fixture(scope="module")
def log_lines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[dict[str, Any]]]:
    """The server's log after one CreateJob with a request id and one QueryJob."""
    server = ServerProcess(tmp_path_factory.mktemp("json-logs"), "--log-format", "json").start()
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = job_pb2_grpc.JobServiceStub(channel)
            reply = stub.CreateJob(seed_request(), metadata=(("x-request-id", "create-1"),))
            assert reply.status.code == 0
            stub.QueryJob(pb.QueryJobRequest(job_id="missing"))
    finally:
        assert server.stop() == 0
    yield [json.loads(line) for line in server.log_path.read_text().splitlines()]


def test_every_log_line_is_a_json_object(log_lines: list[dict[str, Any]]) -> None:
    assert log_lines and all({"event", "level", "timestamp"} <= line.keys() for line in log_lines)


def test_a_calls_log_lines_carry_its_request_id_and_job_id(
    log_lines: list[dict[str, Any]],
) -> None:
    created = next(line for line in log_lines if line["event"] == "job created")
    assert created["request_id"] == "create-1"
    assert created["job_id"] == "job-alice-bob-001"
