"""Driving WorkflowService over a real channel with the generated stubs."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import grpc
import pytest
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import message_pb2 as pb
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import ServerThread, assert_eventually

M = TypeVar("M", bound=Message)

FINISHED = (enums.RUN_STATUS_SUCCEEDED, enums.RUN_STATUS_FAILED, enums.RUN_STATUS_TERMINATED)


@pytest.fixture
def workflows(channel: grpc.aio.Channel) -> rpc.WorkflowServiceStub:
    return rpc.WorkflowServiceStub(channel)


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    """A folder steps write marker files into, to show what really ran."""
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


@pytest.fixture
def data_dir(dagwire_server: ServerThread) -> Path:
    return dagwire_server.config.data_dir


async def get_run(stub: rpc.WorkflowServiceStub, run_id: str) -> pb.Run:
    return (await stub.GetRun(rr.GetRunRequest(run_id=run_id))).run


async def wait_finished(stub: rpc.WorkflowServiceStub, run_id: str, timeout: float = 20) -> pb.Run:
    return await assert_eventually(
        lambda: get_run(stub, run_id), lambda run: run.status in FINISHED, timeout=timeout
    )


async def run_yaml(stub: rpc.WorkflowServiceStub, text: str, **fields: object) -> pb.Run:
    return (await stub.CreateRun(rr.CreateRunRequest(run_yaml=text, **fields))).run  # type: ignore[arg-type]


def step_statuses(run: pb.Run) -> dict[str, str]:
    return {step.name: enums.StepStatus.Name(step.status) for step in run.steps}


def run_status(run: pb.Run) -> str:
    return enums.RunStatus.Name(run.status)


def status_detail(error: grpc.aio.AioRpcError, detail_type: type[M]) -> M | None:
    """The detail of `detail_type` a rich error status carries, if any."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)  # type: ignore[arg-type]
            for detail in status.details:
                if detail.Is(detail_type.DESCRIPTOR):
                    found = detail_type()
                    detail.Unpack(found)
                    return found
    return None


def field_violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    """The BadRequest field violations a rich error status carries, by field."""
    bad = status_detail(error, error_details_pb2.BadRequest)
    return {v.field: v.description for v in bad.field_violations} if bad else {}
