"""Fixtures for the HTTP/JSON gateway tests: a real server with the gateway on a free
port, and an aiohttp client that speaks to it as curl does in Kuscia's docs."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import ServerThread, assert_eventually

SEED_BODY = Path(__file__).parent.parent / "data" / "kuscia_create_job.json"
SUCCESS = {"code": 0, "message": "success", "details": []}


def kuscia_create_body(job_id: str = "job-alice-bob-001", **changes: Any) -> dict[str, Any]:
    """Kuscia's documented CreateJob body, as is (tasks job-psi -> job-split), with
    `changes` applied to every task (e.g. another app_image)."""
    body: dict[str, Any] = json.loads(SEED_BODY.read_text())
    body["job_id"] = job_id
    for task in body["tasks"]:
        task.update(changes)
    return body


def sleeping_body(job_id: str, seconds: float = 30.0) -> dict[str, Any]:
    """Kuscia's body with tasks that keep running, for stop, suspend and cancel."""
    return kuscia_create_body(
        job_id, app_image="dagwire-sleep", task_input_config=json.dumps({"sleep_seconds": seconds})
    )


@pytest.fixture
def server_overrides() -> dict[str, Any]:
    return {"http_listen": "127.0.0.1:0"}


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]
    body: Any


class Gateway:
    """POSTs JSON to the gateway and reads the answer, the way curl -d does."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def post(
        self,
        path: str,
        body: Any = None,
        *,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        payload = data if data is not None else json.dumps(body).encode()
        async with self.session.post(path, data=payload, headers=_json(headers)) as response:
            text = await response.text()
            return Reply(response.status, response.headers, json.loads(text))

    async def create(self, body: dict[str, Any], **headers: str) -> None:
        reply = await self.post("/api/v1/job/create", body, headers=headers)
        assert reply.body["status"] == SUCCESS, reply.body

    async def state(self, job_id: str, **headers: str) -> str:
        reply = await self.post("/api/v1/job/query", {"job_id": job_id}, headers=headers)
        state: str = reply.body["data"]["status"]["state"]
        return state

    async def wait_for_state(self, job_id: str, state: str) -> None:
        await assert_eventually(lambda: self.state(job_id), lambda s: s == state, timeout=20)

    async def watch_lines(
        self, body: Any, *, headers: Mapping[str, str] | None = None
    ) -> AsyncGenerator[dict[str, Any], None]:
        """The events of a watch stream, one JSON object per line, until it ends."""
        async with self.session.post(
            "/api/v1/job/watch", data=json.dumps(body).encode(), headers=_json(headers)
        ) as response:
            assert response.status == 200, await response.text()
            async for line in response.content:
                yield json.loads(line)


def _json(headers: Mapping[str, str] | None) -> dict[str, str]:
    return {"Content-Type": "application/json", **(headers or {})}


@pytest.fixture
def gateway_url(dagwire_server: ServerThread) -> str:
    assert dagwire_server.server is not None and dagwire_server.server.http is not None
    return dagwire_server.server.http.url


@pytest.fixture
async def gateway(gateway_url: str) -> AsyncIterator[Gateway]:
    async with aiohttp.ClientSession(base_url=gateway_url) as session:
        yield Gateway(session)
