"""A request id for every call: the caller's `x-request-id` metadata, or a new one, sent
back in the trailing metadata."""

from __future__ import annotations

import re

import grpc
import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc

Stub = job_pb2_grpc.JobServiceStub


async def request_id_of(stub: Stub, *metadata: tuple[str, str]) -> str:
    call = stub.QueryJob(pb.QueryJobRequest(job_id="missing"), metadata=metadata)
    await call
    sent_back = dict(await call.trailing_metadata())
    request_id: str = sent_back["x-request-id"]
    return request_id


async def test_the_callers_request_id_is_sent_back(stub: Stub) -> None:
    assert await request_id_of(stub, ("x-request-id", "trace-7f3a")) == "trace-7f3a"


async def test_a_call_without_one_gets_a_new_request_id(stub: Stub) -> None:
    assert re.fullmatch(r"[0-9a-f]{32}", await request_id_of(stub))


async def test_every_call_gets_its_own_request_id(stub: Stub) -> None:
    assert await request_id_of(stub) != await request_id_of(stub)


async def test_a_stream_refused_with_a_status_still_names_its_request_id(stub: Stub) -> None:
    call = stub.WatchJob(
        pb.WatchJobRequest(timeout_seconds=-1), metadata=(("x-request-id", "watch-1"),)
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call.read()
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert dict(await call.trailing_metadata())["x-request-id"] == "watch-1"


async def test_a_request_id_with_spaces_is_replaced(stub: Stub) -> None:
    # Spaces could make one log field read as several in plain-text logs.
    replaced = await request_id_of(stub, ("x-request-id", "a b=c"))
    assert re.fullmatch(r"[0-9a-f]{32}", replaced)


async def test_an_overlong_request_id_is_replaced(stub: Stub) -> None:
    replaced = await request_id_of(stub, ("x-request-id", "x" * 129))
    assert re.fullmatch(r"[0-9a-f]{32}", replaced)
