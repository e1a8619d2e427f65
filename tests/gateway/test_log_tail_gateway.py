"""/api/v1/workflow/log/tail (TailRunLog): a step's log streamed as it grows, NDJSON over
the gateway; following the step into its retry; refusals as HTTP statuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc

from tests.gateway.conftest import Gateway
from tests.gateway.workflows import STEPS, WORKFLOW, call, create_run, ndjson, wait_finished


async def test_a_growing_log_arrives_line_by_line_and_the_stream_says_when_the_step_ends(
    gateway: Gateway, tmp_path: Path
) -> None:
    gate = tmp_path / "go"
    run_yaml = (
        "name: chatty\nentry_points:\n"
        f"  talk: {{command: 'echo first; while [ ! -f {gate} ]; do sleep 0.05; done; echo second'}}\n"
    )
    run_id = await create_run(gateway, run_yaml)
    text = ""
    chunks: list[dict[str, Any]] = []
    body = {"run_id": run_id, "step_name": "talk", "timeout_seconds": 30}
    async for chunk in ndjson(gateway, WORKFLOW + "log/tail", body):
        chunks.append(chunk)
        text += chunk["content"]
        if text == "first\n" and not gate.exists():
            gate.touch()  # only once the first line has been streamed
        if chunk["finished"]:
            break
    assert text == "first\nsecond\n"
    assert chunks[-1]["status"] == "STEP_STATUS_SUCCEEDED"
    assert int(chunks[-1]["offset"]) == len(text)
    assert {c["attempt"] for c in chunks if c["content"]} == {1}


async def test_the_tail_resumes_at_an_offset_and_follows_a_retry_from_its_start(
    gateway: Gateway, tmp_path: Path
) -> None:
    marker = tmp_path / "ready"
    run_yaml = (
        "name: again\nentry_points:\n"
        f"  train: {{command: 'echo try; test -f {marker} && echo won'}}\n"
    )
    run_id = await create_run(gateway, run_yaml)
    await wait_finished(gateway, run_id)
    body = {"run_id": run_id, "step_name": "train", "offset": 2, "timeout_seconds": 30}
    seen: list[tuple[int, str]] = []
    async for chunk in ndjson(gateway, WORKFLOW + "log/tail", body):
        seen.append((chunk["attempt"], chunk["content"]))
        if chunk["attempt"] == 1 and chunk["finished"] and len(seen) == 1:
            marker.touch()
            action = {"run_id": run_id, "step_name": "train", "action": "STEP_ACTION_RETRY"}
            await call(gateway, STEPS + "act", action)
        if chunk["attempt"] == 2 and chunk["finished"]:
            break
    assert seen[0] == (1, "y\n")  # from byte 2 of "try\n"
    assert "".join(text for attempt, text in seen if attempt == 2) == "try\nwon\n"


async def test_the_tail_of_an_unknown_step_is_a_404(gateway: Gateway) -> None:
    run_id = await create_run(gateway)
    reply = await gateway.post(WORKFLOW + "log/tail", {"run_id": run_id, "step_name": "nope"})
    assert reply.status == 404
    assert reply.body["code"] == grpc.StatusCode.NOT_FOUND.value[0]


async def test_a_negative_offset_is_a_400(gateway: Gateway) -> None:
    run_id = await create_run(gateway)
    body = {"run_id": run_id, "step_name": "a", "offset": -1}
    reply = await gateway.post(WORKFLOW + "log/tail", body)
    assert reply.status == 400
    assert reply.body["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
