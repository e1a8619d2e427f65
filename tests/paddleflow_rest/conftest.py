"""A real server with the HTTP gateway and a token file (an operator, alice and bob),
and a client that speaks PaddleFlow's REST paths as its SDK does
(client/paddleflow/utils/api_client.py call_api: requests with the
`x-pf-authorization` header, JSON bodies, query parameters)."""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from dagwire.server.config import ServerConfig
from tests.conftest import ServerThread, assert_eventually

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
        # Their steps run commands (sandboxed), as PaddleFlow's steps do.
        "command_domains: [alice, bob]\n"
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


# A pipeline as PaddleFlow's YAML writes one: a step writing an output artifact, one
# reading it; the cache on, so that a finished run leaves cache entries.
PIPELINE_YAML = """
name: {name}
cache: {{enable: true, max_expired_time: -1}}
entry_points:
  make: {{command: "echo hello > {{{{model}}}}", artifacts: {{output: [model]}}}}
  show:
    deps: make
    command: "cat {{{{m}}}}; echo says {{{{word}}}}"
    parameters: {{word: hi}}
    artifacts: {{input: {{m: "{{{{make.model}}}}"}}}}
"""


def yaml_raw(name: str = "hello") -> str:
    """The YAML base64-encoded, as the SDK sends `yamlRaw` / `runYamlRaw`
    (client/paddleflow/pipeline/pipeline_api.py create_pipeline,
    client/paddleflow/run/run_api.py add_run)."""
    return base64.b64encode(PIPELINE_YAML.format(name=name).encode()).decode()


async def create_pipeline(client: PaddleFlow, name: str = "hello") -> dict[str, Any]:
    # client/paddleflow/pipeline/pipeline_api.py create_pipeline: {yamlRaw, desc}
    reply = await client.request(
        "POST", "/pipeline", json_body={"yamlRaw": yaml_raw(name), "desc": "first"}
    )
    assert reply.status == 201, reply.body
    created: dict[str, Any] = reply.body
    return created


async def run_status(client: PaddleFlow, run_id: str) -> str:
    reply = await client.request("GET", f"/run/{run_id}")
    assert reply.status == 200, reply.body
    status: str = reply.body["status"]
    return status


async def finished(client: PaddleFlow, run_id: str) -> dict[str, Any]:
    """The run's show once it is over (show_run's body)."""
    await assert_eventually(
        lambda: run_status(client, run_id),
        lambda s: s in ("succeeded", "failed", "terminated"),
        timeout=30,
        what=f"run {run_id} to finish",
    )
    reply = await client.request("GET", f"/run/{run_id}")
    shown: dict[str, Any] = reply.body
    return shown


async def run_pipeline(client: PaddleFlow, pipeline: dict[str, Any]) -> dict[str, Any]:
    # client/paddleflow/run/run_api.py add_run: {pipelineID, pipelineVersionID, ...}
    reply = await client.request(
        "POST",
        "/run",
        json_body={
            "pipelineID": pipeline["pipelineID"],
            "pipelineVersionID": pipeline["pipelineVersionID"],
            "name": "first-run",
            "desc": "a run",
        },
    )
    assert reply.status == 201, reply.body
    return await finished(client, reply.body["runID"])
