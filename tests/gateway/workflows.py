"""Helpers for driving dagwire.v1 over the gateway: runs by YAML, polling, NDJSON."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

from tests.conftest import assert_eventually
from tests.gateway.conftest import Gateway

DEMO = 'name: demo\nentry_points:\n  a: {command: "echo a"}\n  b: {command: "echo b", deps: a}\n'
FINISHED = ("RUN_STATUS_SUCCEEDED", "RUN_STATUS_FAILED", "RUN_STATUS_TERMINATED")
WORKFLOW = "/api/v1/workflow/"
STEPS = "/api/v1/stepexecution/"


async def call(gateway: Gateway, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A call that must succeed: its JSON answer."""
    reply = await gateway.post(path, body)
    assert reply.status == 200, (reply.status, reply.body)
    answer: dict[str, Any] = reply.body
    return answer


async def create_run(gateway: Gateway, run_yaml: str = DEMO) -> str:
    answer = await call(gateway, WORKFLOW + "run/create", {"run_yaml": run_yaml})
    run_id: str = answer["run"]["run_id"]
    return run_id


async def get_run(gateway: Gateway, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = (await call(gateway, WORKFLOW + "run/get", {"run_id": run_id}))["run"]
    return run


async def wait_finished(gateway: Gateway, run_id: str) -> dict[str, Any]:
    return await assert_eventually(
        lambda: get_run(gateway, run_id), lambda run: run["status"] in FINISHED, timeout=20
    )


async def ndjson(gateway: Gateway, path: str, body: dict[str, Any]) -> AsyncGenerator[Any, None]:
    """The lines of a streamed answer, decoded, until the stream ends."""
    async with gateway.session.post(path, data=json.dumps(body).encode()) as response:
        assert response.status == 200, await response.text()
        assert response.headers["Content-Type"] == "application/x-ndjson; charset=utf-8"
        async for line in response.content:
            yield json.loads(line)


def details_of(body: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The details of a grpc-gateway error body of one google.rpc type (`BadRequest`)."""
    return [d for d in body["details"] if d["@type"] == f"type.googleapis.com/google.rpc.{kind}"]


def violations(body: dict[str, Any]) -> dict[str, str]:
    """The BadRequest field violations of an error body, by field."""
    return {
        v["field"]: v["description"]
        for detail in details_of(body, "BadRequest")
        for v in detail["fieldViolations"]
    }
