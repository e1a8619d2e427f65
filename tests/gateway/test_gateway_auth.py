"""The `Token` header resolves the same caller as the gRPC `token` metadata: the gateway
uses the server's own authenticator. A bad token is refused as Kuscia's HTTP server
refuses it (401), with the in-band status a gRPC caller gets (11102)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dagwire.server.config import ServerConfig
from tests.gateway.conftest import SUCCESS, Gateway, kuscia_create_body

ALICE_TOKEN = "alice-3f9c2b7e"
CAROL_TOKEN = "carol-0b6e41d2"
JOB = "job-alice-bob-001"


@pytest.fixture
def server_config(server_config: ServerConfig, tmp_path: Path) -> ServerConfig:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(
        f"tokens:\n  - {{token: {ALICE_TOKEN}, domain: alice}}\n"
        f"  - {{token: {CAROL_TOKEN}, domain: carol}}\n"
    )
    return dataclasses.replace(server_config, token_file=tokens)


async def test_a_known_token_creates_a_job(gateway: Gateway) -> None:
    reply = await gateway.post(
        "/api/v1/job/create", kuscia_create_body(), headers={"Token": ALICE_TOKEN}
    )
    assert reply.status == 200
    assert reply.body == {"status": SUCCESS, "data": {"job_id": JOB}}


async def test_a_missing_token_is_a_401_with_code_11102(gateway: Gateway) -> None:
    reply = await gateway.post("/api/v1/job/create", kuscia_create_body())
    assert reply.status == 401
    assert reply.body["status"]["code"] == 11102
    assert reply.body["status"]["message"] == "missing token: send it as the HTTP header 'Token'"


async def test_a_wrong_token_is_a_401_with_code_11102(gateway: Gateway) -> None:
    reply = await gateway.post("/api/v1/job/query", {"job_id": JOB}, headers={"Token": "nope"})
    assert reply.status == 401
    assert reply.body["status"]["code"] == 11102
    assert reply.body["status"]["message"] == "invalid token"


async def test_a_refused_create_creates_nothing(gateway: Gateway) -> None:
    await gateway.post("/api/v1/job/create", kuscia_create_body(), headers={"Token": "nope"})
    lookup = await gateway.post(
        "/api/v1/job/query", {"job_id": JOB}, headers={"Token": ALICE_TOKEN}
    )
    assert lookup.body["status"]["code"] == 11202


async def test_a_domain_token_cannot_see_another_domains_job(gateway: Gateway) -> None:
    await gateway.create(kuscia_create_body(), Token=ALICE_TOKEN)
    reply = await gateway.post("/api/v1/job/query", {"job_id": JOB}, headers={"Token": CAROL_TOKEN})
    # Authenticated but not a party: in-band, as over gRPC, and as for a missing job.
    assert reply.status == 200
    assert reply.body["status"]["code"] == 11202
    assert reply.body["status"]["message"] == f"job {JOB!r} does not exist"


async def test_a_watch_without_a_token_is_a_401(gateway: Gateway) -> None:
    reply = await gateway.post("/api/v1/job/watch", {})
    assert reply.status == 401
    assert reply.body["code"] == 16  # UNAUTHENTICATED
    assert reply.body["message"] == "missing token: send it as the HTTP header 'Token'"


async def test_a_watch_streams_only_the_tokens_domain_jobs(gateway: Gateway) -> None:
    await gateway.create(kuscia_create_body(), Token=ALICE_TOKEN)
    events = [
        event
        async for event in gateway.watch_lines(
            {"timeout_seconds": 1}, headers={"Token": CAROL_TOKEN}
        )
    ]
    assert [event["type"] for event in events] == ["HEARTBEAT"]
