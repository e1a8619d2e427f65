"""A scripted WorkflowService for what a real server does not do on demand: dropping a
WatchRuns stream at a chosen point, answering with a chosen rich error status, and
recording every request it gets."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from dagwire.v1 import enums_pb2, message_pb2, workflow_service_pb2_grpc
from dagwire.v1 import workflow_request_response_pb2 as wf


@dataclass
class Script:
    """What one WatchRuns call sends: these events, then an abort with `abort` or, when
    None, a normal end of the stream."""

    events: list[wf.WatchRunsResponse]
    abort: grpc.StatusCode | None = None


def run_message(
    run_id: str, status: enums_pb2.RunStatus.ValueType = enums_pb2.RUN_STATUS_RUNNING
) -> message_pb2.Run:
    return message_pb2.Run(run_id=run_id, name="diamond", status=status)


def event(
    kind: enums_pb2.EventType.ValueType,
    run_id: str,
    rv: int,
    status: enums_pb2.RunStatus.ValueType = enums_pb2.RUN_STATUS_RUNNING,
) -> wf.WatchRunsResponse:
    return wf.WatchRunsResponse(type=kind, run=run_message(run_id, status), resource_version=rv)


def added(run_id: str, rv: int, status: Any = enums_pb2.RUN_STATUS_PENDING) -> Any:
    return event(enums_pb2.EVENT_TYPE_ADDED, run_id, rv, status)


def modified(run_id: str, rv: int, status: Any = enums_pb2.RUN_STATUS_RUNNING) -> Any:
    return event(enums_pb2.EVENT_TYPE_MODIFIED, run_id, rv, status)


def deleted(run_id: str, rv: int) -> wf.WatchRunsResponse:
    return event(enums_pb2.EVENT_TYPE_DELETED, run_id, rv)


def heartbeat(rv: int) -> wf.WatchRunsResponse:
    return wf.WatchRunsResponse(type=enums_pb2.EVENT_TYPE_HEARTBEAT, resource_version=rv)


def rich_status(code: grpc.StatusCode, message: str, *details: Any) -> status_pb2.Status:
    """A google.rpc.Status with these details packed, as the dagwire server sends them."""
    packed = []
    for detail in details:
        item = any_pb2.Any()
        item.Pack(detail)
        packed.append(item)
    return status_pb2.Status(code=getattr(code_pb2, code.name), message=message, details=packed)


def bad_spec_status() -> status_pb2.Status:
    """INVALID_ARGUMENT for a spec with two problems, the way the server words it."""
    violations = [
        error_details_pb2.BadRequest.FieldViolation(
            field="entry_points.b.deps", description="unknown step 'x'; steps: a, b"
        ),
        error_details_pb2.BadRequest.FieldViolation(
            field="parameters.epochs", description="must be an int"
        ),
    ]
    return rich_status(
        grpc.StatusCode.INVALID_ARGUMENT,
        "entry_points.b.deps: unknown step 'x'; steps: a, b; parameters.epochs: must be an int",
        error_details_pb2.ErrorInfo(reason="INVALID_ARGUMENT", domain="dagwire.io"),
        error_details_pb2.BadRequest(field_violations=violations),
    )


def not_found_status(resource_type: str, name: str) -> status_pb2.Status:
    return rich_status(
        grpc.StatusCode.NOT_FOUND,
        f"{resource_type} {name!r} does not exist",
        error_details_pb2.ErrorInfo(reason="NOT_FOUND", domain="dagwire.io"),
        error_details_pb2.ResourceInfo(resource_type=resource_type, resource_name=name),
    )


class ScriptedWorkflowService(workflow_service_pb2_grpc.WorkflowServiceServicer):
    """Plays one Script per WatchRuns call; answers GetRun with the answers listed in
    `runs[run_id]` one after the other, repeating the last (NOT_FOUND without any); aborts
    every unary call with `error` when it is set. Records requests and metadata."""

    def __init__(self) -> None:
        self.address = ""
        self.scripts: list[Script] = []
        self.watch_requests: list[wf.WatchRunsRequest] = []
        self.requests: list[Any] = []
        self.metadata: list[dict[str, str]] = []
        self.runs: dict[str, list[message_pb2.Run]] = {}
        self.error: status_pb2.Status | None = None
        self.pages: dict[str, wf.ListRunsResponse] = {}

    def _unary(self, request: Any, context: grpc.ServicerContext) -> None:
        self.requests.append(request)
        self.metadata.append({k: str(v) for k, v in context.invocation_metadata()})
        if self.error is not None:
            context.abort_with_status(rpc_status.to_status(self.error))

    def WatchRuns(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        self.watch_requests.append(request)
        if not self.scripts:
            # An endless stream: wait for the client to end the call.
            ended = threading.Event()
            if context.add_callback(ended.set):
                ended.wait()
            return
        script = self.scripts.pop(0)
        yield from script.events
        if script.abort is not None:
            context.abort(script.abort, f"scripted {script.abort.name}")

    def GetRun(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._unary(request, context)
        answers = self.runs.get(request.run_id)
        if not answers:
            context.abort_with_status(rpc_status.to_status(not_found_status("run", request.run_id)))
        assert answers is not None
        return wf.GetRunResponse(run=answers.pop(0) if len(answers) > 1 else answers[0])

    def CreatePipeline(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._unary(request, context)
        pipeline = message_pb2.Pipeline(pipeline_id="ppl-00000001", name="diamond")
        version = message_pb2.PipelineVersion(pipeline_version_id="1", pipeline_id="ppl-00000001")
        return wf.CreatePipelineResponse(pipeline=pipeline, pipeline_version=version)

    def ListRuns(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._unary(request, context)
        return self.pages.get(request.page_token, wf.ListRunsResponse())


@contextmanager
def scripted_workflow_server() -> Iterator[ScriptedWorkflowService]:
    """A ScriptedWorkflowService on a free loopback port (its `address`)."""
    service = ScriptedWorkflowService()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    workflow_service_pb2_grpc.add_WorkflowServiceServicer_to_server(service, server)
    service.address = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
    server.start()
    try:
        yield service
    finally:
        server.stop(grace=None)
