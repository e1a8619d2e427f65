"""JobStore on SQLAlchemy Core (async): SQLite through aiosqlite by default,
PostgreSQL through asyncpg, chosen by the database URL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from dagwire.server.engine.errors import (
    ConcurrentModification,
    EngineError,
    JobAlreadyExists,
    JobNotFound,
)
from dagwire.server.engine.model import ChangeType, Job, JobChange, JobState
from dagwire.server.store.base import (
    InsertJob,
    JobWrite,
    RemoveJob,
    UpdateJob,
    WriteResult,
)
from dagwire.server.store.codec import job_from_dict, job_to_json

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
    return job_to_json(job)


def _loads(doc: str, version: int, resource_version: int) -> Job:
    return job_from_dict(json.loads(doc), version=version, resource_version=resource_version)


def _enable_sqlite_wal(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # WAL lets readers proceed while the single writer commits; NORMAL sync survives a
    # process crash (only a power loss may drop the newest transactions).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Checkpoint every ~40 MB of WAL instead of 4 MB: a running job's row is rewritten
    # on every change, and a longer WAL lets many rewrites of the same pages reach the
    # database file as one.
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


# Held while the schema is created or checked, so that replicas starting together on an
# empty PostgreSQL database do not race on CREATE TABLE.
SCHEMA_LOCK = text("SELECT pg_advisory_xact_lock(7310512914250195201)")


class WriteHooks(Protocol):
    """Extra statements in every write transaction (several replicas on PostgreSQL: see
    dagwire.server.store.pg). `before_writes` runs first, `after_writes` once the
    accepted changes are written, both before the commit."""

    async def before_writes(self, conn: AsyncConnection) -> None: ...

    async def after_writes(self, conn: AsyncConnection, changes: Sequence[JobChange]) -> None: ...


class SqlJobStore:
    """JobStore over any SQLAlchemy async URL (sqlite+aiosqlite, postgresql+asyncpg)."""

    def __init__(self, url: str, *, hooks: WriteHooks | None = None) -> None:
        self._url = url
        self._hooks = hooks
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
            if engine.dialect.name == "postgresql":
                await conn.execute(SCHEMA_LOCK)
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

    async def insert_job(self, job: Job) -> JobChange:
        return _raise_or_return((await self.apply_writes([InsertJob(job)]))[0])

    async def update_job(self, job: Job, expected_version: int) -> JobChange:
        return _raise_or_return((await self.apply_writes([UpdateJob(job, expected_version)]))[0])

    async def delete_job(self, job_id: str) -> JobChange:
        return _raise_or_return((await self.apply_writes([RemoveJob(job_id)]))[0])

    async def apply_writes(self, writes: Sequence[JobWrite]) -> list[WriteResult]:
        """Apply many writes in one transaction with a handful of statements: one read of
        the current versions, then bulk inserts and updates. Each write gets its own
        verdict: a refused one (conflict, missing job) is left out and its error returned
        in its place, without writing anything for it."""
        async with self.engine.begin() as conn:
            if self._hooks is not None:
                await self._hooks.before_writes(conn)
            current = await self._current(conn, writes)
            planned = [_plan(write, current) for write in writes]
            accepted = [plan for plan in planned if not isinstance(plan, EngineError)]
            if accepted:
                versions = await self._append_events(conn, accepted)
                for plan, rv in zip(accepted, versions, strict=True):
                    plan.resource_version = rv
                await self._write_rows(conn, accepted)
                if self._hooks is not None:
                    await self._hooks.after_writes(conn, [plan.change() for plan in accepted])
        return [plan if isinstance(plan, EngineError) else plan.change() for plan in planned]

    async def _current(self, conn: AsyncConnection, writes: Sequence[JobWrite]) -> _Current:
        """Stored versions of the jobs written, and the last snapshot of those removed."""
        ids = list({_job_id_of(write) for write in writes})
        rows = await conn.execute(
            select(jobs.c.job_id, jobs.c.version).where(jobs.c.job_id.in_(ids))
        )
        current = _Current(versions={row.job_id: row.version for row in rows})
        removed = [write.job_id for write in writes if isinstance(write, RemoveJob)]
        if removed:
            rows = await conn.execute(
                select(jobs.c.job_id, jobs.c.doc, jobs.c.version).where(jobs.c.job_id.in_(removed))
            )
            current.snapshots = {row.job_id: _loads(row.doc, row.version, 0) for row in rows}
        return current

    async def _append_events(self, conn: AsyncConnection, plans: list[_Plan]) -> list[int]:
        statement = insert(events).returning(
            events.c.resource_version, sort_by_parameter_order=True
        )
        rows = await conn.execute(
            statement,
            [
                {
                    "kind": "job",
                    "object_id": plan.job_id,
                    "type": plan.type.value,
                    "version": plan.version,
                    "doc": plan.doc,
                }
                for plan in plans
            ],
        )
        return [int(row[0]) for row in rows]

    async def _write_rows(self, conn: AsyncConnection, plans: list[_Plan]) -> None:
        added = [plan for plan in plans if plan.type is ChangeType.ADDED]
        modified = [plan for plan in plans if plan.type is ChangeType.MODIFIED]
        removed = [plan for plan in plans if plan.type is ChangeType.DELETED]
        if added:
            await conn.execute(
                insert(jobs),
                [
                    {
                        "job_id": plan.job_id,
                        "state": plan.job.state.value,
                        "version": plan.version,
                        "resource_version": plan.resource_version,
                        "create_time": plan.job.create_time.isoformat(),
                        "doc": plan.doc,
                    }
                    for plan in added
                ],
            )
        if modified:
            await conn.execute(
                _UPDATE_JOB,
                [
                    {
                        "key": plan.job_id,
                        "new_state": plan.job.state.value,
                        "new_version": plan.version,
                        "new_rv": plan.resource_version,
                        "new_doc": plan.doc,
                    }
                    for plan in modified
                ],
            )
        if removed:
            await conn.execute(
                delete(jobs).where(jobs.c.job_id.in_([plan.job_id for plan in removed]))
            )

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

    async def count_jobs_by_state(self) -> dict[JobState, int]:
        query = select(jobs.c.state, func.count()).group_by(jobs.c.state)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return {JobState(state): int(count) for state, count in rows}

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


_UPDATE_JOB = (
    update(jobs)
    .where(jobs.c.job_id == bindparam("key"))
    .values(
        state=bindparam("new_state"),
        version=bindparam("new_version"),
        resource_version=bindparam("new_rv"),
        doc=bindparam("new_doc"),
    )
)


@dataclass(slots=True)
class _Current:
    versions: dict[str, int]
    snapshots: dict[str, Job] = field(default_factory=dict)


class _Plan:
    """One accepted write on its way into the transaction."""

    def __init__(self, type_: ChangeType, job: Job) -> None:
        self.type = type_
        self.job = job
        self.job_id = job.job_id
        self.version = job.version
        self.resource_version = 0
        self.doc = _dumps(job)

    def change(self) -> JobChange:
        stored = _with_versions(self.job, self.version, self.resource_version)
        return JobChange(self.resource_version, self.type, stored)


def _job_id_of(write: JobWrite) -> str:
    return write.job_id if isinstance(write, RemoveJob) else write.job.job_id


def _plan(write: JobWrite, current: _Current) -> _Plan | EngineError:
    """Decide a write against the stored versions, and record its effect so that a later
    write to the same job in the same batch sees it."""
    job_id = _job_id_of(write)
    stored = current.versions.get(job_id)
    match write:
        case InsertJob(job):
            if stored is not None:
                return JobAlreadyExists(job_id)
            current.versions[job_id] = 1
            return _Plan(ChangeType.ADDED, _with_versions(job, 1, 0))
        case UpdateJob(job, expected):
            if stored is None:
                return JobNotFound(job_id)
            if stored != expected:
                return ConcurrentModification(
                    f"job {job_id!r} changed concurrently (stored version {stored}, "
                    f"expected {expected})"
                )
            current.versions[job_id] = expected + 1
            return _Plan(ChangeType.MODIFIED, _with_versions(job, expected + 1, 0))
        case RemoveJob():
            if stored is None:
                return JobNotFound(job_id)
            del current.versions[job_id]
            return _Plan(ChangeType.DELETED, current.snapshots[job_id])


def _raise_or_return(result: WriteResult) -> JobChange:
    if isinstance(result, EngineError):
        raise result
    return result


def _with_versions(job: Job, version: int, resource_version: int) -> Job:
    return replace(job, version=version, resource_version=resource_version)
