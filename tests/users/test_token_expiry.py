"""A login token expires after --token-expiry-hours (PaddleFlow's tokenExpirationHour,
pkg/apiserver/middleware/jwt.go GenerateToken sets `exp`); an expired one is refused. The
test waits on the clock until the token's own `exp`, not for a guessed while."""

from __future__ import annotations

import asyncio
import time

import grpc
import jwt
import pytest

from dagwire.v1 import user_request_response_pb2 as ur
from dagwire.v1 import user_service_pb2_grpc as urpc
from tests.users.conftest import ROOT_PASSWORD, bearer


@pytest.fixture
def token_expiry_hours() -> float:
    return 2 / 3600  # two seconds


async def _wait_until(moment: float) -> None:
    """Until the wall clock reads `moment` (asyncio sleeps on the monotonic clock, hence
    the small margin, and the check)."""
    await asyncio.sleep(max(0.0, moment - time.time()) + 0.05)
    assert time.time() >= moment


async def test_an_expired_token_is_refused(users: urpc.UserServiceStub) -> None:
    answer = await users.Login(ur.LoginRequest(username="root", password=ROOT_PASSWORD))
    expires = jwt.decode(answer.token, options={"verify_signature": False})["exp"]
    assert expires == answer.expire_time.seconds
    await users.ListUsers(ur.ListUsersRequest(), metadata=bearer(answer.token))
    await _wait_until(expires)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await users.ListUsers(ur.ListUsersRequest(), metadata=bearer(answer.token))
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "expired" in (refused.value.details() or "")
