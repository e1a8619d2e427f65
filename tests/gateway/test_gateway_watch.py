"""WatchJob over HTTP: a chunked stream of JSON lines, heartbeats included."""

from __future__ import annotations

import contextlib
import json

import pytest

from tests.conftest import ServerThread, assert_eventually
from tests.gateway.conftest import Gateway, kuscia_create_body

JOB = "job-alice-bob-001"


@pytest.fixture
def heartbeat_interval() -> float:
    return 0.2


async def test_the_watch_answers_chunked_newline_delimited_json(gateway: Gateway) -> None:
    async with gateway.session.post(
        "/api/v1/job/watch", data=json.dumps({"timeout_seconds": 1}).encode()
    ) as response:
        assert response.headers["Transfer-Encoding"] == "chunked"
        assert response.headers["Content-Type"] == "application/x-ndjson; charset=utf-8"
        lines = [json.loads(line) async for line in response.content]
    assert lines and all(isinstance(line, dict) for line in lines)


async def test_a_quiet_watch_gets_heartbeats(gateway: Gateway) -> None:
    types = [event["type"] async for event in gateway.watch_lines({"timeout_seconds": 1})]
    # The first HEARTBEAT marks the end of the (empty) initial listing; more follow
    # every 0.2 s of quiet.
    assert types.count("HEARTBEAT") >= 3


async def test_a_heartbeat_carries_the_resource_version_as_a_string(gateway: Gateway) -> None:
    await gateway.create(kuscia_create_body())
    lines = gateway.watch_lines({"timeout_seconds": 5})
    async with contextlib.aclosing(lines):
        heartbeat = await anext(event async for event in lines if event["type"] == "HEARTBEAT")
    assert heartbeat["resource_version"].isdigit()  # int64 in the protobuf JSON mapping
    assert "object" not in heartbeat


async def test_the_watch_ends_after_timeout_seconds(gateway: Gateway) -> None:
    events = [event async for event in gateway.watch_lines({"timeout_seconds": "1"})]
    assert events[-1]["type"] == "HEARTBEAT"


async def test_a_deleted_job_arrives_as_deleted(gateway: Gateway) -> None:
    await gateway.create(kuscia_create_body())
    lines = gateway.watch_lines({"timeout_seconds": 10})
    async with contextlib.aclosing(lines):
        assert (await anext(lines))["type"] == "ADDED"
        await gateway.post("/api/v1/job/delete", {"job_id": JOB})
        deleted = await anext(event async for event in lines if event["type"] == "DELETED")
    assert deleted["object"]["job_id"] == JOB


async def test_an_invalid_timeout_is_a_400_with_the_grpc_status(gateway: Gateway) -> None:
    reply = await gateway.post("/api/v1/job/watch", {"timeout_seconds": -1})
    assert reply.status == 400
    assert reply.body == {
        "code": 3,  # INVALID_ARGUMENT
        "message": "timeout_seconds must be within [0, 2147483647], got -1",
        "details": [],
    }


async def test_an_undecodable_watch_request_is_a_400(gateway: Gateway) -> None:
    reply = await gateway.post("/api/v1/job/watch", data=b"{")
    assert reply.status == 400
    assert reply.body["message"].startswith("the request body is not a valid WatchJobRequest")


async def test_a_client_that_goes_away_leaves_no_subscriber_behind(
    gateway: Gateway, dagwire_server: ServerThread
) -> None:
    assert dagwire_server.server is not None
    bus = dagwire_server.server.bus
    lines = gateway.watch_lines({})
    async with contextlib.aclosing(lines):
        await anext(lines)
        assert bus.subscriber_count == 1

    async def subscribers() -> int:
        return bus.subscriber_count

    await assert_eventually(subscribers, lambda count: count == 0)


async def test_a_delta_watch_over_http_sends_only_the_changed_tasks(gateway: Gateway) -> None:
    lines = gateway.watch_lines({"timeout_seconds": 30, "deltas": True})
    async with contextlib.aclosing(lines):
        assert (await anext(lines))["type"] == "HEARTBEAT"  # the (empty) listing
        await gateway.create(kuscia_create_body(app_image="dagwire-noop"))
        events = []
        async for event in lines:
            if event["type"] == "HEARTBEAT":
                continue
            events.append(event)
            if event["object"]["status"]["state"] == "Succeeded":
                break
    assert events[0]["type"] == "ADDED" and not events[0]["delta"]
    assert len(events[0]["object"]["status"]["tasks"]) == 2
    modified = events[1:]
    assert modified and all(event["delta"] for event in modified)
    assert any(len(event["object"]["status"].get("tasks", [])) < 2 for event in modified)
