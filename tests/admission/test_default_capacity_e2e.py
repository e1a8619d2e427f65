"""The server's own capacity is the quota of launches that name no queue: a burst of
process-heavy Kuscia jobs (the built-in secretflow-image, a Python process per party)
on a capacity of 2 cores never runs more than 2 of their processes at once (sampled
from /proc), every job succeeds, and a waiting party says why in QueryJob."""

from __future__ import annotations

import asyncio
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from tests.api.conftest import create_ok, job_request, query, task, wait_for_state
from tests.api.conftest import stub as stub
from tests.conftest import assert_eventually

JOBS = 20


@pytest.fixture
def server_overrides() -> dict[str, Any]:
    return {"capacity_cpu": 2.0}


class ProcessSampler:
    """Counts, every few milliseconds, the live Python processes whose environment names
    a job with `marker` in its id: the party processes of this test's jobs only."""

    def __init__(self, marker: str) -> None:
        self._needle = f"DAGWIRE_JOB_ID={marker}".encode()
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ProcessSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self.count())
            self.samples += 1

    def count(self) -> int:
        found = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if not (entry / "comm").read_text().startswith("python"):
                    continue
                if self._needle in (entry / "environ").read_bytes():
                    found += 1
            except OSError:  # gone meanwhile, or not ours to read
                continue
        return found


async def test_a_burst_of_process_jobs_never_runs_more_processes_than_the_capacity(
    stub: job_pb2_grpc.JobServiceStub,
) -> None:
    marker = f"burst-{uuid.uuid4().hex[:8]}"
    ids = [f"{marker}-{i}" for i in range(JOBS)]
    with ProcessSampler(marker) as sampler:
        await asyncio.gather(
            *(create_ok(stub, job_request(i, task("train", image="secretflow-image"))) for i in ids)
        )

        async def waiting_parties() -> list[str]:
            messages = []
            for job_id in ids:
                response = await query(stub, job_id)
                for t in response.data.status.tasks:
                    messages += [p.err_msg for p in t.parties if p.state == "Pending"]
            return messages

        seen = await assert_eventually(waiting_parties, lambda found: bool(found), timeout=30)
        # A task's two parties are admitted together: the task needs 2 of the 2 cores.
        assert "queued in default: needs cpu 2, 2 of 2 in use" in seen, seen
        for job_id in ids:
            await wait_for_state(stub, job_id, "Succeeded", timeout=180)
    assert sampler.samples > 10
    assert 1 <= sampler.peak <= 2, sampler.peak
    final = await query(stub, ids[-1])
    assert all(not p.err_msg for t in final.data.status.tasks for p in t.parties)
