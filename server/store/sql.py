"""JobStore on SQLAlchemy Core (async): SQLite through aiosqlite by default,
PostgreSQL through asyncpg, chosen by the database URL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from dagwire.server.engine.errors import ConcurrentModification, JobAlreadyExists, JobNotFound
from dagwire.server.engine.model import ChangeType, Job, JobChange, JobState
from dagwire.server.store.codec import job_from_dict, job_to_dict

SCHEMA_VERSION = 1

metadata = MetaData()

# SQLite's INTEGER PRIMARY KEY is its rowid; BIGINT is PostgreSQL's identity column type.
_ResourceVersion = BigInteger().with_variant(Integer(), "sqlite")

jobs = Table(
    "jobs",
    metadata,
    Column("job_id", String(253), primary_key=True),
    Column("state", String(32), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("resource_version", BigInteger, nullable=False),
    Column("create_time", String(40), nullable=False),
    Column("doc", Text, nullable=False),
)

# The event log. AUTOINCREMENT on SQLite so that a resource_version is never reused,
# even after the newest events were compacted away.
events = Table(
    "events",
    metadata,
    Column("resource_version", _ResourceVersion, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("object_id", String(253), nullable=False),
    Column("type", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("doc", Text, nullable=False),
    sqlite_autoincrement=True,
)

schema_info = Table(
    "schema_info",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
)

_TERMINAL = [state.value for state in JobState if state.is_terminal]


def _dumps(job: Job) -> str:
    return json.dumps(job_to_dict(job), separators=(",", ":"))


def _loads(doc: str, version: int, resource_version: int) -> Job:
    return job_from_dict(json.loads(doc), version=version, resource_version=resource_version)


def _enable_sqlite_wal(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # WAL lets readers proceed while the single writer commits; NORMAL sync survives a
    # process crash (only a power loss may drop the newest transactions).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class SqlJobStore:
    """JobStore over any SQLAlchemy async URL (sqlite+aiosqlite, postgresql+asyncpg)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._engine: AsyncEngine | None = None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("store is not open")
        return self._engine

    async def open(self) -> None:
        engine = create_async_engine(self._url)
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", _enable_sqlite_wal)
        self._engine = engine
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await self._check_schema_version(conn)

    async def _check_schema_version(self, conn: AsyncConnection) -> None:
        stored = await conn.scalar(select(schema_info.c.value).where(schema_info.c.key == "schema"))
        if stored is None:
            await conn.execute(insert(schema_info).values(key="schema", value=str(SCHEMA_VERSION)))
        elif int(stored) > SCHEMA_VERSION:
            raise RuntimeError(
                f"the database has schema version {stored}, newer than this server's "
                f"{SCHEMA_VERSION}; upgrade dagwire"
            )

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def _append_event(
        self, conn: AsyncConnection, change: ChangeType, job: Job, doc: str
    ) -> int:
        result = await conn.execute(
            insert(events).values(
                kind="job", object_id=job.job_id, type=change.value, version=job.version, doc=doc
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    async def insert_job(self, job: Job) -> JobChange:
        stored = _with_versions(job, version=1, resource_version=0)
        doc = _dumps(stored)
        try:
            async with self.engine.begin() as conn:
                rv = await self._append_event(conn, ChangeType.ADDED, stored, doc)
                await conn.execute(
                    insert(jobs).values(
                        job_id=job.job_id,
                        state=job.state.value,
                        version=1,
                        resource_version=rv,
                        create_time=job.create_time.isoformat(),
                        doc=doc,
                    )
                )
        except IntegrityError:
            raise JobAlreadyExists(job.job_id) from None
        return JobChange(rv, ChangeType.ADDED, _with_versions(stored, 1, rv))

    async def update_job(self, job: Job, expected_version: int) -> JobChange:
        version = expected_version + 1
        stored = _with_versions(job, version=version, resource_version=0)
        doc = _dumps(stored)
        async with self.engine.begin() as conn:
            rv = await self._append_event(conn, ChangeType.MODIFIED, stored, doc)
            result = await conn.execute(
                update(jobs)
                .where(jobs.c.job_id == job.job_id, jobs.c.version == expected_version)
                .values(state=job.state.value, version=version, resource_version=rv, doc=doc)
            )
            if result.rowcount != 1:
                exists = await conn.scalar(
                    select(jobs.c.version).where(jobs.c.job_id == job.job_id)
                )
                await conn.rollback()
                if exists is None:
                    raise JobNotFound(job.job_id)
                raise ConcurrentModification(
                    f"job {job.job_id!r} changed concurrently (stored version {exists}, "
                    f"expected {expected_version})"
                )
        return JobChange(rv, ChangeType.MODIFIED, _with_versions(stored, version, rv))

    async def delete_job(self, job_id: str) -> JobChange:
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(jobs.c.doc, jobs.c.version).where(jobs.c.job_id == job_id)
                )
            ).one_or_none()
            if row is None:
                raise JobNotFound(job_id)
            last = _loads(row.doc, row.version, 0)
            rv = await self._append_event(conn, ChangeType.DELETED, last, row.doc)
            await conn.execute(delete(jobs).where(jobs.c.job_id == job_id))
        return JobChange(rv, ChangeType.DELETED, _with_versions(last, last.version, rv))

    async def get_job(self, job_id: str) -> Job | None:
        found = await self.get_jobs([job_id])
        return found[0] if found else None

    async def get_jobs(self, job_ids: Sequence[str]) -> list[Job]:
        query = select(jobs.c.doc, jobs.c.version, jobs.c.resource_version).where(
            jobs.c.job_id.in_(list(job_ids))
        )
        return await self._load(query)

    async def list_jobs(self, *, active_only: bool = False) -> list[Job]:
        query = select(jobs.c.doc, jobs.c.version, jobs.c.resource_version).order_by(
            jobs.c.create_time, jobs.c.job_id
        )
        if active_only:
            query = query.where(jobs.c.state.not_in(_TERMINAL))
        return await self._load(query)

    async def _load(self, query: Any) -> list[Job]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_loads(row.doc, row.version, row.resource_version) for row in rows]

    async def changes_after(self, resource_version: int, limit: int) -> list[JobChange]:
        query = (
            select(events.c.resource_version, events.c.type, events.c.version, events.c.doc)
            .where(events.c.resource_version > resource_version)
            .order_by(events.c.resource_version)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            JobChange(
                row.resource_version,
                ChangeType(row.type),
                _loads(row.doc, row.version, row.resource_version),
            )
            for row in rows
        ]

    async def oldest_resource_version(self) -> int:
        async with self.engine.connect() as conn:
            value = await conn.scalar(select(func.min(events.c.resource_version)))
        return int(value or 0)

    async def latest_resource_version(self) -> int:
        async with self.engine.connect() as conn:
            value = await conn.scalar(select(func.max(events.c.resource_version)))
        return int(value or 0)

    async def compact(self, keep: int) -> int:
        async with self.engine.begin() as conn:
            latest = await conn.scalar(select(func.max(events.c.resource_version)))
            if latest is None:
                return 0
            result = await conn.execute(
                delete(events).where(events.c.resource_version <= int(latest) - keep)
            )
        return int(result.rowcount or 0)


def _with_versions(job: Job, version: int, resource_version: int) -> Job:
    return replace(job, version=version, resource_version=resource_version)
