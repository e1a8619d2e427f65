"""Statistics at PaddleFlow's paths (pkg/apiserver/router/v1/statistics.go), backed by
WorkflowService.GetStepStatistics.

PaddleFlow's job id is a run step's engine task id, as GetRun and PaddleFlow's show_run
show it (Step.job_id, the JobView's `jobID`). Figures are those of the step's latest
finished attempt, measured by the local executor's reaper; a step with none answers
zeros (PaddleFlow would answer Prometheus' running averages).

- GET /statistics/job/{jobID}: `{"metricsInfo": {name: text}}` with PaddleFlow's metric
  names and formats (controller/statistics/statistics.go convertResultToResponse: rates
  "12.34%", bytes "123.00(Bytes)", throughputs "0.00(B/s)"), every key its SDK reads
  (client/paddleflow/statistics/statistics_info.py). cpu_usage_rate is CPU time over
  wall time (1 core busy = 100%); memory_usage is the peak resident memory (PaddleFlow's
  is an average); what the reaper does not measure (network, disk, GPU) is 0. dagwire
  adds cpu_time, wall_time and peak_memory_usage, which PaddleFlow's SDK ignores.
- GET /statistics/jobDetail/{jobID}?start=&end=&step=: `{"result": [{"taskName",
  "taskInfo": [{"metric", "values": [[unix seconds, value], ...]}]}], "truncated"}`:
  cpu_usage_rate (a fraction, as PaddleFlow's series are) and memory_usage (bytes) on the
  grid start, start+step, ... end; start/end default to the attempt's start and end,
  step to 60 s; at most 1000 values a series (PaddleFlow's StsMaxSeqData), `truncated`
  when cut. Bad numbers are PaddleFlow's InvalidURI (400).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web
from google.protobuf.timestamp_pb2 import Timestamp

from dagwire.server.gateway.paddleflow.common import (
    HTTP_STATUS,
    RECORD_NOT_FOUND,
    Call,
    PaddleFlowApi,
    PaddleFlowError,
)

WORKFLOW = "WorkflowService"
INVALID_URI = "InvalidURI"
JOB_NOT_FOUND = "JobNotFound"
DEFAULT_STEP_SECONDS = 60
MAX_SEQUENCE = 1000  # PaddleFlow's common.StsMaxSeqData
MAX_SECONDS = 1 << 40  # beyond any unix time: a bound on start/end


class StatisticsError(PaddleFlowError):
    """PaddleFlow's codes its statistics router answers that common.HTTP_STATUS does not
    list: InvalidURI (400 in errorHTTPStatus) and JobNotFound (listed without a status
    there; 404 here, as RecordNotFound)."""

    STATUS: Mapping[str, int] = {INVALID_URI: 400, JOB_NOT_FOUND: 404}

    @property
    def http_status(self) -> int:
        return self.STATUS.get(self.code, HTTP_STATUS.get(self.code, 500))


def routes(api: PaddleFlowApi) -> list[web.RouteDef]:
    async def job_statistics(call: Call) -> dict[str, Any]:
        latest = await _latest(api, call, with_samples=False)
        return {"metricsInfo": metrics_info(latest)}

    async def job_detail_statistics(call: Call) -> dict[str, Any]:
        start, end, step = (
            _seconds(call, "start", 0),
            _seconds(call, "end", 0),
            _seconds(call, "step", DEFAULT_STEP_SECONDS),
        )
        # PaddleFlow's checks, before the defaults apply (router/v1/statistics.go
        # validateStatisticsParam): a start without an end is refused as later than it.
        if start > end:
            raise StatisticsError(INVALID_URI, "start must not be later than end")
        if step <= 0:
            raise StatisticsError(INVALID_URI, "step must be greater than 0")
        latest = await _latest(api, call, with_samples=True)
        if latest is None:
            return {"result": [], "truncated": False}
        return detail(call.path("jobID"), latest, start, end, step)

    return [
        api.route("GET", "/statistics/job/{jobID}", job_statistics),
        api.route("GET", "/statistics/jobDetail/{jobID}", job_detail_statistics),
    ]


async def _latest(api: PaddleFlowApi, call: Call, *, with_samples: bool) -> dict[str, Any] | None:
    """The step's latest finished attempt's entry (protobuf JSON), or None."""
    job_id = call.path("jobID")
    request = {"job_id": job_id, "with_samples": with_samples}
    try:
        answer = await api.call(call, WORKFLOW, "GetStepStatistics", request)
    except PaddleFlowError as error:
        if error.code == RECORD_NOT_FOUND:
            raise StatisticsError(JOB_NOT_FOUND, error.message) from None
        raise
    entries: list[dict[str, Any]] = answer["statistics"]
    return max(entries, key=lambda e: e["attempt"], default=None)


def _seconds(call: Call, name: str, default: int) -> int:
    raw = call.query(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise StatisticsError(INVALID_URI, f"{name} {raw!r} is not a number") from None
    if name != "step" and value < 0:
        raise StatisticsError(INVALID_URI, f"{name} must not be negative")
    if abs(value) >= MAX_SECONDS:
        raise StatisticsError(INVALID_URI, f"{name} {raw!r} is out of range")
    return value


def metrics_info(entry: Mapping[str, Any] | None) -> dict[str, str]:
    cpu = float(entry["cpu_seconds"]) if entry else 0.0
    wall = float(entry["wall_seconds"]) if entry else 0.0
    peak = float(entry["peak_memory_bytes"]) if entry else 0.0
    rate = cpu / wall if wall > 0 else 0.0
    return {
        "cpu_usage_rate": _percent(rate),
        "memory_usage": _bytes(peak),
        "net_receive_bytes": _throughput(0.0),
        "net_send_bytes": _throughput(0.0),
        "disk_usage": _bytes(0.0),
        "disk_read_rate": _throughput(0.0),
        "disk_write_rate": _throughput(0.0),
        "gpu_util": _percent(0.0),
        "gpu_memory_util": _percent(0.0),
        # dagwire's own, from the kernel's accounting.
        "cpu_time": f"{cpu:.2f}(s)",
        "wall_time": f"{wall:.2f}(s)",
        "peak_memory_usage": _bytes(peak),
    }


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.2f}%"


def _bytes(count: float) -> str:
    return f"{count:.2f}(Bytes)"


def _throughput(rate: float) -> str:
    return f"{rate:.2f}(B/s)"


def detail(
    job_id: str, entry: Mapping[str, Any], start: int, end: int, step: int
) -> dict[str, Any]:
    samples = [
        (_epoch(s["time"]), float(s["cpu_seconds"]), float(s["rss_bytes"]))
        for s in entry["samples"]
    ]
    began, ended = _epoch(entry["start_time"]), _epoch(entry["end_time"])
    first = start or math.ceil(began)
    last = end or int(ended) + 1
    grid = range(first, last + 1, step)
    truncated = len(grid) > MAX_SEQUENCE
    cpu_values: list[list[float]] = []
    memory_values: list[list[float]] = []
    for moment in grid[:MAX_SEQUENCE]:
        found = _at(samples, moment, began, ended)
        if found is None:
            continue
        cpu_values.append([float(moment), round(found[0], 4)])
        memory_values.append([float(moment), found[1]])
    return {
        "result": [
            {
                "taskName": job_id,
                "taskInfo": [
                    {"metric": "cpu_usage_rate", "values": cpu_values},
                    {"metric": "memory_usage", "values": memory_values},
                ],
            }
        ],
        "truncated": truncated,
    }


def _at(
    samples: Sequence[tuple[float, float, float]], moment: float, began: float, ended: float
) -> tuple[float, float] | None:
    """(CPU rate, resident bytes) at `moment`: the rate over the sample interval that
    holds it and the memory of its latest sample; None outside the process's life."""
    if not began <= moment <= ended or not samples:
        return None
    before = [s for s in samples if s[0] <= moment] or [samples[0]]
    after = [s for s in samples if s[0] > moment]
    low = before[-1]
    high = after[0] if after else low
    if high is low and len(before) > 1:
        low = before[-2]
    span = high[0] - low[0]
    rate = (high[1] - low[1]) / span if span > 0 else 0.0
    return max(rate, 0.0), before[-1][2]


def _epoch(stamp: str) -> float:
    """A protobuf JSON timestamp as unix seconds."""
    parsed = Timestamp()
    parsed.FromJsonString(stamp)
    return parsed.ToNanoseconds() / 1e9
