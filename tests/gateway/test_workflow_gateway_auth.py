"""The `Token` header on dagwire's own paths: a refused caller gets HTTP 401 with the
UNAUTHENTICATED status a gRPC caller gets, and the call does not run."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import grpc
import pytest

from dagwire.server.config import ServerConfig
from tests.gateway.conftest import Gateway
from tests.gateway.workflows import DEMO, WORKFLOW

OPERATOR_TOKEN = "ops-5d1e9a40"


@pytest.fixture
def server_config(server_config: ServerConfig, tmp_path: Path) -> ServerConfig:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(f"tokens:\n  - {{token: {OPERATOR_TOKEN}}}\n")
    return dataclasses.replace(server_config, token_file=tokens)


async def test_a_known_token_creates_a_run(gateway: Gateway) -> None:
    reply = await gateway.post(
        WORKFLOW + "run/create", {"run_yaml": DEMO}, headers={"Token": OPERATOR_TOKEN}
    )
    assert reply.status == 200
    assert reply.body["run"]["run_id"]


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        pytest.param({}, "missing token: send it as the HTTP header 'Token'", id="missing"),
        pytest.param({"Token": "nope"}, "invalid token", id="wrong"),
    ],
)
async def test_a_refused_caller_is_a_401_and_nothing_runs(
    gateway: Gateway, headers: dict[str, str], message: str
) -> None:
    reply = await gateway.post(WORKFLOW + "run/create", {"run_yaml": DEMO}, headers=headers)
    assert reply.status == 401
    assert reply.body == {
        "code": grpc.StatusCode.UNAUTHENTICATED.value[0],
        "message": message,
        "details": [],
    }
    listed = await gateway.post(WORKFLOW + "run/list", {}, headers={"Token": OPERATOR_TOKEN})
    assert listed.body["runs"] == []


async def test_a_step_watch_without_a_token_is_a_401(gateway: Gateway) -> None:
    reply = await gateway.post("/api/v1/stepexecution/watch", {"run_id": "run-x"})
    assert reply.status == 401
    assert reply.body["code"] == grpc.StatusCode.UNAUTHENTICATED.value[0]
