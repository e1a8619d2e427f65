"""The gateway of the server as a user starts it: `python -m dagwire.server
--http-listen`, reached with a plain HTTP client, and stopped with SIGTERM mid-watch."""

from __future__ import annotations

import json
from collections.abc import Iterator

import aiohttp
import pytest

from tests.gateway.conftest import SUCCESS, kuscia_create_body
from tests.processes import ServerProcess, free_port


@pytest.fixture
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    address = f"127.0.0.1:{free_port()}"
    process = ServerProcess(tmp_path_factory.mktemp("gateway"), "--http-listen", address)
    yield process.start(), f"http://{address}"
    process.stop()


async def test_the_started_server_answers_kuscias_create_job(
    server: tuple[ServerProcess, str],
) -> None:
    _, url = server
    async with (
        aiohttp.ClientSession(base_url=url) as session,
        session.post("/api/v1/job/create", json=kuscia_create_body()) as response,
    ):
        assert await response.json() == {"status": SUCCESS, "data": {"job_id": "job-alice-bob-001"}}


async def test_sigterm_ends_an_open_http_watch_cleanly(server: tuple[ServerProcess, str]) -> None:
    process, url = server
    async with (
        aiohttp.ClientSession(base_url=url) as session,
        session.post("/api/v1/job/watch", data=b"{}") as response,
    ):
        first = json.loads(await response.content.readline())
        assert first["type"] == "HEARTBEAT"  # the end of the (empty) initial listing
        assert process.stop() == 0
        # The stream ended, not broke: with a last line saying why and where to resume.
        rest = (await response.content.read()).splitlines()
    assert [json.loads(line)["error"]["code"] for line in rest] == [14]  # UNAVAILABLE
    assert f"resume_from={first['resource_version']}" in json.loads(rest[0])["error"]["message"]
