"""Reads share the decoded job of a stored version, and never serve an older one: on
SQLite and PostgreSQL alike. The cache of decoded jobs holds at most its byte bound."""

from __future__ import annotations

from dataclasses import replace

from dagwire.server.engine.reducer import Stop, apply, create_job
from dagwire.server.store.decoded import DecodedJobs
from dagwire.server.store.sql import SqlJobStore
from tests.engine.factories import at, spec, task


def new_job(job_id: str = "job-1"):  # type: ignore[no-untyped-def]
    return create_job(spec(task("a"), task("b", "a"), job_id=job_id), at(0), frozenset()).job


async def test_reads_of_one_stored_version_share_one_decoded_job(store: SqlJobStore) -> None:
    await store.insert_job(new_job("one"))
    first = await store.get_job("one")
    [listed] = await store.list_jobs_page(None, 10)
    assert first is not None and listed is first


async def test_a_changed_job_reads_as_changed_and_a_deleted_one_as_gone(
    store: SqlJobStore,
) -> None:
    await store.insert_job(new_job("one"))
    before = await store.get_job("one")
    assert before is not None
    change = await store.update_job(apply(before, Stop("x"), at(1)).job, before.version)
    after = await store.get_job("one")
    assert after == change.job and after != before
    assert [job.version for job in await store.list_jobs_page(None, 10)] == [change.job.version]
    await store.delete_job("one")
    assert await store.get_job("one") is None
    assert await store.list_jobs_page(None, 10) == []


def test_the_cache_keeps_at_most_its_bound_least_recently_used_out_first() -> None:
    a, b, c = (replace(new_job(name), resource_version=1) for name in "abc")
    cache = DecodedJobs(max_bytes=100)
    cache.put(a, 40)
    cache.put(b, 40)
    assert cache.get("a", 1) is a  # a is now the most recently used
    cache.put(c, 40)
    assert cache.held_bytes == 80
    assert cache.get("b", 1) is None and cache.get("a", 1) is a and cache.get("c", 1) is c
    assert cache.get("a", 2) is None, "another version is not this one"
    cache.put(replace(a, resource_version=2), 200)  # heavier than the bound: not kept
    assert cache.get("a", 1) is None and cache.get("a", 2) is None
    assert cache.held_bytes == 40
