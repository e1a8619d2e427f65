"""Schedules over PaddleFlow's paths, with the bodies its SDK sends
(client/paddleflow/schedule/schedule_api.py): create, list with filters, show with its
runs, stop, delete."""

from __future__ import annotations

from typing import Any

import pytest

from tests.paddleflow_rest.conftest import PaddleFlow, create_pipeline

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def schedule_id(alice: PaddleFlow) -> str:
    pipeline = await create_pipeline(alice)
    # create_schedule: {name, pipelineID, pipelineVersionID, crontab, desc, startTime,
    # concurrency, concurrencyPolicy, expireInterval, catchup}
    reply = await alice.request(
        "POST",
        "/schedule",
        json_body={
            "name": "nightly",
            "pipelineID": pipeline["pipelineID"],
            "pipelineVersionID": pipeline["pipelineVersionID"],
            "crontab": "0 3 * * *",
            "desc": "every night",
            "startTime": "2030-01-01 00:00:00",
            "concurrency": 2,
            "concurrencyPolicy": "skip",
            "expireInterval": 600,
        },
    )
    assert reply.status == 201, reply.body
    created: str = reply.body["scheduleID"]
    return created


async def test_show_schedule_answers_its_options_and_runs(
    alice: PaddleFlow, schedule_id: str
) -> None:
    # show_schedule reads crontab, options, startTime, status and runs.runList.
    reply = await alice.request("GET", f"/schedule/{schedule_id}", params={"maxKeys": 10})

    assert reply.status == 200, reply.body
    body: dict[str, Any] = reply.body
    assert (body["name"], body["crontab"], body["status"]) == ("nightly", "0 3 * * *", "running")
    assert body["options"] == {
        "catchup": False,
        "expireInterval": 600,
        "concurrency": 2,
        "concurrencyPolicy": "skip",
    }
    assert body["startTime"] == "2030-01-01 00:00:00"
    assert body["runs"]["runList"] == []


async def test_list_schedule_filters_by_schedule_id(alice: PaddleFlow, schedule_id: str) -> None:
    # list_schedule: scheduleFilter, statusFilter; reads scheduleList.
    found = await alice.request("GET", "/schedule", params={"scheduleFilter": schedule_id})
    none = await alice.request("GET", "/schedule", params={"statusFilter": "terminated"})

    assert [s["scheduleID"] for s in found.body["scheduleList"]] == [schedule_id]
    assert none.body["scheduleList"] == []


async def test_a_stopped_schedule_is_terminated_and_then_deleted(
    alice: PaddleFlow, schedule_id: str
) -> None:
    # stop_schedule: PUT /schedule/{id}; delete_schedule: DELETE /schedule/{id}
    stopped = await alice.request("PUT", f"/schedule/{schedule_id}")
    shown = await alice.request("GET", f"/schedule/{schedule_id}")
    deleted = await alice.request("DELETE", f"/schedule/{schedule_id}")
    gone = await alice.request("GET", f"/schedule/{schedule_id}")

    assert stopped.status == 200, stopped.body
    assert shown.body["status"] == "terminated"
    assert deleted.status == 200
    assert gone.status == 404 and gone.body["code"] == "RecordNotFound"
