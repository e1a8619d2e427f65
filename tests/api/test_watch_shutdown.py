"""A graceful shutdown ends every watch stream with UNAVAILABLE and a message naming the
resource version to resume from (on this server or another replica): unlike the OK of
a stream whose timeout_seconds is over, it means "watch again"."""

from __future__ import annotations

import asyncio
import re

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from dagwire.v1 import step_execution_request_response_pb2 as sr
from dagwire.v1 import step_execution_service_pb2_grpc as step_rpc
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as workflow_rpc
from tests.api.conftest import create_ok, job_request, sleeping
from tests.conftest import ServerThread

HEARTBEAT = pb.EventType.Value("HEARTBEAT")
LONG_RUN = """
name: long
entry_points:
  wait: {command: "sleep 30"}
"""


def resume_from_in(details: str | None) -> int:
    found = re.search(r"resume_from=(\d+)", details or "")
    assert found, details
    return int(found.group(1))


def error_info(call_error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    for key, value in call_error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:  # type: ignore[arg-type]
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    return info
    raise AssertionError("no ErrorInfo in the status")


async def ended_by_shutdown(
    server: ServerThread, call: grpc.aio.UnaryStreamCall
) -> grpc.aio.AioRpcError:  # type: ignore[type-arg]
    stopping = asyncio.create_task(asyncio.to_thread(server.stop))
    with pytest.raises(grpc.aio.AioRpcError) as ended:
        async for _ in call:
            pass
    await stopping
    return ended.value


async def test_watch_job_ends_unavailable_naming_where_to_resume(
    dagwire_server: ServerThread, channel: grpc.aio.Channel
) -> None:
    stub = job_pb2_grpc.JobServiceStub(channel)
    await create_ok(stub, job_request("job-shutdown", sleeping("wait", 30)))
    call = stub.WatchJob(pb.WatchJobRequest(timeout_seconds=600))
    bookmark = await anext(e async for e in call if e.type == HEARTBEAT)
    ended = await ended_by_shutdown(dagwire_server, call)
    assert ended.code() == grpc.StatusCode.UNAVAILABLE
    assert "shutting down" in (ended.details() or "")
    assert resume_from_in(ended.details()) >= bookmark.resource_version > 0


async def test_watch_runs_ends_unavailable_with_the_resume_point_in_error_info(
    dagwire_server: ServerThread, channel: grpc.aio.Channel
) -> None:
    stub = workflow_rpc.WorkflowServiceStub(channel)
    await stub.CreateRun(rr.CreateRunRequest(run_yaml=LONG_RUN))
    call = stub.WatchRuns(rr.WatchRunsRequest(timeout_seconds=600))
    bookmark = await anext(e async for e in call if e.type == HEARTBEAT)
    ended = await ended_by_shutdown(dagwire_server, call)
    info = error_info(ended)
    assert ended.code() == grpc.StatusCode.UNAVAILABLE
    assert info.reason == "SERVER_SHUTTING_DOWN"
    assert int(info.metadata["resume_from"]) == resume_from_in(ended.details())
    assert int(info.metadata["resume_from"]) >= bookmark.resource_version


async def test_watch_step_executions_ends_unavailable(
    dagwire_server: ServerThread, channel: grpc.aio.Channel
) -> None:
    run = await workflow_rpc.WorkflowServiceStub(channel).CreateRun(
        rr.CreateRunRequest(run_yaml=LONG_RUN)
    )
    call = step_rpc.StepExecutionServiceStub(channel).WatchStepExecutions(
        sr.WatchStepExecutionsRequest(run_id=run.run.run_id, timeout_seconds=600)
    )
    await anext(aiter(call))  # the step's history so far
    ended = await ended_by_shutdown(dagwire_server, call)
    assert ended.code() == grpc.StatusCode.UNAVAILABLE
    assert error_info(ended).reason == "SERVER_SHUTTING_DOWN"


async def test_a_watch_whose_timeout_is_over_ends_ok(channel: grpc.aio.Channel) -> None:
    call = job_pb2_grpc.JobServiceStub(channel).WatchJob(pb.WatchJobRequest(timeout_seconds=1))
    async for _ in call:
        pass
    assert await call.code() == grpc.StatusCode.OK
