"""Fixtures for the users tests: a real server with root's password from a file, a token
file beside it (an operator token and alice's), and the HTTP gateway on a free port."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import grpc
import pytest

from dagwire.server.config import ServerConfig
from dagwire.v1 import user_request_response_pb2 as ur
from dagwire.v1 import user_service_pb2_grpc as urpc
from tests.conftest import ServerThread

ROOT_PASSWORD = "rootpass1"
OPS_TOKEN = "tok-ops-7d1e"
FILE_ALICE_TOKEN = "tok-file-alice-93ab"

Metadata = tuple[tuple[str, str], ...]


def bearer(token: str) -> Metadata:
    return (("authorization", f"Bearer {token}"),)


def as_token(token: str) -> Metadata:
    return (("token", token),)


OPS: Metadata = as_token(OPS_TOKEN)


@pytest.fixture
def token_expiry_hours() -> float:
    """Override in a module to make login tokens expire (-1: never, the default)."""
    return -1.0


@pytest.fixture
def server_config(
    server_config: ServerConfig, tmp_path: Path, token_expiry_hours: float
) -> ServerConfig:
    root_password = tmp_path / "root-password"
    root_password.write_text(ROOT_PASSWORD + "\n")
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(
        "tokens:\n"
        f"  - {{token: {OPS_TOKEN}, name: ops}}\n"
        f"  - {{token: {FILE_ALICE_TOKEN}, domain: alice}}\n"
        "command_domains: [alice, bobby]\n"
    )
    return dataclasses.replace(
        server_config,
        root_password_file=root_password,
        token_file=tokens,
        token_expiry_hours=token_expiry_hours,
        http_listen="127.0.0.1:0",
    )


@pytest.fixture
def users(channel: grpc.aio.Channel) -> urpc.UserServiceStub:
    return urpc.UserServiceStub(channel)


@pytest.fixture
async def http(dagwire_server: ServerThread) -> AsyncIterator[aiohttp.ClientSession]:
    assert dagwire_server.server is not None and dagwire_server.server.http is not None
    async with aiohttp.ClientSession(base_url=dagwire_server.server.http.url) as session:
        yield session


async def login(users: urpc.UserServiceStub, name: str, password: str) -> str:
    return (await users.Login(ur.LoginRequest(username=name, password=password))).token


async def add_user(users: urpc.UserServiceStub, name: str, password: str) -> None:
    root = await login(users, "root", ROOT_PASSWORD)
    await users.AddUser(ur.AddUserRequest(username=name, password=password), metadata=bearer(root))
