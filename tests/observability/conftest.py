"""Fixtures for the observability tests: a real server with the HTTP gateway (which
serves /metrics), a gRPC stub, and a reader of the Prometheus text format."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from tests.conftest import ServerThread

JOB_SERVICE = "kuscia.proto.api.v1alpha1.kusciaapi.JobService"


@pytest.fixture
def server_overrides() -> dict[str, Any]:
    return {"http_listen": "127.0.0.1:0"}


@pytest.fixture
def stub(channel: grpc.aio.Channel) -> job_pb2_grpc.JobServiceStub:
    return job_pb2_grpc.JobServiceStub(channel)


class Scraper:
    """Reads /metrics as Prometheus does."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def text(self) -> str:
        async with self.session.get("/metrics") as response:
            assert response.status == 200
            return await response.text()

    async def value(self, name: str, **labels: str) -> float:
        """The sample `name` with exactly `labels`; 0 when it does not exist yet."""
        for family in text_string_to_metric_families(await self.text()):
            for sample in family.samples:
                if sample.name == name and sample.labels == labels:
                    return float(sample.value)
        return 0.0


@pytest.fixture
async def metrics(dagwire_server: ServerThread) -> AsyncIterator[Scraper]:
    assert dagwire_server.server is not None and dagwire_server.server.http is not None
    async with aiohttp.ClientSession(base_url=dagwire_server.server.http.url) as session:
        yield Scraper(session)


def rpc_labels(method: str, code: str, transport: str = "grpc") -> dict[str, str]:
    return {"service": JOB_SERVICE, "method": method, "transport": transport, "code": code}
