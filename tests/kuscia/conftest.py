"""A real dagwire server with its HTTP gateway, driven by a client built from Kuscia's
own protos (gRPC) and by plain HTTP with Kuscia's JSON bodies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from google.protobuf import json_format
from google.protobuf.message import Message

from tests.conftest import ServerThread, assert_eventually
from tests.kuscia.kuscia_client import KusciaJobClient, KusciaProtos

DOC_BODY = Path(__file__).parent.parent / "data" / "kuscia_create_job.json"


@pytest.fixture(scope="session")
def kuscia_protos() -> KusciaProtos:
    """Kuscia's messages, from the stubs Kuscia publishes on PyPI."""
    return KusciaProtos.published()


@pytest.fixture
def server_overrides() -> dict[str, Any]:
    return {"http_listen": "127.0.0.1:0"}


@pytest.fixture
def kuscia(channel: grpc.aio.Channel, kuscia_protos: KusciaProtos) -> KusciaJobClient:
    """Kuscia's own client: its published messages over a real gRPC channel."""
    return KusciaJobClient(channel, kuscia_protos)


@pytest.fixture
async def http(dagwire_server: ServerThread) -> AsyncIterator[aiohttp.ClientSession]:
    assert dagwire_server.server is not None and dagwire_server.server.http is not None
    async with aiohttp.ClientSession(base_url=dagwire_server.server.http.url) as session:
        yield session


def doc_body(job_id: str, **task_changes: Any) -> dict[str, Any]:
    """Kuscia's documented CreateJob body (kusciajob_cn.md), with `task_changes` applied
    to every task."""
    body: dict[str, Any] = json.loads(DOC_BODY.read_text())
    body["job_id"] = job_id
    for task in body["tasks"]:
        task.update(task_changes)
    return body


def sleeping_body(job_id: str, seconds: float = 30.0) -> dict[str, Any]:
    """The documented body with tasks that keep running until stopped."""
    return doc_body(
        job_id, app_image="dagwire-sleep", task_input_config=json.dumps({"sleep_seconds": seconds})
    )


def create_request(protos: KusciaProtos, body: dict[str, Any]) -> Message:
    """Kuscia's CreateJobRequest holding a JSON body."""
    request = protos.message("CreateJobRequest")
    json_format.ParseDict(body, request, descriptor_pool=protos.pool)
    return request


async def create(kuscia: KusciaJobClient, body: dict[str, Any]) -> None:
    response = await kuscia.call("CreateJob", create_request(kuscia.protos, body))
    assert response.status.code == 0, response.status.message


async def state(kuscia: KusciaJobClient, job_id: str) -> str:
    response = await kuscia("QueryJob", job_id=job_id)
    return str(response.data.status.state)


async def wait_for_state(kuscia: KusciaJobClient, job_id: str, wanted: str) -> None:
    await assert_eventually(lambda: state(kuscia, job_id), lambda s: s == wanted, timeout=20)
