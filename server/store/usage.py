"""What each attempt of each party's process cost (engine.usage), on the jobs' database.

A record rides with the save of the exit it belongs to (RecordUsage, a store.base.Rider),
so it is stored exactly when the exit is, and survives a restart with the job. Rows are
keyed by (job, task, party domain, attempt); recording one again (a recovered exit)
replaces it, and a job's go with its removal (ForgetUsage, riding with it). Whoever reads them has checked that the caller may see the job; rows older
than the job's creation belong to a deleted job of the same id and are left out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, delete, insert, select
from sqlalchemy.engine import Connection

from dagwire.server.engine.errors import EngineError
from dagwire.server.engine.usage import ProcessUsage, UsageRecord
from dagwire.server.store.sql import SqlJobStore

metadata = MetaData()

process_usage = Table(
    "process_usage",
    metadata,
    Column("job_id", String(253), primary_key=True),
    Column("task_id", String(253), primary_key=True),
    Column("domain_id", String(253), primary_key=True),
    Column("attempt", Integer, primary_key=True, autoincrement=False),
    # When the record was made (seconds since the epoch): tells a deleted job's rows
    # from those of a new job with the same id.
    Column("record_time", Float, nullable=False),
    Column("doc", Text, nullable=False),  # ProcessUsage.to_json, samples included
)


@dataclass(frozen=True, slots=True)
class RecordUsage:
    """One attempt's figures, riding with the save of its exit."""

    record: UsageRecord
    now: datetime

    def write(self, conn: Connection) -> EngineError | None:
        record = self.record
        conn.execute(
            delete(process_usage).where(
                process_usage.c.job_id == record.job_id,
                process_usage.c.task_id == record.task_id,
                process_usage.c.domain_id == record.domain_id,
                process_usage.c.attempt == record.attempt,
            )
        )
        conn.execute(
            insert(process_usage).values(
                job_id=record.job_id,
                task_id=record.task_id,
                domain_id=record.domain_id,
                attempt=record.attempt,
                record_time=self.now.timestamp(),
                doc=json.dumps(record.usage.to_json(), separators=(",", ":")),
            )
        )
        return None


@dataclass(frozen=True, slots=True)
class ForgetUsage:
    """Every record of a job, riding with its removal."""

    job_id: str

    def write(self, conn: Connection) -> EngineError | None:
        conn.execute(delete(process_usage).where(process_usage.c.job_id == self.job_id))
        return None


class SqlUsageStore:
    """Shares the job store's database and connection pool (opened by it)."""

    def __init__(self, jobs_store: SqlJobStore) -> None:
        self._jobs_store = jobs_store

    async def open(self) -> None:
        """Create the table (new with this version; nothing to upgrade)."""
        async with self._jobs_store.writes.begin() as conn:
            await conn.run_sync(metadata.create_all, checkfirst=True)

    async def for_job(
        self, job_id: str, created: datetime, task_ids: Sequence[str] = ()
    ) -> list[UsageRecord]:
        """The records of a job created at `created`, of some of its tasks (all when
        empty), by task, party and attempt."""
        query = (
            select(process_usage)
            .where(
                process_usage.c.job_id == job_id,
                process_usage.c.record_time >= created.timestamp(),
            )
            .order_by(process_usage.c.task_id, process_usage.c.domain_id, process_usage.c.attempt)
        )
        if task_ids:
            query = query.where(process_usage.c.task_id.in_(list(task_ids)))
        async with self._jobs_store.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        records = []
        for row in rows:
            usage = ProcessUsage.from_json(json.loads(row.doc))
            if usage is not None:
                records.append(
                    UsageRecord(row.job_id, row.task_id, row.domain_id, row.attempt, usage)
                )
        return records
