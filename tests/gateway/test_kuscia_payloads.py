"""Kuscia's documented curl payloads, sent to the gateway with an HTTP client, get the
JSON responses Kuscia's job API documentation shows (tests/data holds the CreateJob
body; the others are small enough to sit inline, as in the documentation)."""

from __future__ import annotations

import contextlib
from typing import Any

from tests.gateway.conftest import SUCCESS, Gateway, kuscia_create_body, sleeping_body

JOB = "job-alice-bob-001"
# The fields Kuscia documents for each object of the QueryJob / BatchQuery answers.
TASK_CONFIG_FIELDS = {
    "app_image",
    "parties",
    "alias",
    "task_id",
    "dependencies",
    "task_input_config",
    "priority",
}
JOB_STATUS_FIELDS = {"state", "err_msg", "create_time", "start_time", "end_time", "tasks"}
TASK_STATUS_FIELDS = {
    "task_id",
    "state",
    "err_msg",
    "create_time",
    "start_time",
    "end_time",
    "parties",
}


def documented_part(answer: Any, documented: Any) -> Any:
    """`answer` cut down to the keys `documented` has, at every depth (the server may
    print more fields, such as empty `bandwidth_limits`, as Kuscia's newer versions do)."""
    if isinstance(documented, dict):
        return {key: documented_part(answer[key], value) for key, value in documented.items()}
    if isinstance(documented, list) and len(documented) == len(answer):
        return [documented_part(a, d) for a, d in zip(answer, documented, strict=True)]
    return answer


async def test_create_job_with_the_kuscia_body_answers_the_documented_success(
    gateway: Gateway,
) -> None:
    reply = await gateway.post("/api/v1/job/create", kuscia_create_body())
    assert reply.status == 200
    assert reply.body == {"status": SUCCESS, "data": {"job_id": JOB}}


async def test_query_job_answers_the_documented_fields(gateway: Gateway) -> None:
    sent = kuscia_create_body()
    await gateway.create(sent)
    reply = await gateway.post("/api/v1/job/query", {"job_id": JOB})
    assert reply.body["status"] == SUCCESS
    data = reply.body["data"]
    assert (data["job_id"], data["initiator"], data["max_parallelism"]) == (JOB, "alice", 2)
    for task, documented in zip(data["tasks"], sent["tasks"], strict=True):
        assert task.keys() >= TASK_CONFIG_FIELDS
        assert documented_part(task, documented) == documented
    assert data["status"].keys() >= JOB_STATUS_FIELDS
    for task_status in data["status"]["tasks"]:
        assert task_status.keys() >= TASK_STATUS_FIELDS


async def test_query_job_prints_empty_fields_as_kuscia_does(gateway: Gateway) -> None:
    await gateway.create(sleeping_body(JOB))
    reply = await gateway.post("/api/v1/job/query", {"job_id": JOB})
    status = reply.body["data"]["status"]
    assert status["err_msg"] == "" and status["end_time"] == ""
    assert reply.body["status"]["details"] == []


async def test_batch_query_answers_the_documented_fields(gateway: Gateway) -> None:
    await gateway.create(kuscia_create_body())
    reply = await gateway.post("/api/v1/job/status/batchQuery", {"job_ids": [JOB]})
    assert reply.body["status"] == SUCCESS
    [job] = reply.body["data"]["jobs"]
    assert job["job_id"] == JOB
    assert job["status"].keys() >= JOB_STATUS_FIELDS
    assert [task["task_id"] for task in job["status"]["tasks"]] == ["job-psi", "job-split"]


async def test_stop_job_answers_the_documented_success(gateway: Gateway) -> None:
    await gateway.create(sleeping_body(JOB))
    reply = await gateway.post("/api/v1/job/stop", {"job_id": JOB})
    assert reply.body == {"status": SUCCESS, "data": {"job_id": JOB}}
    assert await gateway.state(JOB) == "Failed"


async def test_delete_job_answers_the_documented_success(gateway: Gateway) -> None:
    await gateway.create(kuscia_create_body())
    reply = await gateway.post("/api/v1/job/delete", {"job_id": JOB})
    assert reply.body == {"status": SUCCESS, "data": {"job_id": JOB}}
    gone = await gateway.post("/api/v1/job/query", {"job_id": JOB})
    assert gone.body["status"]["code"] == 11202


async def test_suspend_job_answers_the_documented_success(gateway: Gateway) -> None:
    await gateway.create(sleeping_body(JOB))
    reply = await gateway.post("/api/v1/job/suspend", {"job_id": JOB})
    assert reply.body == {"status": SUCCESS, "data": {"job_id": JOB}}
    assert await gateway.state(JOB) == "Suspended"


async def test_restart_job_answers_the_documented_success(gateway: Gateway) -> None:
    await gateway.create(sleeping_body(JOB))
    await gateway.post("/api/v1/job/suspend", {"job_id": JOB})
    reply = await gateway.post("/api/v1/job/restart", {"job_id": JOB})
    assert reply.body == {"status": SUCCESS, "data": {"job_id": JOB}}
    assert await gateway.state(JOB) == "Running"


async def test_cancel_job_answers_the_documented_success(gateway: Gateway) -> None:
    await gateway.create(sleeping_body(JOB))
    reply = await gateway.post("/api/v1/job/cancel", {"job_id": JOB})
    assert reply.body == {"status": SUCCESS, "data": {"job_id": JOB}}
    assert await gateway.state(JOB) == "Cancelled"


async def test_watch_job_streams_the_job_as_a_documented_event(gateway: Gateway) -> None:
    await gateway.create(kuscia_create_body())
    lines = gateway.watch_lines({"timeout_seconds": 30})
    async with contextlib.aclosing(lines):
        first = await anext(lines)
    # WatchJobEventResponse: `type` (EventType) and `object` (JobStatus).
    assert first["type"] == "ADDED"
    assert first["object"]["job_id"] == JOB
    assert first["object"]["status"].keys() >= JOB_STATUS_FIELDS


async def test_watch_job_follows_the_kuscia_job_until_it_succeeds(gateway: Gateway) -> None:
    await gateway.create(kuscia_create_body())
    states = []
    lines = gateway.watch_lines({"timeout_seconds": 30})
    async with contextlib.aclosing(lines):
        async for event in lines:
            if event["type"] != "HEARTBEAT":
                states.append(event["object"]["status"]["state"])
                if states[-1] == "Succeeded":
                    break
    assert states[0] in ("Running", "Succeeded") and states[-1] == "Succeeded"
