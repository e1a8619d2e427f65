"""A listing reads only the jobs of its scope (kind, party domain, ids), selected by the
store's index rather than by decoding every job; deleting a job drops it from the index."""

from __future__ import annotations

from dataclasses import replace

from dagwire.server.engine.model import JobKind
from dagwire.server.engine.reducer import create_job
from dagwire.server.store.base import JobScope
from dagwire.server.store.sql import SqlJobStore
from tests.engine.factories import at, spec, task


def job_of(job_id: str, *parties: str, kind: JobKind = JobKind.JOB):  # type: ignore[no-untyped-def]
    job_spec = replace(spec(task("a", parties=parties), job_id=job_id), kind=kind)
    return create_job(job_spec, at(0), frozenset()).job


async def listed(store: SqlJobStore, scope: JobScope) -> list[str]:
    return [job.job_id for job in await store.list_jobs_page(None, 100, scope)]


async def test_a_listing_reads_only_the_jobs_of_its_scope(store: SqlJobStore) -> None:
    await store.insert_job(job_of("shared", "alice", "bob"))
    await store.insert_job(job_of("bobs", "bob", "carol"))
    await store.insert_job(job_of("alices-run", "alice", kind=JobKind.RUN))
    assert await listed(store, JobScope(kind=JobKind.JOB, domain="alice")) == ["shared"]
    # (Created at the same moment: listed in id order.)
    assert await listed(store, JobScope(kind=JobKind.JOB, domain="bob")) == ["bobs", "shared"]
    assert await listed(store, JobScope(kind=JobKind.RUN)) == ["alices-run"]
    assert await listed(store, JobScope(domain="carol", job_ids=frozenset({"shared"}))) == []
    assert await listed(store, JobScope()) == ["alices-run", "bobs", "shared"]


async def test_a_deleted_job_leaves_the_index(store: SqlJobStore) -> None:
    await store.insert_job(job_of("gone", "alice"))
    await store.delete_job("gone")
    await store.insert_job(job_of("gone", "bob"))  # the id again, other parties
    assert await listed(store, JobScope(domain="alice")) == []
    assert await listed(store, JobScope(domain="bob")) == ["gone"]
