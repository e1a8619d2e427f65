"""Statistics at PaddleFlow's paths, as its SDK asks for them
(client/paddleflow/statistics/statistics_api.py get_statistics, get_statistics_detail:
GET /api/paddleflow/v1/statistics/job/{job_id} and .../jobDetail/{job_id} with start,
end and step as query parameters; statistics_info.py reads the answers), and as its
server answers (pkg/apiserver/controller/statistics/statistics.go,
pkg/apiserver/router/v1/statistics.go). The job id is the step's, as GetRun shows it."""

from __future__ import annotations

import itertools
import json
from typing import Any

import aiohttp

from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.security.sandboxing import ALICE_TOKEN, BOB_TOKEN, one_step, run_to_end
from tests.statistics.conftest import BURN, MB, SLEEP

PREFIX = "/api/paddleflow/v1/statistics"
# What statistics_info.py StatisticsJobInfo.from_json reads from metricsInfo.
SDK_KEYS = {
    "cpu_usage_rate",
    "memory_usage",
    "net_receive_bytes",
    "net_send_bytes",
    "disk_usage",
    "disk_read_rate",
    "disk_write_rate",
    "gpu_util",
    "gpu_memory_util",
}


async def _get(
    http: aiohttp.ClientSession, path: str, token: str, **params: str
) -> tuple[int, dict[str, Any]]:
    headers = {"x-pf-authorization": token}
    async with http.get(PREFIX + path, params=params, headers=headers) as reply:
        return reply.status, json.loads(await reply.text())


async def _job_id(workflows: rpc.WorkflowServiceStub, command: str) -> str:
    run = await run_to_end(workflows, one_step(command))
    return run.steps[0].job_id


async def test_job_statistics_answer_every_metric_the_sdk_reads(
    workflows: rpc.WorkflowServiceStub, http: aiohttp.ClientSession
) -> None:
    job_id = await _job_id(workflows, BURN)

    status, body = await _get(http, f"/job/{job_id}", ALICE_TOKEN)

    assert status == 200, body
    info = body["metricsInfo"]
    assert set(info) >= SDK_KEYS
    assert info["cpu_usage_rate"].endswith("%")
    assert float(info["memory_usage"].removesuffix("(Bytes)")) >= 40 * MB
    assert float(info["cpu_time"].removesuffix("(s)")) >= 0.2


async def test_job_detail_is_a_series_per_metric_on_the_asked_grid(
    workflows: rpc.WorkflowServiceStub, http: aiohttp.ClientSession
) -> None:
    job_id = await _job_id(workflows, SLEEP)

    status, body = await _get(http, f"/jobDetail/{job_id}", ALICE_TOKEN, step="1")

    assert status == 200, body
    assert body["truncated"] is False
    (task,) = body["result"]
    assert task["taskName"] == job_id
    series = {info["metric"]: info["values"] for info in task["taskInfo"]}
    assert set(series) == {"cpu_usage_rate", "memory_usage"}
    times = [moment for moment, _ in series["memory_usage"]]
    assert len(times) >= 1
    assert all(later - earlier == 1 for earlier, later in itertools.pairwise(times))
    assert max(value for _, value in series["memory_usage"]) > 0


async def test_another_users_job_answers_as_a_missing_one(
    workflows: rpc.WorkflowServiceStub, http: aiohttp.ClientSession
) -> None:
    job_id = await _job_id(workflows, SLEEP)
    missing = "run-00000000-probe"

    foreign = await _get(http, f"/job/{job_id}", BOB_TOKEN)
    absent = await _get(http, f"/job/{missing}", BOB_TOKEN)

    assert foreign[0] == absent[0] == 404
    assert foreign[1]["code"] == absent[1]["code"] == "JobNotFound"
    assert foreign[1]["message"].replace(job_id, "<id>") == absent[1]["message"].replace(
        missing, "<id>"
    )


async def test_a_step_of_zero_is_paddleflows_invalid_uri(
    workflows: rpc.WorkflowServiceStub, http: aiohttp.ClientSession
) -> None:
    job_id = await _job_id(workflows, SLEEP)

    status, body = await _get(http, f"/jobDetail/{job_id}", ALICE_TOKEN, step="0")

    assert (status, body["code"]) == (400, "InvalidURI")
