"""The store's side of replicas, on PostgreSQL: writes of several replicas to one job
cannot both win (they wait for each other), writers of different jobs do not, readers
stop at the commit horizon (nothing ever appears below a version already read), owner rows follow jobs, and concurrent sweepers split the jobs
of a dead replica so that each goes to exactly one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Connection
from sqlalchemy.util import await_only

from dagwire.server.engine.errors import ConcurrentModification
from dagwire.server.engine.model import Job, JobChange, JobSpec, JobState
from dagwire.server.store.base import InsertJob
from dagwire.server.store.pg import PgReplicaStore, PgWriteHooks
from dagwire.server.store.sql import SqlJobStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def job(job_id: str, state: JobState = JobState.RUNNING) -> Job:
    spec = JobSpec(job_id=job_id, initiator="alice", max_parallelism=1, tasks=())
    return Job(spec=spec, state=state, tasks=(), create_time=NOW)


@pytest.fixture
async def replicas(pg_url: str) -> AsyncIterator[list[tuple[SqlJobStore, PgReplicaStore]]]:
    """Three replicas' stores: the job store with the replica hooks, and the lease side."""
    pairs = []
    for index in range(3):
        side = PgReplicaStore(pg_url, f"r{index}", lease_seconds=30)
        store = SqlJobStore(pg_url, hooks=side.hooks)
        await store.open()
        await side.open()
        await side.register()
        pairs.append((store, side))
    try:
        yield pairs
    finally:
        for store, side in pairs:
            await side.close()
            await store.close()


async def test_two_replicas_updating_one_job_from_the_same_version_cannot_both_win(
    replicas: list[tuple[SqlJobStore, PgReplicaStore]],
) -> None:
    (first, _), (second, _), _ = replicas
    for round_ in range(20):
        stored = await first.insert_job(job(f"race-{round_}"))
        results = await asyncio.gather(
            first.update_job(replace(stored.job, err_msg="first"), stored.job.version),
            second.update_job(replace(stored.job, err_msg="second"), stored.job.version),
            return_exceptions=True,
        )
        wins = [r for r in results if not isinstance(r, BaseException)]
        conflicts = [r for r in results if isinstance(r, ConcurrentModification)]
        assert len(wins) == 1 and len(conflicts) == 1, results


class HeldOpen(PgWriteHooks):
    """Hooks that keep the transaction open once its events are written (resource
    versions allocated), until released."""

    def __init__(self, replica_id: str) -> None:
        super().__init__(replica_id)
        self.written = asyncio.Event()
        self.release = asyncio.Event()

    def after_writes(self, conn: Connection, changes: Sequence[JobChange]) -> None:
        super().after_writes(conn, changes)
        self.written.set()
        await_only(self.release.wait())  # the hooks run inside SQLAlchemy's greenlet bridge


async def test_a_later_writer_does_not_wait_and_readers_stop_below_the_one_in_flight(
    pg_url: str, replicas: list[tuple[SqlJobStore, PgReplicaStore]]
) -> None:
    """Replica 0's transaction allocated its version and has not committed when replica
    1 writes another job: replica 1 commits at once (no global lock), but the horizon
    stays below replica 0's version, so no reader (the bus, a resumed watch) passes over
    it; once it commits, the horizon covers both."""
    (other, side), _, _ = replicas
    hooks = HeldOpen("slow")
    slow = SqlJobStore(pg_url, hooks=hooks)
    await slow.open()
    try:
        first = asyncio.create_task(slow.insert_job(job("slow")))
        await asyncio.wait_for(hooks.written.wait(), timeout=5)
        quick = await asyncio.wait_for(other.insert_job(job("quick")), timeout=5)
        horizon = await side.latest()
        replayed = await other.changes_after(0, 100, upto=await other.latest_resource_version())
        hooks.release.set()
        held = await first
    finally:
        await slow.close()
    assert held.resource_version < quick.resource_version
    assert horizon < held.resource_version, "the horizon stops below the version in flight"
    assert quick.resource_version not in {change.resource_version for change in replayed}
    assert await side.latest() >= quick.resource_version
    after = await other.changes_after(0, 100, upto=await other.latest_resource_version())
    assert [change.job.job_id for change in after] == ["slow", "quick"]


async def test_writers_of_one_job_wait_for_each_other(
    pg_url: str, replicas: list[tuple[SqlJobStore, PgReplicaStore]]
) -> None:
    """The per-job lock: a second replica's update of a job held open by the first
    waits, then finds the version moved on (one total order per job)."""
    (other, _), _, _ = replicas
    stored = await other.insert_job(job("contended"))
    hooks = HeldOpen("slow")
    slow = SqlJobStore(pg_url, hooks=hooks)
    await slow.open()
    try:
        first = asyncio.create_task(
            slow.update_job(replace(stored.job, err_msg="slow"), stored.job.version)
        )
        await asyncio.wait_for(hooks.written.wait(), timeout=5)
        second = asyncio.create_task(
            other.update_job(replace(stored.job, err_msg="quick"), stored.job.version)
        )
        await asyncio.sleep(0.3)
        assert not second.done(), "the second writer waits for the job's lock"
        hooks.release.set()
        await first
        with pytest.raises(ConcurrentModification):
            await second
    finally:
        await slow.close()


async def test_owner_rows_follow_jobs_and_leave_with_them_or_once_they_are_final(
    replicas: list[tuple[SqlJobStore, PgReplicaStore]],
) -> None:
    (store, side), (other, other_side), _ = replicas
    created = await store.insert_job(job("owned"))
    assert await side.owner_of("owned") == "r0"
    failed = await other.update_job(replace(created.job, state=JobState.FAILED), 1)
    assert await side.owner_of("owned") == "r0", "a command elsewhere leaves the owner"
    assert [j.job_id for j in await side.owned_jobs()] == ["owned"]
    assert await other_side.owned_jobs() == []
    await store.update_job(replace(failed.job, state=JobState.SUCCEEDED), 2)
    assert await side.owner_of("owned") is None
    await store.insert_job(job("deleted"))
    await other.delete_job("deleted")
    assert await side.owner_of("deleted") is None


async def test_concurrent_sweepers_take_over_each_job_of_a_dead_replica_exactly_once(
    pg_url: str, replicas: list[tuple[SqlJobStore, PgReplicaStore]]
) -> None:
    dead = PgReplicaStore(pg_url, "dead", lease_seconds=0.2)
    await dead.open()
    await dead.register()
    store = SqlJobStore(pg_url, hooks=dead.hooks)
    await store.open()
    try:
        await store.apply_writes([InsertJob(job(f"orphan-{n:03d}")) for n in range(300)])
    finally:
        await store.close()
        await dead.close()
    await asyncio.sleep(0.3)  # its lease runs out

    async def sweep(side: PgReplicaStore) -> list[str]:
        taken: list[str] = []
        while batch := (await side.take_over(20))[0]:
            taken += batch
        return taken

    shares = await asyncio.gather(*(sweep(side) for _, side in replicas))
    every = [job_id for share in shares for job_id in share]
    assert sorted(every) == [f"orphan-{n:03d}" for n in range(300)], "each once, none left"
    for side, share in zip((side for _, side in replicas), shares, strict=True):
        assert {j.job_id for j in await side.owned_jobs()} == set(share)


async def test_a_replica_coming_back_and_a_sweeper_never_both_hold_a_job(
    pg_url: str, replicas: list[tuple[SqlJobStore, PgReplicaStore]]
) -> None:
    """The replica re-registers and reads its jobs while another sweeps it as dead:
    whatever the interleaving, each job ends up with exactly one of them."""
    (_, sweeper), _, _ = replicas
    for round_ in range(20):
        returning = PgReplicaStore(pg_url, f"returning-{round_}", lease_seconds=0.05)
        await returning.open()
        store = SqlJobStore(pg_url, hooks=returning.hooks)
        await store.open()
        try:
            ids = [f"back-{round_}-{n}" for n in range(20)]
            await returning.register()
            await store.apply_writes([InsertJob(job(job_id)) for job_id in ids])
            await asyncio.sleep(0.06)  # the lease runs out
            returning.lease_seconds = 30  # it comes back for good

            (swept, _), kept = await asyncio.gather(
                sweeper.take_over(10_000), _come_back(returning, ids)
            )
            taken = set(swept) & set(ids)  # (earlier rounds' replicas are gone too)
            assert not taken & kept, f"round {round_}: held by both"
            assert taken | kept == set(ids), f"round {round_}: some held by neither"
        finally:
            await store.close()
            await returning.close()


async def _come_back(side: PgReplicaStore, job_ids: list[str]) -> set[str]:
    """Register again and read which of these jobs are still ours."""
    await side.register()
    return {found.job_id for found in await side.owned_jobs(job_ids)}


async def test_under_concurrent_writers_nothing_ever_commits_at_or_below_a_horizon_read(
    replicas: list[tuple[SqlJobStore, PgReplicaStore]],
) -> None:
    """Three replicas write 600 jobs in concurrent batches while a reader keeps reading
    the horizon and the log up to it: every version it ever sees at or below a horizon
    was already there when that horizon was read (exactly what a watcher relies on)."""
    stores = [store for store, _ in replicas]
    side = replicas[0][1]
    done = asyncio.Event()
    violations: list[int] = []
    readings = 0

    async def write(index: int) -> None:
        for batch in range(20):
            await stores[index % 3].apply_writes(
                [InsertJob(job(f"w{index}-{batch}-{n}")) for n in range(5)]
            )

    async def read() -> None:
        nonlocal readings
        seen: set[int] = set()
        last = 0  # the previous horizon: everything at or below it was in `seen`
        while not done.is_set():
            horizon = await side.latest()
            assert horizon >= last, "the horizon never goes back"
            rows = await side.events_between(0, horizon, 10_000, docs=False)
            now = {row.resource_version for row in rows}
            violations.extend(sorted(version for version in now - seen if version <= last))
            seen |= now
            last = horizon
            readings += 1

    reader = asyncio.create_task(read())
    await asyncio.gather(*(write(index) for index in range(6)))
    done.set()
    await reader
    assert readings > 5
    assert violations == []
    final = await side.events_between(0, await side.latest(), 10_000, docs=False)
    assert len(final) == 600
