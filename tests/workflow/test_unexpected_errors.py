"""An error no table covers (a bug, a database failure) answers INTERNAL without the
error's text, which may quote SQL or paths, and the server goes on serving."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, NoReturn

import grpc
import pytest
from google.rpc import error_details_pb2

from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import ServerThread
from tests.workflow.conftest import status_detail

SECRET = "SELECT doc FROM runs WHERE run_id = '/var/lib/secret'"


def error_reason(error: grpc.aio.AioRpcError) -> str:
    info = status_detail(error, error_details_pb2.ErrorInfo)
    return info.reason if info else ""


async def failing(*_: Any, **__: Any) -> NoReturn:
    raise RuntimeError(SECRET)


async def test_an_unexpected_error_in_a_call_is_internal_and_keeps_its_text_to_the_log(
    workflows: rpc.WorkflowServiceStub,
    dagwire_server: ServerThread,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert dagwire_server.server is not None
    monkeypatch.setattr(dagwire_server.server.workflow_store, "get_pipeline", failing)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await workflows.GetPipeline(rr.GetPipelineRequest(pipeline_id="ppl-1"))

    assert raised.value.code() == grpc.StatusCode.INTERNAL
    assert raised.value.details() == "unexpected server error in GetPipeline: RuntimeError"
    assert error_reason(raised.value) == "INTERNAL"
    monkeypatch.undo()
    listed = await workflows.ListPipelines(rr.ListPipelinesRequest())
    assert list(listed.pipelines) == []


async def test_an_unexpected_error_in_a_stream_is_internal(
    workflows: rpc.WorkflowServiceStub,
    dagwire_server: ServerThread,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert dagwire_server.server is not None

    async def broken_watch(*_: Any, **__: Any) -> AsyncIterator[Any]:
        await failing()
        yield  # pragma: no cover

    monkeypatch.setattr(dagwire_server.server.workflows, "watch_runs", broken_watch)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        async for _ in workflows.WatchRuns(rr.WatchRunsRequest()):
            pass

    assert raised.value.code() == grpc.StatusCode.INTERNAL
    assert raised.value.details() == "unexpected server error in WatchRuns: RuntimeError"
    assert error_reason(raised.value) == "INTERNAL"
