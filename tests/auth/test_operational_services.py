"""Health and reflection stay open to callers without credentials, so that probes and
grpcurl work, while JobService needs a token."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from dagwire.server.app import JOB_SERVICE


async def test_health_answers_without_a_token(channel: grpc.aio.Channel) -> None:
    response = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=JOB_SERVICE)
    )
    assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_services_without_a_token(channel: grpc.aio.Channel) -> None:
    call = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    response = await call.read()
    call.cancel()
    assert JOB_SERVICE in {s.name for s in response.list_services_response.service}


async def test_v1_reflection_lists_services_without_a_token(channel: grpc.aio.Channel) -> None:
    info = channel.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    call = info(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    response = await call.read()
    call.cancel()
    assert JOB_SERVICE in {s.name for s in response.list_services_response.service}
