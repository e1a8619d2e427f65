"""A scripted JobService for what a real server does not do on demand: dropping a watch
stream at a chosen point, failing with a chosen status, answering with a chosen error."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import grpc

from dagwire.kuscia.v1alpha1 import common_pb2
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2, job_pb2_grpc


@dataclass
class Script:
    """What one WatchJob call sends: these events, then an abort with `abort` (a status
    code) or, when None, a normal end of the stream."""

    events: list[job_pb2.WatchJobEventResponse]
    abort: grpc.StatusCode | None = None


def added(job_id: str, rv: int, state: str = "Pending") -> job_pb2.WatchJobEventResponse:
    return _event(job_pb2.ADDED, job_id, rv, state)


def modified(job_id: str, rv: int, state: str = "Running") -> job_pb2.WatchJobEventResponse:
    return _event(job_pb2.MODIFIED, job_id, rv, state)


def deleted(job_id: str, rv: int) -> job_pb2.WatchJobEventResponse:
    return _event(job_pb2.DELETED, job_id, rv, "Running")


def heartbeat(rv: int) -> job_pb2.WatchJobEventResponse:
    return job_pb2.WatchJobEventResponse(type=job_pb2.HEARTBEAT, resource_version=rv)


def _event(
    kind: job_pb2.EventType.ValueType, job_id: str, rv: int, state: str
) -> job_pb2.WatchJobEventResponse:
    status = job_pb2.JobStatus(job_id=job_id, status=job_pb2.JobStatusDetail(state=state))
    return job_pb2.WatchJobEventResponse(type=kind, object=status, resource_version=rv)


class ScriptedJobService(job_pb2_grpc.JobServiceServicer):
    """Plays one Script per WatchJob call and records the requests; once the scripts run
    out, a call stays open and silent until the client goes away."""

    def __init__(self) -> None:
        self.address = ""
        self.scripts: list[Script] = []
        self.requests: list[job_pb2.WatchJobRequest] = []
        self.query_status = common_pb2.Status()
        self.metadata: list[dict[str, str]] = []  # of every QueryJob call

    def WatchJob(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        self.requests.append(request)
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

    def QueryJob(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.metadata.append({k: str(v) for k, v in context.invocation_metadata()})
        data = job_pb2.QueryJobResponseData(job_id=request.job_id)
        return job_pb2.QueryJobResponse(status=self.query_status, data=data)


@contextmanager
def scripted_server() -> Iterator[ScriptedJobService]:
    """A ScriptedJobService on a free loopback port (its `address`)."""
    service = ScriptedJobService()  # type: ignore[abstract]  # the base answers UNIMPLEMENTED
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    job_pb2_grpc.add_JobServiceServicer_to_server(service, server)
    service.address = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
    server.start()
    try:
        yield service
    finally:
        server.stop(grace=None)
