"""`--metrics-listen` serves /metrics alone, for Prometheus when the gateway is off."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.conftest import ServerThread


@pytest.fixture
def server_overrides() -> dict[str, Any]:
    return {"metrics_listen": "127.0.0.1:0"}


@pytest.fixture
async def session(dagwire_server: ServerThread) -> AsyncIterator[aiohttp.ClientSession]:
    assert dagwire_server.server is not None and dagwire_server.server.metrics_http is not None
    async with aiohttp.ClientSession(base_url=dagwire_server.server.metrics_http.url) as session:
        yield session


def test_the_gateway_stays_off(dagwire_server: ServerThread) -> None:
    assert dagwire_server.server is not None and dagwire_server.server.http is None


async def test_metrics_are_served(session: aiohttp.ClientSession) -> None:
    async with session.get("/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        assert "dagwire_jobs" in await response.text()


async def test_the_job_api_is_not_served_there(session: aiohttp.ClientSession) -> None:
    async with session.post("/api/v1/job/query", json={"job_id": "x"}) as response:
        assert response.status == 404
