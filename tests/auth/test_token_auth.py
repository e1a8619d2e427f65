"""Token authentication over a real channel: JobService refuses in-band with 11102,
WatchJob with UNAUTHENTICATED; a known token gets through."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message_factory import GetMessageClass

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from tests.auth.conftest import ALICE, OPS, create, error_reason, job, with_token

Stub = job_pb2_grpc.JobServiceStub
UNARY_METHODS = [
    method
    for method in pb.DESCRIPTOR.services_by_name["JobService"].methods
    if not method.server_streaming
]


@pytest.mark.parametrize("method", UNARY_METHODS, ids=lambda method: method.name)
async def test_every_unary_rpc_without_a_token_returns_11102(
    stub: Stub, method: MethodDescriptor
) -> None:
    request = GetMessageClass(method.input_type)()  # empty: refused before validation
    response = await getattr(stub, method.name)(request)
    assert response.status.code == 11102
    assert response.status.message.startswith("missing token")
    assert list(response.status.details) == []  # as Kuscia answers


async def test_a_wrong_token_returns_11102(stub: Stub) -> None:
    response = await stub.QueryJob(pb.QueryJobRequest(job_id="x"), metadata=with_token("nope"))
    assert response.status.code == 11102
    assert response.status.message == "invalid token"
    assert error_reason(response.status) == "AUTH_FAILED"


async def test_a_refused_create_creates_nothing(stub: Stub) -> None:
    refused = await stub.CreateJob(job("sneaky", "alice"), metadata=with_token("nope"))
    assert refused.status.code == 11102
    lookup = await stub.QueryJob(pb.QueryJobRequest(job_id="sneaky"), metadata=OPS)
    assert lookup.status.code == 11202


async def test_a_right_token_creates_and_queries_a_job(stub: Stub) -> None:
    await create(stub, job("with-token", "alice"), ALICE)
    response = await stub.QueryJob(pb.QueryJobRequest(job_id="with-token"), metadata=ALICE)
    assert response.status.code == 0 and response.data.job_id == "with-token"


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        pytest.param((), "missing token", id="missing"),
        pytest.param(with_token("nope"), "invalid token", id="wrong"),
    ],
)
async def test_watch_without_a_valid_token_fails_unauthenticated(
    stub: Stub, metadata: tuple[tuple[str, str], ...], message: str
) -> None:
    call = stub.WatchJob(pb.WatchJobRequest(), metadata=metadata)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call.read()
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert message in (refused.value.details() or "")
