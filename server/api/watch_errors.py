"""How a job watch ends on the server's side, as rich gRPC statuses a client can tell
apart by their ErrorInfo reason (both are RESOURCE_EXHAUSTED):

| reason | why | what the client does |
|---|---|---|
| SUBSCRIBER_TOO_SLOW | the stream fell behind the bounded queue | resume from `resume_from` in the metadata |
| EVENT_TOO_LARGE | an event exceeds the server's send limit | not resumable (the event would come again): watch other job_ids, or ask the operator |
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf.any_pb2 import Any as AnyProto
from google.rpc import code_pb2, status_pb2
from google.rpc.error_details_pb2 import ErrorInfo
from grpc_status import rpc_status

from dagwire.server.api.status import ERROR_DOMAIN
from dagwire.server.runtime.watch import WatchEvent

Context = grpc.aio.ServicerContext[Any, Any]

EVENT_TOO_LARGE = "EVENT_TOO_LARGE"
SUBSCRIBER_TOO_SLOW = "SUBSCRIBER_TOO_SLOW"


def too_slow(why: str, last: int) -> status_pb2.Status:
    return _exhausted(
        f"{why}; resume with resume_from={last}",
        SUBSCRIBER_TOO_SLOW,
        {"resume_from": str(last)},
    )


def event_too_large(event: WatchEvent, size: int, limit: int) -> status_pb2.Status:
    job_id = event.job.job_id if event.job is not None else ""
    return _exhausted(
        f"the event of job {job_id!r} at resource_version {event.resource_version} has "
        f"{size} bytes, more than the {limit} bytes this server sends per message; it "
        "cannot be sent, and resuming would meet it again: watch other job_ids",
        EVENT_TOO_LARGE,
        {
            "job_id": job_id,
            "resource_version": str(event.resource_version),
            "size": str(size),
            "limit": str(limit),
        },
    )


async def abort_stream(context: Context, status: status_pb2.Status) -> None:
    grpc_status = rpc_status.to_status(status)
    await context.abort(grpc_status.code, grpc_status.details, grpc_status.trailing_metadata)


def _exhausted(message: str, reason: str, metadata: dict[str, str]) -> status_pb2.Status:
    detail = AnyProto()
    detail.Pack(ErrorInfo(reason=reason, domain=ERROR_DOMAIN, metadata=metadata))
    return status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message=message, details=[detail])
