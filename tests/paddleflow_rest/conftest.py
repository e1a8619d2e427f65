"""A real server with the HTTP gateway and a token file (an operator, alice and bob),
and a client that speaks PaddleFlow's REST paths as its SDK does
(client/paddleflow/utils/api_client.py call_api: requests with the
`x-pf-authorization` header, JSON bodies, query parameters)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from dagwire.server.config import ServerConfig
from tests.conftest import ServerThread

PREFIX = "/api/paddleflow/v1"
OPERATOR_TOKEN = "root-5e1d7c0a"
ALICE_TOKEN = "alice-0c9b8e1f"
BOB_TOKEN = "bob-7a2d4f60"


@pytest.fixture
def server_overrides() -> dict[str, Any]:
    return {"http_listen": "127.0.0.1:0"}


@pytest.fixture
def server_config(server_config: ServerConfig, tmp_path: Path) -> ServerConfig:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(
        "tokens:\n"
        f"  - {{token: {OPERATOR_TOKEN}}}\n"
        f"  - {{token: {ALICE_TOKEN}, domain: alice}}\n"
        f"  - {{token: {BOB_TOKEN}, domain: bob}}\n"
    )
    return dataclasses.replace(server_config, token_file=tokens)


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]
    body: Any


class PaddleFlow:
    """PaddleFlow's paths with one caller's token, as the SDK sends requests."""

    def __init__(self, session: aiohttp.ClientSession, token: str | None) -> None:
        self.session = session
        self.token = token

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        sent = {"Content-Type": "application/json"}
        if self.token is not None:
            sent["x-pf-authorization"] = self.token
        sent |= dict(headers or {})
        query = {k: str(v) for k, v in (params or {}).items()}
        data = None if json_body is None else json.dumps(json_body)
        async with self.session.request(
            method, PREFIX + path, params=query, data=data, headers=sent
        ) as response:
            text = await response.text()
            return Reply(response.status, response.headers, json.loads(text) if text else None)

    def as_(self, token: str | None) -> PaddleFlow:
        return PaddleFlow(self.session, token)


@pytest.fixture
def gateway_url(dagwire_server: ServerThread) -> str:
    assert dagwire_server.server is not None and dagwire_server.server.http is not None
    return dagwire_server.server.http.url


@pytest.fixture
async def root(gateway_url: str) -> AsyncIterator[PaddleFlow]:
    """The operator (PaddleFlow's root)."""
    async with aiohttp.ClientSession(base_url=gateway_url) as session:
        yield PaddleFlow(session, OPERATOR_TOKEN)


@pytest.fixture
def alice(root: PaddleFlow) -> PaddleFlow:
    return root.as_(ALICE_TOKEN)


@pytest.fixture
def bob(root: PaddleFlow) -> PaddleFlow:
    return root.as_(BOB_TOKEN)
