"""Tenancy over the HTTP gateway: the same hostile calls as over gRPC, with the `Token`
header, answer exactly as calls about missing resources; lists hold only the caller's
own; `/metrics` needs an operator's token when tokens are required."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from google.protobuf import json_format

from dagwire.server.config import ServerConfig
from dagwire.server.gateway.routes import STEP_EXECUTION_ROUTES, WORKFLOW_ROUTES
from tests.conftest import ServerThread
from tests.gateway.conftest import Gateway, Reply
from tests.security.tenancy import (
    ALICE_TOKEN,
    BOB_TOKEN,
    OPS_TOKEN,
    PROBES,
    Probe,
    World,
    build_world,
    target,
    twin,
    with_tokens,
)

PATHS = {
    (table_name, rpc): path
    for table_name, table in (("workflow", WORKFLOW_ROUTES), ("step", STEP_EXECUTION_ROUTES))
    for path, rpc in table.routes()
}
BOB = {"Token": BOB_TOKEN}


@pytest.fixture
def server_config(server_config: ServerConfig, tmp_path: Path) -> ServerConfig:
    return with_tokens(server_config, tmp_path, http_listen="127.0.0.1:0")


@pytest.fixture
async def gateway(dagwire_server: ServerThread) -> AsyncIterator[Gateway]:
    assert dagwire_server.server is not None and dagwire_server.server.http is not None
    async with aiohttp.ClientSession(base_url=dagwire_server.server.http.url) as session:
        yield Gateway(session)


@pytest.fixture
async def world(channel: grpc.aio.Channel) -> World:
    return await build_world(channel)


async def _post(gateway: Gateway, probe: Probe, resource_id: str) -> Reply:
    body = json_format.MessageToDict(probe.request(resource_id), preserving_proto_field_name=True)
    return await gateway.post(PATHS[(probe.service, probe.rpc)], body, headers=BOB)


def _naming(body: Any, old: str, new: str) -> Any:
    return json.loads(json.dumps(body).replace(old, new))


async def test_every_foreign_resource_answers_exactly_as_a_missing_one(
    gateway: Gateway, world: World
) -> None:
    mismatches = []
    for probe in PROBES:
        alices = target(world, probe)
        foreign = await _post(gateway, probe, alices)
        missing = await _post(gateway, probe, twin(alices))
        expected = (missing.status, _naming(missing.body, twin(alices), alices))
        if foreign.status != 404 or (foreign.status, foreign.body) != expected:
            mismatches.append((probe.label, foreign.status, foreign.body, expected))
    assert mismatches == []


async def test_a_foreign_job_answers_exactly_as_a_missing_one(
    gateway: Gateway, world: World
) -> None:
    for path in ("query", "stop", "suspend", "restart", "cancel", "delete"):
        foreign = await gateway.post(f"/api/v1/job/{path}", {"job_id": world.job_id}, headers=BOB)
        missing = await gateway.post(
            f"/api/v1/job/{path}", {"job_id": twin(world.job_id)}, headers=BOB
        )
        assert foreign.body["status"]["code"] != 0
        assert foreign.body == _naming(missing.body, twin(world.job_id), world.job_id), path


async def test_bobs_lists_hold_none_of_alices_resources(gateway: Gateway, world: World) -> None:
    for path, key in (
        ("pipeline/list", "pipelines"),
        ("run/list", "runs"),
        ("cache/list", "cache_entries"),
        ("artifact/list", "artifacts"),
        ("schedule/list", "schedules"),
    ):
        reply = await gateway.post(f"/api/v1/workflow/{path}", {}, headers=BOB)
        assert reply.status == 200 and reply.body.get(key, []) == [], (path, reply.body)
    alices = await gateway.post("/api/v1/workflow/run/list", {}, headers={"Token": ALICE_TOKEN})
    assert {run["run_id"] for run in alices.body["runs"]} == {world.run_id, world.held_run_id}


async def test_a_tenant_cannot_spoof_the_username_or_act_on_behalf_of_anyone(
    gateway: Gateway,
) -> None:
    spoofed = await gateway.post(
        "/api/v1/workflow/pipeline/list", {}, headers={**BOB, "On-Behalf-Of": "alice/alice"}
    )
    assert spoofed.status == 403
    assert spoofed.body["code"] == grpc.StatusCode.PERMISSION_DENIED.value[0]
    as_alice = await gateway.post(
        "/api/v1/workflow/run/create",
        {"run_yaml": "name: x\nentry_points:\n  a: {command: 'true'}\n", "username": "alice"},
        headers=BOB,
    )
    assert as_alice.status == 403


async def test_an_operator_on_behalf_of_bob_creates_bobs_pipeline(gateway: Gateway) -> None:
    made = await gateway.post(
        "/api/v1/workflow/pipeline/create",
        {"pipeline_yaml": "name: p\nentry_points:\n  a: {command: 'true'}\n"},
        headers={"Token": OPS_TOKEN, "On-Behalf-Of": "bob/bob-ml"},
    )
    assert made.status == 200 and made.body["pipeline"]["username"] == "bob-ml"
    listed = await gateway.post("/api/v1/workflow/pipeline/list", {}, headers=BOB)
    assert [p["pipeline_id"] for p in listed.body["pipelines"]] == [
        made.body["pipeline"]["pipeline_id"]
    ]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({}, 401, id="no-token"),
        pytest.param({"Token": "nope"}, 401, id="bad-token"),
        pytest.param(BOB, 403, id="tenant-token"),
    ],
)
async def test_metrics_need_an_operators_token(
    gateway: Gateway, headers: dict[str, str], status: int
) -> None:
    async with gateway.session.get("/metrics", headers=headers) as response:
        assert response.status == status
        assert "dagwire_" not in await response.text()


async def test_metrics_answer_an_operator(gateway: Gateway) -> None:
    async with gateway.session.get("/metrics", headers={"Token": OPS_TOKEN}) as response:
        assert response.status == 200
        assert "dagwire_" in await response.text()
