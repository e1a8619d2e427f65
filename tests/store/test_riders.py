"""Riders: rows of other tables written in a job write's transaction, or not at all; on
SQLite and PostgreSQL alike."""

from __future__ import annotations

from dagwire.server.engine.model import Job
from dagwire.server.engine.reducer import create_job
from dagwire.server.store.base import InsertJob
from dagwire.server.store.sql import SqlJobStore
from dagwire.server.store.workflow import RememberRequest, RequestKeyTaken, SqlWorkflowStore
from tests.engine.factories import at, spec, task


def new_job(job_id: str) -> Job:
    return create_job(spec(task("a"), job_id=job_id), at(0), frozenset()).job


async def test_a_refusing_rider_leaves_out_its_write_alone_and_frees_the_job_id(
    store: SqlJobStore,
) -> None:
    workflows = SqlWorkflowStore(store)
    await workflows.open()

    results = await store.apply_writes(
        [
            InsertJob(new_job("first"), (RememberRequest("key", "first"),)),
            InsertJob(new_job("second"), (RememberRequest("key", "second"),)),  # key taken
            InsertJob(new_job("second")),  # its id is free: the refused insert wrote nothing
        ]
    )

    assert [type(result).__name__ for result in results] == [
        "JobChange",
        "RequestKeyTaken",
        "JobChange",
    ]
    assert isinstance(results[1], RequestKeyTaken) and results[1].resource_id == "first"
    assert {job.job_id for job in await store.list_jobs()} == {"first", "second"}
    assert await workflows.remembered("key") == "first"


async def test_a_refused_job_write_writes_none_of_its_riders(store: SqlJobStore) -> None:
    workflows = SqlWorkflowStore(store)
    await workflows.open()
    await store.insert_job(new_job("taken"))

    results = await store.apply_writes(
        [InsertJob(new_job("taken"), (RememberRequest("key", "taken"),))]
    )

    assert type(results[0]).__name__ == "JobAlreadyExists"
    assert await workflows.remembered("key") is None
