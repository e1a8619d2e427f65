"""The store contract, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dagwire.server.engine.errors import ConcurrentModification, JobAlreadyExists, JobNotFound
from dagwire.server.engine.model import ChangeType, JobState
from dagwire.server.engine.reducer import Stop, apply, create_job
from dagwire.server.store.sql import SqlJobStore
from tests.engine.factories import at, spec, task


def new_job(job_id: str = "job-1"):  # type: ignore[no-untyped-def]
    return create_job(spec(task("a"), task("b", "a"), job_id=job_id), at(0), frozenset()).job


async def test_an_inserted_job_reads_back_equal(store: SqlJobStore) -> None:
    job = new_job()
    change = await store.insert_job(job)
    assert change.type is ChangeType.ADDED and change.resource_version > 0
    stored = await store.get_job("job-1")
    assert stored == replace(job, version=1, resource_version=change.resource_version)


async def test_inserting_an_existing_id_fails_and_writes_no_event(store: SqlJobStore) -> None:
    await store.insert_job(new_job())
    before = await store.latest_resource_version()
    with pytest.raises(JobAlreadyExists):
        await store.insert_job(new_job())
    assert await store.latest_resource_version() == before


async def test_update_checks_the_version_it_was_read_at(store: SqlJobStore) -> None:
    await store.insert_job(new_job())
    job = await store.get_job("job-1")
    assert job is not None
    stopped = apply(job, Stop("x"), at(1)).job
    change = await store.update_job(stopped, job.version)
    assert change.job.version == 2 and change.job.state is JobState.FAILED
    events_before = await store.latest_resource_version()
    with pytest.raises(ConcurrentModification):
        await store.update_job(stopped, job.version)
    assert await store.latest_resource_version() == events_before, "a refused write adds no event"


async def test_update_of_a_missing_job_is_not_found(store: SqlJobStore) -> None:
    with pytest.raises(JobNotFound):
        await store.update_job(new_job("ghost"), 1)


async def test_every_change_appends_one_event_in_order(store: SqlJobStore) -> None:
    a = await store.insert_job(new_job("a"))
    b = await store.insert_job(new_job("b"))
    job = await store.get_job("a")
    assert job is not None
    c = await store.update_job(apply(job, Stop(), at(1)).job, job.version)
    d = await store.delete_job("b")
    changes = await store.changes_after(0, 100)
    assert [(x.resource_version, x.type, x.job.job_id) for x in changes] == [
        (a.resource_version, ChangeType.ADDED, "a"),
        (b.resource_version, ChangeType.ADDED, "b"),
        (c.resource_version, ChangeType.MODIFIED, "a"),
        (d.resource_version, ChangeType.DELETED, "b"),
    ]
    assert [x.resource_version for x in await store.changes_after(b.resource_version, 1)] == [
        c.resource_version
    ]


async def test_list_active_only_leaves_out_terminal_jobs(store: SqlJobStore) -> None:
    await store.insert_job(new_job("running"))
    await store.insert_job(new_job("stopped"))
    job = await store.get_job("stopped")
    assert job is not None
    await store.update_job(apply(job, Stop(), at(1)).job, job.version)
    assert [j.job_id for j in await store.list_jobs(active_only=True)] == ["running"]
    assert {j.job_id for j in await store.list_jobs()} == {"running", "stopped"}


async def test_compaction_keeps_the_newest_events_and_never_reuses_versions(
    store: SqlJobStore,
) -> None:
    for i in range(5):
        await store.insert_job(new_job(f"j{i}"))
    latest = await store.latest_resource_version()
    assert await store.compact(keep=2) == 3
    assert await store.oldest_resource_version() == latest - 1
    await store.delete_job("j4")
    assert await store.latest_resource_version() == latest + 1


async def test_get_jobs_returns_only_existing_ones(store: SqlJobStore) -> None:
    await store.insert_job(new_job("x"))
    assert [j.job_id for j in await store.get_jobs(["x", "missing"])] == ["x"]


async def test_a_batch_applies_its_good_writes_and_refuses_the_bad_ones_alone(
    store: SqlJobStore,
) -> None:
    from dagwire.server.store.sql import InsertJob, RemoveJob, UpdateJob

    await store.insert_job(new_job("kept"))
    await store.insert_job(new_job("gone"))
    kept = await store.get_job("kept")
    assert kept is not None
    before = await store.latest_resource_version()
    results = await store.apply_writes(
        [
            InsertJob(new_job("fresh")),
            InsertJob(new_job("kept")),  # exists
            UpdateJob(apply(kept, Stop(), at(1)).job, kept.version),
            UpdateJob(new_job("ghost"), 1),  # missing
            RemoveJob("gone"),
        ]
    )
    kinds = [type(r).__name__ for r in results]
    assert kinds == ["JobChange", "JobAlreadyExists", "JobChange", "JobNotFound", "JobChange"]
    versions = [r.resource_version for r in results if not isinstance(r, Exception)]
    assert versions == [before + 1, before + 2, before + 3], "one event each, in batch order"
    assert {j.job_id for j in await store.list_jobs()} == {"kept", "fresh"}
    assert (await store.get_job("kept")).state is JobState.FAILED  # type: ignore[union-attr]


async def test_jobs_are_counted_by_state(store: SqlJobStore) -> None:
    await store.insert_job(new_job("one"))
    await store.insert_job(new_job("two"))
    job = await store.get_job("two")
    assert job is not None
    await store.update_job(apply(job, Stop(), at(1)).job, job.version)
    assert await store.count_jobs_by_state() == {JobState.RUNNING: 1, JobState.FAILED: 1}
