"""Server reflection answers under grpc.reflection.v1, which newer clients try first, as
well as under v1alpha. The v1 protocol is v1alpha's messages, field for field, under
another package: the v1 client here is a stub on the v1 method path with those
messages."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2

from dagwire.server.app import JOB_SERVICE

V1_METHOD = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
V1ALPHA_METHOD = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"


async def ask(
    channel: grpc.aio.Channel, method: str, request: reflection_pb2.ServerReflectionRequest
) -> reflection_pb2.ServerReflectionResponse:
    info = channel.stream_stream(
        method,
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    call = info(iter([request]))
    response: reflection_pb2.ServerReflectionResponse = await call.read()
    call.cancel()
    return response


def files_of(
    response: reflection_pb2.ServerReflectionResponse,
) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    files = [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in response.file_descriptor_response.file_descriptor_proto
    ]
    return {file.name: file for file in files}


@pytest.mark.parametrize("method", [V1_METHOD, V1ALPHA_METHOD], ids=["v1", "v1alpha"])
async def test_reflection_lists_every_service_and_both_reflection_versions(
    channel: grpc.aio.Channel, method: str
) -> None:
    response = await ask(channel, method, reflection_pb2.ServerReflectionRequest(list_services=""))
    listed = {service.name for service in response.list_services_response.service}
    assert {
        JOB_SERVICE,
        "dagwire.v1.WorkflowService",
        "dagwire.v1.StepExecutionService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= listed


async def test_v1_reflection_describes_the_job_service(channel: grpc.aio.Channel) -> None:
    request = reflection_pb2.ServerReflectionRequest(file_containing_symbol=JOB_SERVICE)
    files = files_of(await ask(channel, V1_METHOD, request))
    services = {
        f"{file.package}.{service.name}": [m.name for m in service.method]
        for file in files.values()
        for service in file.service
    }
    assert "WatchJob" in services[JOB_SERVICE]


async def test_v1_reflection_describes_itself_under_its_own_package(
    channel: grpc.aio.Channel,
) -> None:
    request = reflection_pb2.ServerReflectionRequest(
        file_containing_symbol="grpc.reflection.v1.ServerReflection"
    )
    files = files_of(await ask(channel, V1_METHOD, request))
    described = files["grpc/reflection/v1/reflection.proto"]
    (method,) = described.service[0].method
    assert described.package == "grpc.reflection.v1"
    assert method.input_type == ".grpc.reflection.v1.ServerReflectionRequest"
    assert method.client_streaming and method.server_streaming
