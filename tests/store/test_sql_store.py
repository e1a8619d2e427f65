"""The store contract, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import update

from dagwire.server.engine.errors import ConcurrentModification, JobAlreadyExists, JobNotFound
from dagwire.server.engine.model import ChangeType, JobState
from dagwire.server.engine.reducer import LoopExpanded, Stop, apply, create_job
from dagwire.server.store.schema import job_tasks
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
    job = (await store.insert_job(new_job("j"))).job
    for i in range(4):
        job = (await store.update_job(replace(job, err_msg=f"change {i}"), job.version)).job
    latest = await store.latest_resource_version()
    assert await store.compact(keep=2) == 3
    assert await store.oldest_resource_version() == latest - 1
    assert [c.resource_version for c in await store.changes_after(latest - 2, 10)] == [
        latest - 1,
        latest,
    ]
    await store.delete_job("j")
    assert await store.latest_resource_version() == latest + 1


def with_task_note(job, position: int, note: str):  # type: ignore[no-untyped-def]
    tasks = list(job.tasks)
    tasks[position] = replace(tasks[position], err_msg=note)
    return replace(job, tasks=tuple(tasks))


async def test_a_job_whose_events_were_compacted_away_reads_back_whole(
    store: SqlJobStore,
) -> None:
    quiet = (await store.insert_job(new_job("quiet"))).job
    busy = (await store.insert_job(new_job("busy"))).job
    for i in range(5):
        busy = (await store.update_job(with_task_note(busy, i % 2, f"n{i}"), busy.version)).job
    assert await store.compact(keep=1) == 6
    assert await store.get_job("quiet") == quiet
    assert await store.get_job("busy") == busy
    deleted = await store.delete_job("quiet")
    assert deleted.type is ChangeType.DELETED and deleted.job.tasks == quiet.tasks


async def test_the_log_replays_every_change_with_the_whole_job_as_it_was(
    store: SqlJobStore,
) -> None:
    written = [await store.insert_job(new_job("j"))]
    for i in range(150):  # past two whole snapshots; most changes touch one task
        job = written[-1].job
        changed = with_task_note(job, i % 2, f"n{i}") if i % 3 else replace(job, err_msg=f"e{i}")
        written.append(await store.update_job(changed, job.version))
    assert await store.changes_after(0, 1_000) == written
    assert await store.changes_after(written[100].resource_version, 1_000) == written[101:]


async def test_compaction_keeps_what_remains_replayable(store: SqlJobStore) -> None:
    written = [await store.insert_job(new_job("j"))]
    for i in range(40):
        job = written[-1].job
        written.append(await store.update_job(with_task_note(job, i % 2, f"n{i}"), job.version))
    await store.compact(keep=7)
    assert await store.changes_after(0, 1_000) == written[-7:]
    job = written[-1].job
    written.append(await store.update_job(with_task_note(job, 0, "after"), job.version))
    assert await store.changes_after(0, 1_000) == written[-8:]


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


async def test_a_read_that_sees_task_rows_newer_than_their_job_is_never_returned(
    store: SqlJobStore,
) -> None:
    # What a read across a commit looks like: task rows written after the job row read.
    # It is read again; here it never settles, so the read gives up instead of mixing.
    await store.insert_job(new_job("torn"))
    await store.insert_job(new_job("whole"))
    async with store.engine.begin() as conn:
        await conn.execute(
            update(job_tasks).where(job_tasks.c.job_id == "torn").values(resource_version=10**9)
        )
    with pytest.raises(RuntimeError, match="kept changing"):
        await store.get_job("torn")
    assert [job.job_id for job in await store.get_jobs(["whole"])] == ["whole"]


async def test_pages_of_the_listing_cover_every_job_once_in_order(store: SqlJobStore) -> None:
    for i in range(7):
        await store.insert_job(new_job(f"p{i}"))
    pages, after = [], None
    while page := await store.list_jobs_page(after, 3):
        pages.append([job.job_id for job in page])
        after = page[-1]
    assert pages == [["p0", "p1", "p2"], ["p3", "p4", "p5"], ["p6"]]
    assert [j.job_id for j in await store.list_jobs()] == [job for page in pages for job in page]


async def test_a_page_from_the_middle_of_interleaved_jobs_replays_each_job_as_it_was(
    store: SqlJobStore,
) -> None:
    written = [await store.insert_job(new_job(f"j{n}")) for n in range(4)]
    latest = {change.job.job_id: change.job for change in written}
    for i in range(80):
        job = latest[f"j{i % 4}"]
        change = await store.update_job(with_task_note(job, i % 2, f"n{i}"), job.version)
        latest[job.job_id] = change.job
        written.append(change)
    middle = written[50].resource_version
    assert await store.changes_after(middle, 1_000) == written[51:]


async def test_a_loop_laid_out_at_run_time_is_stored_with_its_copies(
    store: SqlJobStore,
) -> None:
    # engine.loops changes a running job's spec: the store must keep it, one item or many.
    for job_id, items in (("one", ("1",)), ("many", ("1", "2"))):
        await store.insert_job(new_job(job_id))
        job = await store.get_job(job_id)
        assert job is not None
        expanded = apply(job, LoopExpanded("a", job.task("a").attempt, items), at(1)).job
        await store.update_job(expanded, job.version)
        stored = await store.get_job(job_id)
        assert stored is not None and stored.spec == expanded.spec
        assert [t.loop_item for t in stored.spec.tasks][: len(items)] == list(items)
        replayed = [c.job for c in await store.changes_after(0, 1_000) if c.job.job_id == job_id][
            -1
        ]
        assert replayed.spec == expanded.spec
