"""Shared set-up of the sandbox and command-permission tests (imported by the
test_sandbox_* modules and test_shell_quoting): a token file for alice, bob, carol and an
operator; alice may run free commands by --command-domains, carol by the token file's
`command_domains`, bob by neither. The server also serves the HTTP gateway and shares the
test's folder (holding the token file and the data dir) with its sandboxes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest

from dagwire.server.config import ServerConfig
from dagwire.server.executors.sandbox import Limits
from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import message_pb2 as pb
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import ServerThread, assert_eventually

ALICE_TOKEN = "alice-7d1e0c55"
BOB_TOKEN = "bob-2b9f64a1"
CAROL_TOKEN = "carol-0a4c7e93"
OPS_TOKEN = "ops-c31f8d27"

Metadata = tuple[tuple[str, str], ...]
ALICE: Metadata = (("token", ALICE_TOKEN),)
BOB: Metadata = (("token", BOB_TOKEN),)
CAROL: Metadata = (("token", CAROL_TOKEN),)
OPS: Metadata = (("token", OPS_TOKEN),)

# Distinct from every default, so the tests can tell they were applied.
LIMITS = Limits(processes=321, memory_bytes=3 << 30, cpu_seconds=77, file_bytes=1 << 20)
FINISHED = (enums.RUN_STATUS_SUCCEEDED, enums.RUN_STATUS_FAILED, enums.RUN_STATUS_TERMINATED)
PYTHON = sys.executable
REPORT_ARGS = str(Path(__file__).with_name("report_args.py"))


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "secrets" / "tokens.yaml"
    path.parent.mkdir()
    path.write_text(
        "tokens:\n"
        f"  - {{token: {ALICE_TOKEN}, domain: alice}}\n"
        f"  - {{token: {BOB_TOKEN}, domain: bob}}\n"
        f"  - {{token: {CAROL_TOKEN}, domain: carol}}\n"
        f"  - {{token: {OPS_TOKEN}, name: ops}}\n"
        "command_domains: [carol]\n"
    )
    return path


@pytest.fixture
def server_config(server_config: ServerConfig, token_file: Path) -> ServerConfig:
    return dataclasses.replace(
        server_config,
        token_file=token_file,
        command_domains=frozenset({"alice"}),
        http_listen="127.0.0.1:0",
        # The token file lies in the shared folder, as it would in the host's /etc: it is
        # hidden by name, not by the private /tmp.
        sandbox_shared=(token_file.parent.parent,),
        sandbox_limits=LIMITS,
    )


@pytest.fixture
async def loopback_listener() -> AsyncIterator[tuple[int, list[str]]]:
    """A TCP port on the host's loopback, and who connected to it."""
    connected: list[str] = []

    def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connected.append(str(writer.get_extra_info("peername")))
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1], connected


@pytest.fixture
def workflows(channel: grpc.aio.Channel) -> rpc.WorkflowServiceStub:
    return rpc.WorkflowServiceStub(channel)


@pytest.fixture
async def http(dagwire_server: ServerThread) -> AsyncIterator[aiohttp.ClientSession]:
    assert dagwire_server.server is not None and dagwire_server.server.http is not None
    async with aiohttp.ClientSession(base_url=dagwire_server.server.http.url) as session:
        yield session


async def http_post(
    session: aiohttp.ClientSession, path: str, body: dict[str, Any], token: str
) -> tuple[int, dict[str, Any]]:
    async with session.post(path, data=json.dumps(body), headers={"Token": token}) as reply:
        answer: dict[str, Any] = json.loads(await reply.text())
        return reply.status, answer


def one_step(command: str, **extra: str) -> str:
    """A one-step pipeline running `command` (YAML-quoted)."""
    fields = "".join(f"\n    {key}: {value}" for key, value in extra.items())
    return f"name: probe\nentry_points:\n  probe:\n    command: {json.dumps(command)}{fields}\n"


async def run_to_end(
    stub: rpc.WorkflowServiceStub, run_yaml: str, metadata: Metadata = ALICE, **fields: Any
) -> pb.Run:
    run = (
        await stub.CreateRun(rr.CreateRunRequest(run_yaml=run_yaml, **fields), metadata=metadata)
    ).run
    return await finished(stub, run.run_id, metadata)


async def finished(stub: rpc.WorkflowServiceStub, run_id: str, metadata: Metadata) -> pb.Run:
    async def get() -> pb.Run:
        return (await stub.GetRun(rr.GetRunRequest(run_id=run_id), metadata=metadata)).run

    return await assert_eventually(get, lambda run: run.status in FINISHED, timeout=30)


async def step_log(
    stub: rpc.WorkflowServiceStub, run_id: str, step: str, metadata: Metadata = ALICE
) -> str:
    request = rr.GetRunLogRequest(run_id=run_id, step_name=step, page_size=10_000)
    logs = await stub.GetRunLog(request, metadata=metadata)
    return logs.logs[0].log_content
