"""Pipelines, run records, cache entries, artifacts and idempotency keys, on the same
database (and SQLAlchemy engine) as the jobs. A run's state lives in its job row; its
record here says what it was created from.

Every record carries its owner domain (owners.py); lists filter on it in the query, so
that a tenant's pages hold only its own records. Listing is keyset-paged: rows carry a monotonically increasing `seq`, and a page token
is the last seq a page examined, so pages neither skip nor repeat rows under inserts.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Select

from dagwire.server.engine.catalog import (
    Artifact,
    ArtifactType,
    CacheEntry,
    Pipeline,
    PipelineVersion,
    RunRecord,
)
from dagwire.server.engine.errors import EngineError
from dagwire.server.engine.model import FailureStrategy, JobState
from dagwire.server.store.owners import OWNER, owner_column, upgrade_owners
from dagwire.server.store.schema import SCHEMA_LOCK, job_tasks, jobs
from dagwire.server.store.sql import SqlJobStore

metadata = MetaData()
SCHEMA_KEY = "workflow_schema"  # this store's version in schema_info (owners.py)
# 2: owners (owners.py). 3: a pipeline's name is unique per (domain, username), as
# PaddleFlow's are per user (pkg/apiserver/models/pipeline.go GetPipeline(name, userName)).
PER_USER_NAMES_SCHEMA = 3
# 4: cache_reuses, which runs reused which run's cached outputs (PaddleFlow's
# runCachedIDs), filled from the steps of the runs already stored.
CACHE_REUSES_SCHEMA = 4
# The index schema 2 kept a pipeline's name unique per domain with.
_PER_DOMAIN_NAMES = "uq_pipelines_owner_name"
_Seq = BigInteger().with_variant(Integer(), "sqlite")

pipelines = Table(
    "pipelines",
    metadata,
    Column("seq", _Seq, primary_key=True, autoincrement=True),
    Column("pipeline_id", String(64), nullable=False, unique=True),
    Column("name", String(253), nullable=False),
    Column("username", String(253), nullable=False, index=True),
    Column("description", Text, nullable=False),
    Column("create_time", String(40), nullable=False),
    Column("update_time", String(40), nullable=False),
    Column("latest_version", Integer, nullable=False),
    owner_column(index=False),
    # Names are unique per user of a domain, as PaddleFlow's per user: two users of a
    # domain may each have a "demo"; another domain's names can be neither hit nor probed.
    Index("uq_pipelines_owner_user_name", OWNER, "username", "name", unique=True),
    sqlite_autoincrement=True,
)

pipeline_versions = Table(
    "pipeline_versions",
    metadata,
    Column("pipeline_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("pipeline_yaml", Text, nullable=False),
    Column("username", String(253), nullable=False),
    Column("description", Text, nullable=False),
    Column("create_time", String(40), nullable=False),
    owner_column(index=False),
)

runs = Table(
    "runs",
    metadata,
    Column("seq", _Seq, primary_key=True, autoincrement=True),
    Column("run_id", String(253), nullable=False, unique=True),
    Column("name", String(253), nullable=False, index=True),
    Column("username", String(253), nullable=False, index=True),
    Column("pipeline_id", String(64), nullable=False, index=True),
    Column("schedule_id", String(64), nullable=False, index=True),
    Column("create_time", String(40), nullable=False),
    Column("doc", Text, nullable=False),
    owner_column(),
    sqlite_autoincrement=True,
)

cache_entries = Table(
    "cache_entries",
    metadata,
    Column("seq", _Seq, primary_key=True, autoincrement=True),
    Column("cache_id", String(64), nullable=False, unique=True),
    Column("first_fp", String(64), nullable=False),
    Column("second_fp", String(64), nullable=False),
    Column("run_id", String(253), nullable=False, index=True),
    Column("step_name", String(253), nullable=False),
    Column("username", String(253), nullable=False),
    Column("pipeline_id", String(64), nullable=False),
    Column("expired_time", BigInteger, nullable=False),
    Column("create_time", String(40), nullable=False),
    owner_column(),
    sqlite_autoincrement=True,
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("seq", _Seq, primary_key=True, autoincrement=True),
    Column("run_id", String(253), nullable=False, index=True),
    Column("step_name", String(253), nullable=False),
    Column("name", String(253), nullable=False),
    Column("path", Text, nullable=False),
    Column("type", String(16), nullable=False),
    Column("username", String(253), nullable=False),
    Column("create_time", String(40), nullable=False),
    owner_column(),
    UniqueConstraint("run_id", "step_name", "name", "type"),
    sqlite_autoincrement=True,
)

# Which run's recorded outputs a run's step reused instead of running (a cache hit, or a
# retry's succeeded step): PaddleFlow's runCachedIDs, read from the reused run's side. A
# run whose outputs a stored run reused is kept by DeleteRun's check_cache.
cache_reuses = Table(
    "cache_reuses",
    metadata,
    Column("run_id", String(253), primary_key=True),  # the run whose step reused
    Column("step_name", String(253), primary_key=True),
    Column("cached_run_id", String(253), nullable=False, index=True),  # whose outputs
)

# Registered file systems (store/file_systems.py): unique by name within an owner.
file_systems = Table(
    "file_systems",
    metadata,
    Column("seq", _Seq, primary_key=True, autoincrement=True),
    Column("name", String(63), nullable=False),
    Column("url", Text, nullable=False),
    Column("properties", Text, nullable=False),  # a JSON object
    Column("username", String(253), nullable=False),
    Column("create_time", String(40), nullable=False),
    owner_column(index=False),
    UniqueConstraint(OWNER, "name"),
    sqlite_autoincrement=True,
)

# Idempotency keys of create requests: key -> the resource the first request created.
request_keys = Table(
    "request_keys",
    metadata,
    Column("request_key", String(300), primary_key=True),
    Column("resource_id", String(253), nullable=False),
)


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_token: int | None  # the seq to continue after; None on the last page
    seqs: list[int] = field(default_factory=list)  # each item's seq, to stop mid-page


class PipelineNameTaken(Exception):
    pass


class RequestKeyTaken(EngineError):
    """A create request's key names the resource an earlier request with it created."""

    def __init__(self, request_key: str, resource_id: str) -> None:
        super().__init__(f"request key {request_key!r} already created {resource_id!r}")
        self.resource_id = resource_id


# --- riders: rows written in a job write's transaction (store.base.Rider) ----------------


@dataclass(frozen=True, slots=True)
class RecordRun:
    """A run's record, riding with the insert of the run's job. A record left without
    its job (by a delete cut short) is replaced: the job's insert, in the same
    transaction, was accepted, so no run has the id."""

    record: RunRecord

    def write(self, conn: Connection) -> EngineError | None:
        conn.execute(delete(runs).where(runs.c.run_id == self.record.run_id))
        conn.execute(insert(runs).values(_run_row(self.record)))
        return None


@dataclass(frozen=True, slots=True)
class RememberRequest:
    """A create request's idempotency key, riding with the write of what it creates:
    refused (RequestKeyTaken) when an earlier request holds the key, so that of two
    racing requests with one key exactly one creates anything."""

    request_key: str
    resource_id: str

    def write(self, conn: Connection) -> EngineError | None:
        for _ in range(2):
            known = conn.scalar(
                select(request_keys.c.resource_id).where(
                    request_keys.c.request_key == self.request_key
                )
            )
            if known is not None:
                return RequestKeyTaken(self.request_key, known)
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(request_keys).values(
                            request_key=self.request_key, resource_id=self.resource_id
                        )
                    )
                return None
            except IntegrityError:
                continue  # another replica committed the key meanwhile: read it
        raise RuntimeError(f"request key {self.request_key!r} is neither free nor taken")


@dataclass(frozen=True, slots=True)
class RecordArtifacts:
    """A step's artifacts, riding with the save of its exit. Recording one again (a
    recovered exit) changes nothing."""

    items: tuple[Artifact, ...]

    def write(self, conn: Connection) -> EngineError | None:
        for item in self.items:
            found = conn.scalar(
                select(artifacts.c.seq).where(
                    artifacts.c.run_id == item.run_id,
                    artifacts.c.step_name == item.step_name,
                    artifacts.c.name == item.name,
                    artifacts.c.type == item.type.value,
                )
            )
            if found is None:
                conn.execute(insert(artifacts).values(_artifact_row(item)))
        return None


@dataclass(frozen=True, slots=True)
class RecordCacheReuse:
    """A step's reuse of another run's outputs, riding with the save of its exit.
    Recording one again (a recovered exit) changes nothing."""

    run_id: str
    step_name: str
    cached_run_id: str

    def write(self, conn: Connection) -> EngineError | None:
        conn.execute(
            delete(cache_reuses).where(
                cache_reuses.c.run_id == self.run_id, cache_reuses.c.step_name == self.step_name
            )
        )
        conn.execute(
            insert(cache_reuses).values(
                run_id=self.run_id, step_name=self.step_name, cached_run_id=self.cached_run_id
            )
        )
        return None


@dataclass(frozen=True, slots=True)
class RecordCacheEntry:
    """A cached step's entry, riding with the save of its exit."""

    entry: CacheEntry

    def write(self, conn: Connection) -> EngineError | None:
        conn.execute(insert(cache_entries).values(_cache_row(self.entry)))
        return None


class SqlWorkflowStore:
    """Shares the job store's database and connection pool (opened by it)."""

    def __init__(self, jobs_store: SqlJobStore) -> None:
        self._jobs_store = jobs_store

    @property
    def _engine(self) -> AsyncEngine:
        return self._jobs_store.engine

    @property
    def _writes(self) -> AsyncEngine:
        return self._jobs_store.writes

    async def open(self) -> None:
        """Create the tables, or upgrade those an older dagwire wrote (owners.py)."""
        async with self._writes.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(SCHEMA_LOCK)
            await conn.run_sync(
                upgrade_owners,
                SCHEMA_KEY,
                list(metadata.sorted_tables),
                {"pipelines": ["pipelines_name_key"]},
                {PER_USER_NAMES_SCHEMA: _names_per_user, CACHE_REUSES_SCHEMA: _fill_reuses},
            )

    # --- idempotency -----------------------------------------------------------------

    async def remembered(self, request_key: str) -> str | None:
        async with self._engine.connect() as conn:
            return await conn.scalar(
                select(request_keys.c.resource_id).where(request_keys.c.request_key == request_key)
            )

    async def remember(self, request_key: str, resource_id: str) -> str:
        """Record the key; returns the resource id it names (another request's on a race)."""
        try:
            async with self._writes.begin() as conn:
                await conn.execute(
                    insert(request_keys).values(request_key=request_key, resource_id=resource_id)
                )
            return resource_id
        except IntegrityError:
            return await self.remembered(request_key) or resource_id

    # --- pipelines -------------------------------------------------------------------

    async def insert_pipeline(self, pipeline: Pipeline, version: PipelineVersion) -> None:
        try:
            async with self._writes.begin() as conn:
                await conn.execute(insert(pipelines).values(_pipeline_row(pipeline)))
                await conn.execute(insert(pipeline_versions).values(_version_row(version)))
        except IntegrityError as error:
            raise PipelineNameTaken(pipeline.name) from error

    async def add_version(
        self, pipeline_id: str, make: Any
    ) -> tuple[Pipeline, PipelineVersion] | None:
        """Add the version `make(next_version_id)` builds, in one transaction; None when
        the pipeline is gone."""
        async with self._writes.begin() as conn:
            row = (await conn.execute(_locked_pipeline(pipeline_id))).first()
            if row is None:
                return None
            next_version = (
                await conn.scalar(
                    select(func.max(pipeline_versions.c.version)).where(
                        pipeline_versions.c.pipeline_id == pipeline_id
                    )
                )
                or 0
            ) + 1
            version: PipelineVersion = make(str(next_version))
            await conn.execute(insert(pipeline_versions).values(_version_row(version)))
            await conn.execute(
                update(pipelines)
                .where(pipelines.c.pipeline_id == pipeline_id)
                .values(
                    latest_version=next_version,
                    update_time=version.create_time.isoformat(),
                    description=version.description or row.description,
                )
            )
            updated = (
                await conn.execute(select(pipelines).where(pipelines.c.pipeline_id == pipeline_id))
            ).one()
        return _pipeline(updated), version

    async def get_pipeline(self, pipeline_id: str) -> Pipeline | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(pipelines).where(pipelines.c.pipeline_id == pipeline_id))
            ).first()
        return _pipeline(row) if row else None

    async def list_pipelines(
        self, *, after: int | None, limit: int, where: Mapping[str, str], owner: str | None
    ) -> Page[Pipeline]:
        """`owner` None lists every domain's (an operator)."""
        query = select(pipelines).order_by(pipelines.c.seq)
        if after is not None:
            query = query.where(pipelines.c.seq > after)
        query = _equal(query, pipelines, _owned(where, owner))
        rows = await self._page(query.limit(limit + 1))
        return _paged([_pipeline(r) for r in rows[:limit]], rows, limit)

    async def versions(self, pipeline_id: str) -> list[PipelineVersion]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(pipeline_versions)
                .where(pipeline_versions.c.pipeline_id == pipeline_id)
                .order_by(pipeline_versions.c.version.desc())
            )
            return [_version(row) for row in rows]

    async def version_page(
        self, pipeline_id: str, *, before: int | None, limit: int
    ) -> Page[PipelineVersion]:
        """Newest first, `limit` versions numbered below `before` (None: from the
        newest); the next page continues below the last one's number."""
        query = (
            select(pipeline_versions)
            .where(pipeline_versions.c.pipeline_id == pipeline_id)
            .order_by(pipeline_versions.c.version.desc())
        )
        if before is not None:
            query = query.where(pipeline_versions.c.version < before)
        async with self._engine.connect() as conn:
            rows = list(await conn.execute(query.limit(limit + 1)))
        versions = [_version(row) for row in rows[:limit]]
        more = len(rows) > limit
        return Page(versions, int(versions[-1].version_id) if more else None)

    async def get_version(self, pipeline_id: str, version_id: str) -> PipelineVersion | None:
        if not version_id.isdigit():
            return None
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(pipeline_versions).where(
                        pipeline_versions.c.pipeline_id == pipeline_id,
                        pipeline_versions.c.version == int(version_id),
                    )
                )
            ).first()
        return _version(row) if row else None

    async def delete_version(self, pipeline_id: str, version_id: str) -> None:
        async with self._writes.begin() as conn:
            await conn.execute(_locked_pipeline(pipeline_id))
            await conn.execute(
                delete(pipeline_versions).where(
                    pipeline_versions.c.pipeline_id == pipeline_id,
                    pipeline_versions.c.version == int(version_id),
                )
            )
            latest = await conn.scalar(
                select(func.max(pipeline_versions.c.version)).where(
                    pipeline_versions.c.pipeline_id == pipeline_id
                )
            )
            await conn.execute(
                update(pipelines)
                .where(pipelines.c.pipeline_id == pipeline_id)
                .values(latest_version=latest or 0)
            )

    async def delete_pipeline(self, pipeline_id: str) -> bool:
        async with self._writes.begin() as conn:
            await conn.execute(
                delete(pipeline_versions).where(pipeline_versions.c.pipeline_id == pipeline_id)
            )
            result = await conn.execute(
                delete(pipelines).where(pipelines.c.pipeline_id == pipeline_id)
            )
            return bool(result.rowcount)

    # --- runs ------------------------------------------------------------------------

    async def get_run(self, run_id: str) -> RunRecord | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(runs.c.doc, runs.c[OWNER]).where(runs.c.run_id == run_id))
            ).first()
        return _run(row.doc, row.owner_domain) if row else None

    async def list_runs(
        self,
        *,
        after: int | None,
        limit: int,
        where: Mapping[str, str],
        states: Collection[JobState] = (),
        owner: str | None = None,
    ) -> Page[RunRecord]:
        """Newest first. `states` keeps runs whose job is in one of them; `owner` None
        lists every domain's."""
        query: Select[Any] = select(runs.c.seq, runs.c.doc, runs.c[OWNER]).order_by(
            runs.c.seq.desc()
        )
        if after is not None:
            query = query.where(runs.c.seq < after)
        query = _equal(query, runs, _owned(where, owner))
        if states:
            query = query.join(jobs, jobs.c.job_id == runs.c.run_id).where(
                jobs.c.state.in_([state.value for state in states])
            )
        rows = await self._page(query.limit(limit + 1))
        return _paged([_run(r.doc, r.owner_domain) for r in rows[:limit]], rows, limit)

    async def delete_run(self, run_id: str) -> None:
        """Forget a run with its artifacts, the cache entries made from it and its
        reuses of others' outputs and theirs of its own."""
        async with self._writes.begin() as conn:
            await conn.execute(delete(artifacts).where(artifacts.c.run_id == run_id))
            await conn.execute(delete(cache_entries).where(cache_entries.c.run_id == run_id))
            await conn.execute(
                delete(cache_reuses).where(
                    (cache_reuses.c.run_id == run_id) | (cache_reuses.c.cached_run_id == run_id)
                )
            )
            await conn.execute(delete(runs).where(runs.c.run_id == run_id))

    async def runs_reusing(self, run_id: str, owner: str) -> list[str]:
        """The stored runs of `owner` (other than itself) some step of which reused this
        run's outputs, oldest first: PaddleFlow's runCachedIDs, those that still exist.
        (A run reuses its own domain's outputs only; the owner keeps it so regardless.)"""
        query = (
            select(cache_reuses.c.run_id)
            .join(runs, runs.c.run_id == cache_reuses.c.run_id)
            .where(
                cache_reuses.c.cached_run_id == run_id,
                cache_reuses.c.run_id != run_id,
                runs.c[OWNER] == owner,
            )
            .group_by(cache_reuses.c.run_id)
            .order_by(func.min(runs.c.seq))
        )
        async with self._engine.connect() as conn:
            return list((await conn.execute(query)).scalars())

    # --- cache -----------------------------------------------------------------------

    async def find_cache_entries(
        self, first_fp: str, second_fp: str, owner: str
    ) -> list[CacheEntry]:
        """The owner's entries with both fingerprints, newest first: a run never reuses
        another domain's outputs."""
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(cache_entries)
                .where(
                    cache_entries.c.first_fp == first_fp,
                    cache_entries.c.second_fp == second_fp,
                    cache_entries.c[OWNER] == owner,
                )
                .order_by(cache_entries.c.seq.desc())
            )
            return [_cache(row) for row in rows]

    async def get_cache_entry(self, cache_id: str) -> CacheEntry | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(cache_entries).where(cache_entries.c.cache_id == cache_id)
                )
            ).first()
        return _cache(row) if row else None

    async def list_cache_entries(
        self, *, after: int | None, limit: int, where: Mapping[str, str], owner: str | None
    ) -> Page[CacheEntry]:
        query = select(cache_entries).order_by(cache_entries.c.seq.desc())
        if after is not None:
            query = query.where(cache_entries.c.seq < after)
        query = _equal(query, cache_entries, _owned(where, owner))
        rows = await self._page(query.limit(limit + 1))
        return _paged([_cache(r) for r in rows[:limit]], rows, limit)

    async def delete_cache_entry(self, cache_id: str) -> bool:
        async with self._writes.begin() as conn:
            result = await conn.execute(
                delete(cache_entries).where(cache_entries.c.cache_id == cache_id)
            )
            return bool(result.rowcount)

    # --- artifacts -------------------------------------------------------------------

    async def output_artifacts(self, run_id: str, step_name: str) -> list[Artifact]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(artifacts).where(
                    artifacts.c.run_id == run_id,
                    artifacts.c.step_name == step_name,
                    artifacts.c.type == ArtifactType.OUTPUT.value,
                )
            )
            return [_artifact(row) for row in rows]

    async def list_artifacts(
        self,
        *,
        after: int | None,
        limit: int,
        where: Mapping[str, str],
        owner: str | None,
        path_prefix: str = "",
    ) -> Page[Artifact]:
        query = select(artifacts).order_by(artifacts.c.seq.desc())
        if after is not None:
            query = query.where(artifacts.c.seq < after)
        if path_prefix:
            query = query.where(artifacts.c.path.startswith(path_prefix, autoescape=True))
        rows = await self._page(_equal(query, artifacts, _owned(where, owner)).limit(limit + 1))
        return _paged([_artifact(r) for r in rows[:limit]], rows, limit)

    # --- plumbing --------------------------------------------------------------------

    async def _page(self, query: Select[Any]) -> list[Any]:
        async with self._engine.connect() as conn:
            return list(await conn.execute(query))


def _names_per_user(conn: Connection) -> None:
    """Schema 2 to 3: drop the per-domain unique index on pipeline names; the per-user
    one replacing it is created with the missing indexes. Names unique per domain are
    unique per (domain, user) too, so building it can fail on no stored row."""
    conn.execute(text(f'DROP INDEX IF EXISTS "{_PER_DOMAIN_NAMES}"'))


def _fill_reuses(conn: Connection, batch: int = 1_000) -> None:
    """Schema 3 to 4: cache_reuses from the stored runs' steps (a task's cached_from).
    Upgrade steps run before missing tables are created, so this one creates its own."""
    cache_reuses.create(conn, checkfirst=True)
    after: tuple[str, int] = ("", -1)
    while True:
        rows = conn.execute(
            select(job_tasks.c.job_id, job_tasks.c.position, job_tasks.c.doc)
            .join(runs, runs.c.run_id == job_tasks.c.job_id)
            .where(
                tuple_(job_tasks.c.job_id, job_tasks.c.position) > tuple_(*after),
                job_tasks.c.doc.contains("cached_from", autoescape=True),
            )
            .order_by(job_tasks.c.job_id, job_tasks.c.position)
            .limit(batch)
        ).all()
        if not rows:
            return
        # One insert a batch: the table is new, and a step's alias is unique in its run.
        found = [
            {"run_id": job_id, "step_name": task["alias"], "cached_from": task["cached_from"]}
            for job_id, _, doc in rows
            if (task := json.loads(doc)).get("cached_from")
        ]
        if found:
            conn.execute(
                insert(cache_reuses).values(
                    run_id=bindparam("run_id"),
                    step_name=bindparam("step_name"),
                    cached_run_id=bindparam("cached_from"),
                ),
                found,
            )
        after = (rows[-1][0], int(rows[-1][1]))


def _locked_pipeline(pipeline_id: str) -> Select[Any]:
    """The pipeline's row, locked until the transaction ends: its versions change one
    transaction at a time. (SQLite has no row locks; its write transactions take the
    database's write lock as they begin.)"""
    return select(pipelines).where(pipelines.c.pipeline_id == pipeline_id).with_for_update()


def _equal(query: Select[Any], table: Table, where: Mapping[str, str]) -> Select[Any]:
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    return query


def _owned(where: Mapping[str, str], owner: str | None) -> Mapping[str, str]:
    """The filter, narrowed to one owner's records unless `owner` is None."""
    return where if owner is None else {**where, OWNER: owner}


def _paged(items: list[T], rows: list[Any], limit: int) -> Page[T]:
    return Page(
        items,
        int(rows[limit - 1].seq) if len(rows) > limit else None,
        [int(row.seq) for row in rows[:limit]],
    )


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _pipeline_row(p: Pipeline) -> dict[str, Any]:
    return {
        "pipeline_id": p.pipeline_id,
        "name": p.name,
        "username": p.username,
        "description": p.description,
        "create_time": p.create_time.isoformat(),
        "update_time": p.update_time.isoformat(),
        "latest_version": int(p.latest_version_id),
        OWNER: p.owner,
    }


def _pipeline(row: Any) -> Pipeline:
    return Pipeline(
        pipeline_id=row.pipeline_id,
        name=row.name,
        username=row.username,
        description=row.description,
        create_time=datetime.fromisoformat(row.create_time),
        update_time=datetime.fromisoformat(row.update_time),
        latest_version_id=str(row.latest_version),
        owner=row.owner_domain,
    )


def _version_row(v: PipelineVersion) -> dict[str, Any]:
    return {
        "pipeline_id": v.pipeline_id,
        "version": int(v.version_id),
        "pipeline_yaml": v.pipeline_yaml,
        "username": v.username,
        "description": v.description,
        "create_time": v.create_time.isoformat(),
        OWNER: v.owner,
    }


def _version(row: Any) -> PipelineVersion:
    return PipelineVersion(
        pipeline_id=row.pipeline_id,
        version_id=str(row.version),
        pipeline_yaml=row.pipeline_yaml,
        username=row.username,
        description=row.description,
        create_time=datetime.fromisoformat(row.create_time),
        owner=row.owner_domain,
    )


def _run_row(r: RunRecord) -> dict[str, Any]:
    doc = {
        "run_id": r.run_id,
        "name": r.name,
        "username": r.username,
        "run_yaml": r.run_yaml,
        "source": r.source,
        "create_time": r.create_time.isoformat(),
        "description": r.description,
        "parameters": dict(r.parameters),
        "disabled": list(r.disabled),
        "failure_strategy": r.failure_strategy.value,
        "docker_env": r.docker_env,
        "pipeline_id": r.pipeline_id,
        "pipeline_version_id": r.pipeline_version_id,
        "schedule_id": r.schedule_id,
        "scheduled_time": r.scheduled_time.isoformat() if r.scheduled_time else None,
        "retried_from": r.retried_from,
        "fs_name": r.fs_name,
    }
    return {
        "run_id": r.run_id,
        "name": r.name,
        "username": r.username,
        "pipeline_id": r.pipeline_id,
        "schedule_id": r.schedule_id,
        "create_time": r.create_time.isoformat(),
        "doc": json.dumps(doc, separators=(",", ":")),
        OWNER: r.owner,
    }


def _run(doc: str, owner: str) -> RunRecord:
    data = json.loads(doc)
    return RunRecord(
        run_id=data["run_id"],
        name=data["name"],
        username=data["username"],
        run_yaml=data["run_yaml"],
        source=data["source"],
        create_time=datetime.fromisoformat(data["create_time"]),
        description=data["description"],
        parameters=data["parameters"],
        disabled=tuple(data["disabled"]),
        failure_strategy=FailureStrategy(data["failure_strategy"]),
        docker_env=data["docker_env"],
        pipeline_id=data["pipeline_id"],
        pipeline_version_id=data["pipeline_version_id"],
        schedule_id=data["schedule_id"],
        scheduled_time=_time(data["scheduled_time"]),
        retried_from=data["retried_from"],
        owner=owner,
        fs_name=data.get("fs_name", ""),  # runs stored before it was kept have none
    )


def _cache_row(c: CacheEntry) -> dict[str, Any]:
    return {
        "cache_id": c.cache_id,
        "first_fp": c.first_fp,
        "second_fp": c.second_fp,
        "run_id": c.run_id,
        "step_name": c.step_name,
        "username": c.username,
        "pipeline_id": c.pipeline_id,
        "expired_time": c.expired_time,
        "create_time": c.create_time.isoformat(),
        OWNER: c.owner,
    }


def _cache(row: Any) -> CacheEntry:
    return CacheEntry(
        cache_id=row.cache_id,
        first_fp=row.first_fp,
        second_fp=row.second_fp,
        run_id=row.run_id,
        step_name=row.step_name,
        username=row.username,
        pipeline_id=row.pipeline_id,
        expired_time=int(row.expired_time),
        create_time=datetime.fromisoformat(row.create_time),
        owner=row.owner_domain,
    )


def _artifact_row(a: Artifact) -> dict[str, Any]:
    return {
        "run_id": a.run_id,
        "step_name": a.step_name,
        "name": a.name,
        "path": a.path,
        "type": a.type.value,
        "username": a.username,
        "create_time": a.create_time.isoformat(),
        OWNER: a.owner,
    }


def _artifact(row: Any) -> Artifact:
    return Artifact(
        run_id=row.run_id,
        step_name=row.step_name,
        name=row.name,
        path=row.path,
        type=ArtifactType(row.type),
        username=row.username,
        create_time=datetime.fromisoformat(row.create_time),
        owner=row.owner_domain,
    )
