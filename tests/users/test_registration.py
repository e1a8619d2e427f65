"""UserService is registered like the other services: its health is SERVING and
reflection lists it, both open to callers without credentials, as is Login."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from dagwire.v1 import user_request_response_pb2 as ur
from dagwire.v1 import user_service_pb2_grpc as urpc
from tests.users.conftest import ROOT_PASSWORD

USER_SERVICE = "dagwire.v1.UserService"


async def test_user_service_health_is_serving(channel: grpc.aio.Channel) -> None:
    response = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=USER_SERVICE)
    )
    assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_user_service(channel: grpc.aio.Channel) -> None:
    call = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    response = await call.read()
    call.cancel()
    assert USER_SERVICE in {s.name for s in response.list_services_response.service}


async def test_login_needs_no_credentials(users: urpc.UserServiceStub) -> None:
    answer = await users.Login(ur.LoginRequest(username="root", password=ROOT_PASSWORD))
    assert answer.user.name == "root" and answer.user.domain == ""
    assert not answer.HasField("expire_time")  # PaddleFlow's default: no expiry


async def test_an_oversized_password_is_refused(users: urpc.UserServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await users.Login(ur.LoginRequest(username="root", password="a1" * 1000))
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
