"""The asyncio twin against a real server: the same calls, awaited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from dagwire.client import (
    AsyncDagwireClient,
    AsyncRunHandle,
    EventType,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    RunStatus,
    ScheduleStatus,
    StepStatus,
)
from tests.client.test_workflow_e2e import CACHED, DIAMOND, SLOW


@pytest.fixture
async def client(dagwire_server: Any) -> AsyncIterator[AsyncDagwireClient]:
    async with AsyncDagwireClient(target=dagwire_server.address, timeout=10) as client:
        yield client


async def test_the_diamond_runs_from_a_pipeline_file(
    client: AsyncDagwireClient, tmp_path: Path
) -> None:
    path = tmp_path / "diamond.yaml"
    path.write_text(DIAMOND)
    pipeline = await client.create_pipeline(path)
    handle = await client.create_run(pipeline_id=pipeline.pipeline_id)
    assert isinstance(handle, AsyncRunHandle)
    run = await handle.result(timeout=30)
    assert run.status is RunStatus.SUCCEEDED
    assert [s.status for s in run.steps] == [StepStatus.SUCCEEDED] * 4
    logs = await handle.logs("d")
    assert [log.log_content for log in logs] == ["d\n"]
    assert [r.run_id async for r in client.iter_runs(page_size=1)] == [run.run_id]
    fetched = await client.get_pipeline(pipeline.pipeline_id)
    assert [v.pipeline_version_id for v in fetched.versions] == ["1"]


async def test_watch_runs_streams_until_the_run_succeeds(client: AsyncDagwireClient) -> None:
    handle = await client.create_run(DIAMOND)
    seen = []
    events = client.watch_runs([handle.run_id], timeout_seconds=30)
    async for event in events:
        assert event.run is not None
        seen.append((event.type, event.run.status))
        if event.run.is_finished:
            break
    await events.aclose()
    assert seen[0][0] is EventType.ADDED
    assert seen[-1][1] is RunStatus.SUCCEEDED


async def test_stop_then_delete(client: AsyncDagwireClient) -> None:
    handle = await client.create_run(SLOW)
    with pytest.raises(FailedPreconditionError):
        await handle.delete()
    await handle.stop(force=True)
    assert (await handle.result(timeout=20)).status is RunStatus.TERMINATED
    await handle.delete()
    with pytest.raises(NotFoundError):
        await handle.describe()


async def test_cache_artifacts_and_schedules(client: AsyncDagwireClient) -> None:
    run = await (await client.create_run(CACHED)).result(timeout=30)
    entries = [e async for e in client.iter_cache_entries(run_id=run.run_id)]
    assert sorted(e.step_name for e in entries) == ["make", "use"]
    assert (await client.get_cache_entry(entries[0].cache_id)).run_id == run.run_id
    await client.delete_cache_entry(entries[0].cache_id)
    artifacts = await client.list_artifacts(run_id=run.run_id, type="input")
    assert [(a.step_name, a.name) for a in artifacts] == [("use", "data")]

    pipeline = await client.create_pipeline(DIAMOND)
    schedule = await client.create_schedule(
        "nightly", pipeline.pipeline_id, "0 2 * * *", concurrency_policy="replace"
    )
    assert [s.schedule_id async for s in client.iter_schedules()] == [schedule.schedule_id]
    assert (await client.stop_schedule(schedule.schedule_id)).status is ScheduleStatus.STOPPED
    await client.delete_schedule(schedule.schedule_id)
    with pytest.raises(NotFoundError):
        await client.get_schedule(schedule.schedule_id)


async def test_pipeline_versions_and_errors(client: AsyncDagwireClient) -> None:
    pipeline = await client.create_pipeline(DIAMOND)
    updated = await client.update_pipeline(pipeline.pipeline_id, DIAMOND, description="v2")
    assert updated.latest_version_id == "2"
    version = await client.get_pipeline_version(pipeline.pipeline_id, "1")
    assert version.pipeline_yaml == DIAMOND
    await client.delete_pipeline_version(pipeline.pipeline_id, "1")
    page = await client.list_pipelines(name="diamond")
    assert [p.pipeline_id for p in page] == [pipeline.pipeline_id]
    await client.delete_pipeline(pipeline.pipeline_id)
    with pytest.raises(InvalidArgumentError) as caught:
        await client.create_run(DIAMOND, disabled=["zz"])
    assert [v.field for v in caught.value.field_violations] == ["disabled[0]"]
    failing = DIAMOND.replace('"echo d"', '"exit 3"')
    failed = await (await client.create_run(failing)).result(timeout=30)
    retried = await client.retry_run(failed.run_id)
    assert retried.run is not None and retried.run.retried_from == failed.run_id
    again = await retried.result(timeout=30)
    assert (again.status, again.step("a").cache_run_id) == (RunStatus.FAILED, failed.run_id)


async def test_get_pipeline_pages_versions_and_list_runs_filters_by_run_id(
    client: AsyncDagwireClient,
) -> None:
    # PaddleFlow's show_pipeline maxKeys/marker and list_run runFilter
    # (client/paddleflow/pipeline/pipeline_api.py, client/paddleflow/run/run_api.py).
    created = await client.create_pipeline(DIAMOND)
    await client.update_pipeline(created.pipeline_id, DIAMOND, description="again")
    newest = await client.get_pipeline(created.pipeline_id, page_size=1)
    oldest = await client.get_pipeline(
        created.pipeline_id, page_size=1, page_token=newest.next_page_token
    )
    run = (await client.create_run(pipeline_id=created.pipeline_id)).run
    assert run is not None
    await client.create_run(pipeline_id=created.pipeline_id)

    listed = await client.list_runs(run_id=run.run_id)

    assert [v.pipeline_version_id for v in newest.versions] == ["2"]
    assert [v.pipeline_version_id for v in oldest.versions] == ["1"]
    assert oldest.next_page_token == ""
    assert [r.run_id for r in listed.items] == [run.run_id]
