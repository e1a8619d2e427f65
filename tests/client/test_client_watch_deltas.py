"""The SDK watches with deltas (each change carries only the tasks it changed) and
hands its users whole job states, as a plain Kuscia watch would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from dagwire.client import AsyncDagwireClient, EventType
from dagwire.client._base import _watch_cursor
from dagwire.client._deltas import JobStates
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2

TASKS = 30


def noop_chain(job_id: str) -> job_pb2.CreateJobRequest:
    return job_pb2.CreateJobRequest(
        job_id=job_id,
        initiator="alice",
        max_parallelism=1,
        tasks=[
            job_pb2.Task(
                alias=f"t{i}",
                app_image="dagwire-noop",
                parties=[job_pb2.Party(domain_id="alice")],
                dependencies=[f"t{i - 1}"] if i else [],
            )
            for i in range(TASKS)
        ],
    )


@pytest.fixture
async def client(dagwire_server: Any) -> AsyncIterator[AsyncDagwireClient]:
    async with AsyncDagwireClient(target=dagwire_server.address, timeout=10) as client:
        yield client


def test_the_sdk_asks_for_deltas() -> None:
    assert _watch_cursor(("j",), 0, False, 0).request().deltas


async def test_every_event_of_a_delta_watch_is_the_whole_job(
    client: AsyncDagwireClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    merged = []
    real = JobStates._merged

    def counting(self: JobStates, delta: Any) -> Any:
        merged.append(delta.ByteSize())
        return real(self, delta)

    monkeypatch.setattr(JobStates, "_merged", counting)
    events = client.watch_jobs(job_ids=["chain"], timeout_seconds=60)
    await client.create_job(noop_chain("chain"))
    seen = []
    async for event in events:
        seen.append(event)
        assert event.status is not None and len(event.status.tasks) == TASKS
        if event.status.is_terminal:
            break
    await events.aclose()
    assert seen[0].type is EventType.ADDED
    assert len(seen) > 2
    assert len(merged) == len(seen) - 1, "every event after the ADDED came as a delta"
    assert seen[-1].status == (await client.get_job("chain")).status
    # Each task went Pending -> Running -> Succeeded through the merged states.
    assert [t.state for t in seen[-1].status.tasks] == ["Succeeded"] * TASKS
