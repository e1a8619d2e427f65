"""Databases written before workflow records had an owner domain: opening them adds the
owner ("" for what they hold: an operator's), replaces the server-wide unique names by
per-domain ones, and records the stores' schema versions; on SQLite and PostgreSQL.
Databases written with per-domain pipeline names get per-user ones (workflow schema 3),
and learn which stored runs reused which run's outputs (workflow schema 4)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, MetaData, Table, UniqueConstraint, insert, select, text

from dagwire.server.engine.catalog import Pipeline, PipelineVersion
from dagwire.server.store import schedules as schedule_tables
from dagwire.server.store import workflow as workflow_tables
from dagwire.server.store.owners import OWNER, OWNERS_SCHEMA
from dagwire.server.store.schedules import ScheduleRow, SqlScheduleStore
from dagwire.server.store.schema import job_tasks, schema_info
from dagwire.server.store.sql import SqlJobStore
from dagwire.server.store.workflow import (
    CACHE_REUSES_SCHEMA,
    PipelineNameTaken,
    SqlWorkflowStore,
)

NOW = datetime(2024, 5, 1, tzinfo=UTC)
# Columns that were unique server-wide before owners.
WAS_UNIQUE = {("pipelines", "name"), ("schedules", "request_id")}


def _before_owners() -> MetaData:
    """The workflow and schedule tables as dagwire wrote them before owners."""
    old = MetaData()
    for table in [*workflow_tables.metadata.sorted_tables, schedule_tables.schedules]:
        columns: list[Column[object]] = []
        for column in table.columns:
            if column.name == OWNER:
                continue
            copied = column._copy()
            copied.unique = copied.unique or (table.name, column.name) in WAS_UNIQUE
            columns.append(copied)
        extra = (
            [UniqueConstraint("username", "name", name="uq_schedules_username_name")]
            if table.name == "schedules"
            else []
        )
        Table(table.name, old, *columns, *extra, sqlite_autoincrement=True)
    return old


def _pipeline(pipeline_id: str, owner: str, user: str = "u") -> tuple[Pipeline, PipelineVersion]:
    pipeline = Pipeline(pipeline_id, "train", user, "", NOW, NOW, "1", owner=owner)
    return pipeline, PipelineVersion(pipeline_id, "1", "name: train", user, "", NOW, owner=owner)


async def _schema_versions(store: SqlJobStore) -> dict[str, str]:
    async with store.engine.connect() as conn:
        return dict((await conn.execute(select(schema_info.c.key, schema_info.c.value))).all())


def _schedule(schedule_id: str, owner: str) -> ScheduleRow:
    return ScheduleRow(
        schedule_id, "nightly", "u", "ppl-1", "1", "active", None, NOW, {}, "req-1", owner=owner
    )


async def test_an_older_database_gets_owners_and_per_domain_names(store: SqlJobStore) -> None:
    old = _before_owners()
    async with store.writes.begin() as conn:
        await conn.run_sync(old.create_all)
        await conn.execute(
            insert(old.tables["pipelines"]).values(
                pipeline_id="ppl-old",
                name="train",
                username="u",
                description="",
                create_time=NOW.isoformat(),
                update_time=NOW.isoformat(),
                latest_version=1,
            )
        )
        await conn.execute(
            insert(old.tables["schedules"]).values(
                schedule_id="sch-old",
                name="nightly",
                username="u",
                pipeline_id="ppl-1",
                pipeline_version_id="1",
                status="active",
                create_time="2024-05-01T00:00:00.000000Z",
                request_id="req-1",
                version=1,
                doc="{}",
            )
        )
    workflow = SqlWorkflowStore(store)
    schedules = SqlScheduleStore(store.engine)
    for _ in range(2):  # a second opening finds nothing left to do
        await workflow.open()
        await schedules.open()

    kept = await workflow.get_pipeline("ppl-old")
    assert kept is not None and kept.owner == "" and kept.name == "train"
    await workflow.insert_pipeline(*_pipeline("ppl-alice", "alice"))
    await workflow.insert_pipeline(*_pipeline("ppl-bob", "bob"))
    try:
        await workflow.insert_pipeline(*_pipeline("ppl-again", "alice"))
    except PipelineNameTaken:
        pass
    else:
        raise AssertionError("a domain's pipeline names must stay unique")
    stored = await schedules.get("sch-old")
    assert stored is not None and stored.owner == ""
    await schedules.insert(_schedule("sch-alice", "alice"))  # same name and request id
    versions = await _schema_versions(store)
    assert versions["workflow_schema"] == str(CACHE_REUSES_SCHEMA)
    assert versions["schedules_schema"] == str(OWNERS_SCHEMA)


async def _schema_2_database(store: SqlJobStore) -> None:
    """The workflow tables as schema 2 wrote them: today's, but a pipeline's name unique
    per domain (index uq_pipelines_owner_name), with alice's `train` by user u."""
    async with store.writes.begin() as conn:
        await conn.run_sync(schema_info.create, checkfirst=True)
        await conn.run_sync(workflow_tables.metadata.create_all)
        await conn.execute(text('DROP INDEX "uq_pipelines_owner_user_name"'))
        # In SQL: an Index() on the table's columns would join today's metadata.
        await conn.execute(
            text(f'CREATE UNIQUE INDEX "uq_pipelines_owner_name" ON pipelines ({OWNER}, name)')
        )
        await conn.execute(insert(schema_info).values(key="workflow_schema", value="2"))
        # Written straight into the tables: the store's own open() would upgrade them.
        await conn.execute(
            insert(workflow_tables.pipelines).values(
                pipeline_id="ppl-kept",
                name="train",
                username="u",
                description="",
                create_time=NOW.isoformat(),
                update_time=NOW.isoformat(),
                latest_version=1,
                owner_domain="alice",
            )
        )


async def test_a_schema_2_database_gets_pipeline_names_unique_per_user(
    store: SqlJobStore,
) -> None:
    await _schema_2_database(store)
    workflow = SqlWorkflowStore(store)
    for _ in range(2):  # a second opening finds nothing left to do
        await workflow.open()

    kept = await workflow.get_pipeline("ppl-kept")
    assert kept is not None and (kept.owner, kept.username, kept.name) == ("alice", "u", "train")
    await workflow.insert_pipeline(*_pipeline("ppl-ml", "alice", user="ml"))  # same domain
    with pytest.raises(PipelineNameTaken):
        await workflow.insert_pipeline(*_pipeline("ppl-again", "alice", user="ml"))


async def test_a_database_newer_than_the_server_is_refused(store: SqlJobStore) -> None:
    async with store.writes.begin() as conn:
        await conn.run_sync(schema_info.create, checkfirst=True)
        await conn.execute(
            insert(schema_info).values(key="workflow_schema", value=str(CACHE_REUSES_SCHEMA + 1))
        )
    with pytest.raises(RuntimeError, match="newer than this server's 4; upgrade dagwire"):
        await SqlWorkflowStore(store).open()


def _run_row(run_id: str, seq: int) -> dict[str, object]:
    return {
        "seq": seq,
        "run_id": run_id,
        "name": "c",
        "username": "u",
        "pipeline_id": "",
        "schedule_id": "",
        "create_time": NOW.isoformat(),
        "doc": "{}",
        OWNER: "alice",
    }


async def test_a_schema_3_database_learns_which_runs_reused_which(store: SqlJobStore) -> None:
    # run-b's step s reused run-a's outputs (its task's cached_from), before dagwire
    # recorded reuses in cache_reuses.
    async with store.writes.begin() as conn:
        await conn.run_sync(schema_info.create, checkfirst=True)
        tables = [t for t in workflow_tables.metadata.sorted_tables if t.name != "cache_reuses"]
        await conn.run_sync(workflow_tables.metadata.create_all, tables=tables)
        await conn.execute(insert(schema_info).values(key="workflow_schema", value="3"))
        await conn.execute(
            insert(workflow_tables.runs), [_run_row("run-a", 1), _run_row("run-b", 2)]
        )
        await conn.execute(
            insert(job_tasks),
            [
                {"job_id": "run-a", "position": 0, "resource_version": 1, "doc": '{"alias":"s"}'},
                {
                    "job_id": "run-b",
                    "position": 0,
                    "resource_version": 2,
                    "doc": '{"alias":"s","cached_from":"run-a"}',
                },
            ],
        )
    workflow = SqlWorkflowStore(store)
    for _ in range(2):  # a second opening finds nothing left to do
        await workflow.open()

    assert await workflow.runs_reusing("run-a", "alice") == ["run-b"]
    assert await workflow.runs_reusing("run-b", "alice") == []
    assert (await _schema_versions(store))["workflow_schema"] == str(CACHE_REUSES_SCHEMA)
