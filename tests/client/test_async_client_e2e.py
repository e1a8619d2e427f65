"""The asyncio SDK against a real dagwire server: the same behaviour as the sync one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from dagwire.client import (
    AsyncDagwireClient,
    EventType,
    IllegalStateError,
    JobAlreadyExistsError,
    JobNotFoundError,
    JobState,
)

JobBody = Callable[..., dict[str, Any]]


@pytest.fixture
async def client(dagwire_server: Any) -> AsyncIterator[AsyncDagwireClient]:
    async with AsyncDagwireClient(target=dagwire_server.address, timeout=10) as client:
        yield client


async def test_async_submitted_job_runs_to_success(
    client: AsyncDagwireClient, job_body: JobBody
) -> None:
    handle = await client.submit_job(job_body())
    job = await handle.result(timeout=30)
    assert job.state == JobState.SUCCEEDED


async def test_async_get_job_returns_the_task_specs(
    client: AsyncDagwireClient, job_body: JobBody
) -> None:
    handle = await client.create_job(job_body())
    job = await client.get_job(handle.job_id)
    assert [t.alias for t in job.tasks] == ["job-psi", "job-split"]


async def test_async_unknown_job_raises_job_not_found(client: AsyncDagwireClient) -> None:
    with pytest.raises(JobNotFoundError):
        await client.get_job("no-such-job")


async def test_async_duplicate_job_raises_job_already_exists(
    client: AsyncDagwireClient, job_body: JobBody
) -> None:
    body = job_body()
    await client.create_job(body)
    with pytest.raises(JobAlreadyExistsError):
        await client.create_job(body)


async def test_async_suspend_of_a_finished_job_raises_illegal_state(
    client: AsyncDagwireClient, job_body: JobBody
) -> None:
    job = await client.run_job(job_body(), timeout=30)
    with pytest.raises(IllegalStateError):
        await client.suspend_job(job.job_id)


async def test_async_watch_yields_added_first_for_a_new_job(
    client: AsyncDagwireClient, job_body: JobBody
) -> None:
    handle = await client.create_job(job_body())
    events = client.watch_jobs(job_ids=[handle.job_id], timeout_seconds=30)
    first = await anext(events)
    await events.aclose()
    assert (first.type, first.job_id) == (EventType.ADDED, handle.job_id)
