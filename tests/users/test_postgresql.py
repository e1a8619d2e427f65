"""Users on PostgreSQL, the server's other store: root added from the operator's file,
login, a password change and a deletion refusing the earlier tokens, names unique
regardless of case (the `users` table's key)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import grpc
import pytest

from dagwire.server.config import ServerConfig
from dagwire.v1 import user_request_response_pb2 as ur
from dagwire.v1 import user_service_pb2_grpc as urpc
from tests.store.conftest import PG_ADMIN_DSN, _create_pg_database, _drop_pg_database
from tests.users.conftest import OPS, ROOT_PASSWORD, bearer, login


@pytest.fixture
async def database() -> AsyncIterator[str]:
    name = await _create_pg_database()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        await _drop_pg_database(name)


@pytest.fixture
def server_config(server_config: ServerConfig, database: str) -> ServerConfig:
    return dataclasses.replace(server_config, database_url=database)


async def test_on_postgresql_users_log_in_and_lose_their_tokens_on_change(
    users: urpc.UserServiceStub,
) -> None:
    root = await login(users, "root", ROOT_PASSWORD)
    await users.AddUser(
        ur.AddUserRequest(username="Sara", password="sarapass1"), metadata=bearer(root)
    )
    with pytest.raises(grpc.aio.AioRpcError) as taken:
        await users.AddUser(ur.AddUserRequest(username="sara", password="sarapass1"), metadata=OPS)
    assert taken.value.code() == grpc.StatusCode.ALREADY_EXISTS
    before = await login(users, "sara", "sarapass1")  # a name is found regardless of case
    await users.UpdatePassword(
        ur.UpdatePasswordRequest(username="Sara", password="sarapass2"), metadata=bearer(before)
    )
    after = await login(users, "Sara", "sarapass2")
    for token, reason in ((before, "password change"), (after, "no longer exists")):
        if token is after:
            await users.DeleteUser(ur.DeleteUserRequest(username="Sara"), metadata=OPS)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await users.UpdatePassword(
                ur.UpdatePasswordRequest(username="Sara", password="sarapass3"),
                metadata=bearer(token),
            )
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert reason in (refused.value.details() or "")
