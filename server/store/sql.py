"""JobStore on SQLAlchemy Core (async): SQLite through aiosqlite by default,
PostgreSQL through asyncpg, chosen by the database URL.

Writes. A job is stored as its row and one row per task (schema.py). A change writes
the job row, the task rows that changed and one event. The store remembers the tasks it
last wrote for each unfinished job, so it finds the changed ones by comparing encoded
tasks; a job it does not remember (after a restart, or one another replica wrote) is
written whole.

History. An event holds the whole job, or a delta: the job's head and the tasks that
changed since the job's previous event. Every SNAPSHOT_EVERY-th version of a job is
whole, so a reader rebuilds a delta from at most that many events; compaction stores
whole the first event it keeps of each job (history.py).

Reads of the jobs as they are now: rows.py. SQLite's writer and reader threads: sqlite.py.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol, TypeVar

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from dagwire.server.engine.errors import (
    ConcurrentModification,
    EngineError,
    JobAlreadyExists,
    JobNotFound,
)
from dagwire.server.engine.model import ChangeType, Job, JobChange, JobSpec, JobState, TaskRun
from dagwire.server.store.base import (
    ANY_JOB,
    InsertJob,
    JobScope,
    JobWrite,
    RemoveJob,
    UpdateJob,
    WriteResult,
)
from dagwire.server.store.codec import (
    JobParts,
    delta_json,
    head_json,
    spec_json,
    task_json,
)
from dagwire.server.store.decoded import DecodedJobs
from dagwire.server.store.history import EVENT_COLUMNS, compact, replay
from dagwire.server.store.rows import load_jobs, load_jobs_shared, read_stored
from dagwire.server.store.schema import (
    COMPACTED_THROUGH,
    SCHEMA_LOCK,
    check_schema,
    events,
    job_domains,
    job_tasks,
    jobs,
    metadata,
    parties_column,
    schema_info,
)
from dagwire.server.store.sqlite import (
    WRITING,
    SqliteThreads,
    enable_sqlite_wal,
    sqlite_transactions,
)

# A job's every SNAPSHOT_EVERY-th version is stored whole in the event log.
SNAPSHOT_EVERY = 64

_TERMINAL = [state.value for state in JobState if state.is_terminal]

T = TypeVar("T")


class WriteHooks(Protocol):
    """Extra statements in every write transaction (several replicas on PostgreSQL: see
    dagwire.server.store.pg). `before_writes` runs first, with the jobs the batch
    writes, `after_writes` once the accepted changes are written, both before the
    commit. They run inside the transaction's synchronous body (on PostgreSQL,
    SQLAlchemy's greenlet bridge awaits each statement). `horizon` tells readers how far
    the event log is final, when writers may commit out of resource_version order."""

    def before_writes(self, conn: Connection, job_ids: Sequence[str]) -> None: ...

    def after_writes(self, conn: Connection, changes: Sequence[JobChange]) -> None: ...

    def horizon(self, conn: Connection) -> int: ...


class SqlJobStore:
    """JobStore over any SQLAlchemy async URL (sqlite+aiosqlite, postgresql+asyncpg)."""

    def __init__(self, url: str, *, hooks: WriteHooks | None = None) -> None:
        self._url = url
        self._hooks = hooks
        self._engine: AsyncEngine | None = None
        self._writes: AsyncEngine | None = None
        self._sqlite_writer: SqliteThreads | None = None
        self._sqlite_readers: SqliteThreads | None = None
        # The last change this store committed of each unfinished job: what a delta is
        # taken against.
        self._written: dict[str, _Written] = {}
        # Jobs as last read, shared by every read of the same stored version.
        self._decoded = DecodedJobs()

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("store is not open")
        return self._engine

    @property
    def writes(self) -> AsyncEngine:
        """The engine to write through: `engine`, with transactions that on SQLite take
        the write lock as they begin, so that what they read is current when they write
        (PostgreSQL transactions lock the rows they select FOR UPDATE)."""
        if self._writes is None:
            raise RuntimeError("store is not open")
        return self._writes

    async def open(self) -> None:
        engine = create_async_engine(self._url)
        writes = engine
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", enable_sqlite_wal)
            sqlite_transactions(engine.sync_engine)
            writes = engine.execution_options(**WRITING)
        self._engine, self._writes = engine, writes
        async with writes.begin() as conn:
            if engine.dialect.name == "postgresql":
                await conn.execute(SCHEMA_LOCK)
            await conn.run_sync(metadata.create_all)
            await conn.run_sync(check_schema)
        if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            # (An in-memory database exists once per connection: it keeps the async path.)
            self._sqlite_writer = SqliteThreads(self._url, writing=True)
            self._sqlite_readers = SqliteThreads(self._url, writing=False, threads=2)

    async def close(self) -> None:
        for threads in (self._sqlite_writer, self._sqlite_readers):
            if threads is not None:
                threads.close()
        self._sqlite_writer = self._sqlite_readers = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = self._writes = None

    async def _write_transaction(self, body: Callable[[Connection], T]) -> T:
        """Run `body` as one write transaction: on SQLite in the writer thread, elsewhere
        on the async engine (each statement awaited through SQLAlchemy's greenlet
        bridge, on the event loop)."""
        if self._sqlite_writer is not None:
            return await self._sqlite_writer.run(body)
        async with self.writes.begin() as conn:
            return await conn.run_sync(body)

    async def _read(self, body: Callable[[Connection], T]) -> T:
        """Run `body` as one read: on SQLite in a reader thread, elsewhere on the async
        engine."""
        if self._sqlite_readers is not None:
            return await self._sqlite_readers.run(body)
        async with self.engine.connect() as conn:
            return await conn.run_sync(body)

    # --- writes ---------------------------------------------------------------------

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
        # Jobs are encoded here, on the event loop, where the per-task pieces they are
        # assembled from are kept; the transaction only compares and runs statements.
        encoded = [
            None if isinstance(write, RemoveJob) else self._encode(write.job) for write in writes
        ]
        planned = await self._write_transaction(
            functools.partial(self._apply_writes, writes, encoded)
        )
        accepted = [plan for plan in planned if not isinstance(plan, EngineError)]
        for plan in accepted:  # committed: the bases of the next deltas
            if plan.type is ChangeType.DELETED or plan.job.state.is_terminal:
                self._written.pop(plan.job_id, None)
            else:
                self._written[plan.job_id] = _Written(
                    plan.resource_version, plan.job.tasks, plan.encoded.tasks, plan.job.spec
                )
        return [plan if isinstance(plan, EngineError) else plan.change() for plan in planned]

    def _encode(self, job: Job) -> JobParts:
        """The job's stored form. A change keeps most task objects as they were: their
        encodings are taken from the last write of the job instead of looked up."""
        last = self._written.get(job.job_id)
        if last is None or len(last.runs) != len(job.tasks) or last.spec is not job.spec:
            return JobParts.of(job)
        runs = job.tasks
        tasks = list(last.tasks)
        for position in [
            i for i, (a, b) in enumerate(zip(last.runs, runs, strict=True)) if a is not b
        ]:
            tasks[position] = task_json(runs[position])
        return JobParts(head_json(job), spec_json(job.spec), tuple(tasks), spec_changed=False)

    def _apply_writes(
        self,
        writes: Sequence[JobWrite],
        encoded: Sequence[JobParts | None],
        conn: Connection,
    ) -> list[_Plan | EngineError]:
        if self._hooks is not None:
            self._hooks.before_writes(conn, sorted({_job_id_of(write) for write in writes}))
        current = _current(conn, writes, self._written)
        planned = [
            _plan_with_riders(conn, write, enc, current)
            for write, enc in zip(writes, encoded, strict=True)
        ]
        accepted = [plan for plan in planned if not isinstance(plan, EngineError)]
        if accepted:
            versions = _append_events(conn, accepted)
            for plan, rv in zip(accepted, versions, strict=True):
                plan.resource_version = rv
            # Jobs written once in the batch go in bulk; a job written more than once
            # has its writes applied one after the other.
            times = Counter(plan.job_id for plan in accepted)
            _write_rows(conn, [plan for plan in accepted if times[plan.job_id] == 1])
            for plan in accepted:
                if times[plan.job_id] > 1:
                    _write_rows(conn, [plan])
            if self._hooks is not None:
                self._hooks.after_writes(conn, [plan.change() for plan in accepted])
        return planned

    # --- reads ----------------------------------------------------------------------

    async def get_job(self, job_id: str) -> Job | None:
        found = await self.get_jobs([job_id])
        return found[0] if found else None

    async def get_jobs(self, job_ids: Sequence[str]) -> list[Job]:
        where = jobs.c.job_id.in_(job_ids)
        return await self._read(
            functools.partial(load_jobs_shared, decoded=self._decoded, where=where)
        )

    async def list_jobs(self, *, active_only: bool = False) -> list[Job]:
        where = jobs.c.state.not_in(_TERMINAL) if active_only else None
        return await self._read(functools.partial(load_jobs, where=where))

    async def list_jobs_page(
        self, after: Job | None, limit: int, scope: JobScope = ANY_JOB
    ) -> list[Job]:
        conditions = _scope_conditions(scope)
        if after is not None:
            conditions.append(
                tuple_(jobs.c.create_time, jobs.c.job_id)
                > tuple_(after.create_time.isoformat(), after.job_id)
            )
        where = and_(*conditions) if conditions else None
        return await self._read(
            functools.partial(load_jobs_shared, decoded=self._decoded, where=where, limit=limit)
        )

    async def count_jobs_by_state(self) -> dict[JobState, int]:
        query = select(jobs.c.state, func.count()).group_by(jobs.c.state)
        rows = await self._read(lambda conn: conn.execute(query).all())
        return {JobState(state): int(count) for state, count in rows}

    async def changes_after(
        self,
        resource_version: int,
        limit: int,
        scope: JobScope = ANY_JOB,
        upto: int | None = None,
    ) -> list[JobChange]:
        conditions = _event_conditions(scope)
        if upto is not None:
            conditions.append(events.c.resource_version <= upto)
        query = (
            select(*EVENT_COLUMNS)
            .where(events.c.resource_version > resource_version, *conditions)
            .order_by(events.c.resource_version)
            .limit(limit)
        )
        return await self._read(
            lambda conn: replay(conn, conn.execute(query).all(), after=resource_version)
        )

    async def oldest_resource_version(self) -> int:
        return await self._read(_oldest_resource_version)

    async def latest_resource_version(self) -> int:
        if self._hooks is not None:
            return await self._read(self._hooks.horizon)
        query = select(func.max(events.c.resource_version))
        return await self._read(lambda conn: int(conn.scalar(query) or 0))

    async def compact(self, keep: int) -> int:
        return await self._write_transaction(functools.partial(compact, keep))


def _scope_conditions(scope: JobScope) -> list[ColumnElement[bool]]:
    """SQL conditions selecting the jobs of `scope` (indexed: no job is decoded)."""
    conditions: list[ColumnElement[bool]] = []
    if scope.kind is not None:
        conditions.append(jobs.c.kind == scope.kind.value)
    if scope.domain is not None:
        parties = select(job_domains.c.job_id).where(job_domains.c.domain_id == scope.domain)
        conditions.append(jobs.c.job_id.in_(parties))
    if scope.job_ids:
        conditions.append(jobs.c.job_id.in_(sorted(scope.job_ids)))
    return conditions


def _event_conditions(scope: JobScope) -> list[ColumnElement[bool]]:
    """SQL conditions selecting the events of `scope`'s jobs, and every event older than
    schema 4 (NULL columns), which the reader filters after decoding."""
    conditions: list[ColumnElement[bool]] = []
    if scope.kind is not None:
        kind = events.c.job_kind
        conditions.append(or_(kind.is_(None), kind == scope.kind.value))
    if scope.domain is not None:
        parties = events.c.parties
        conditions.append(
            or_(parties.is_(None), parties.contains(f",{scope.domain},", autoescape=True))
        )
    if scope.job_ids:
        conditions.append(events.c.object_id.in_(sorted(scope.job_ids)))
    return conditions


def _oldest_resource_version(conn: Connection) -> int:
    compacted = conn.scalar(
        select(schema_info.c.value).where(schema_info.c.key == COMPACTED_THROUGH)
    )
    newer = events.c.resource_version > int(compacted or 0)
    return int(conn.scalar(select(func.min(events.c.resource_version)).where(newer)) or 0)


# --- writing ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Written:
    """A committed change of a job: its resource_version, tasks and their encodings."""

    resource_version: int
    runs: tuple[TaskRun, ...]
    tasks: tuple[str, ...]
    spec: JobSpec | None = None  # the spec it wrote (by identity: specs are immutable)


@dataclass(slots=True)
class _Current:
    """What the transaction found stored, updated as the batch's writes are planned."""

    versions: dict[str, int]
    resource_versions: dict[str, int]
    written: dict[str, _Written]  # the store's memory of its writes
    removed: dict[str, tuple[Job, JobParts]] = field(default_factory=dict)
    # job -> the encoded tasks stored (None: unknown) as of the batch's latest write
    bases: dict[str, tuple[str, ...] | None] = field(default_factory=dict)

    def base(self, job_id: str) -> tuple[str, ...] | None:
        if job_id not in self.bases:
            remembered = self.written.get(job_id)
            stored = self.resource_versions.get(job_id)
            fresh = remembered is not None and remembered.resource_version == stored
            self.bases[job_id] = remembered.tasks if fresh and remembered else None
        return self.bases[job_id]


class _Plan:
    """One accepted write on its way into the transaction."""

    def __init__(
        self, type_: ChangeType, job: Job, encoded: JobParts, changed: dict[int, str] | None
    ) -> None:
        self.type = type_
        self.job = job
        self.job_id = job.job_id
        self.version = job.version
        self.resource_version = 0
        self.encoded = encoded
        # None: the job is written whole; else its tasks that changed, by position
        self.changed = changed
        self.doc = encoded.whole() if changed is None else delta_json(encoded.head, changed)

    def change(self) -> JobChange:
        stored = _with_versions(self.job, self.version, self.resource_version)
        return JobChange(self.resource_version, self.type, stored)


def _current(
    conn: Connection, writes: Sequence[JobWrite], written: dict[str, _Written]
) -> _Current:
    """Stored versions of the jobs written, and the last state of those removed."""
    ids = list({_job_id_of(write) for write in writes})
    rows = conn.execute(
        select(jobs.c.job_id, jobs.c.version, jobs.c.resource_version).where(jobs.c.job_id.in_(ids))
    )
    current = _Current(versions={}, resource_versions={}, written=written)
    for row in rows:
        current.versions[row.job_id] = row.version
        current.resource_versions[row.job_id] = row.resource_version
    removed = [write.job_id for write in writes if isinstance(write, RemoveJob)]
    if removed:
        for stored in read_stored(conn, jobs.c.job_id.in_(removed)):
            current.removed[stored.job_id] = (stored.job(), stored.parts)
    return current


def _plan_with_riders(
    conn: Connection, write: JobWrite, encoded: JobParts | None, current: _Current
) -> _Plan | EngineError:
    """Plan the write, then write its riders' rows in a savepoint of their own: a rider
    that refuses takes back its fellows' rows and the write's plan, so that the job write
    and its riders go together or not at all, without failing the rest of the batch."""
    if not write.riders:
        return _plan(write, encoded, current)
    riders = write.riders
    job_id = write.job_id if isinstance(write, RemoveJob) else write.job.job_id
    version, had_base, base = (
        current.versions.get(job_id),
        job_id in current.bases,
        current.bases.get(job_id),
    )
    plan = _plan(write, encoded, current)
    if isinstance(plan, EngineError):
        return plan
    savepoint = conn.begin_nested()
    try:
        refused = next((e for rider in riders if (e := rider.write(conn)) is not None), None)
    except BaseException:
        savepoint.rollback()
        raise
    if refused is None:
        savepoint.commit()
        return plan
    savepoint.rollback()
    if version is None:
        current.versions.pop(job_id, None)
    else:
        current.versions[job_id] = version
    if had_base:
        current.bases[job_id] = base
    else:
        current.bases.pop(job_id, None)
    return refused


def _plan(write: JobWrite, encoded: JobParts | None, current: _Current) -> _Plan | EngineError:
    """Decide a write against the stored versions, and record its effect so that a later
    write to the same job in the same batch sees it."""
    job_id = _job_id_of(write)
    stored = current.versions.get(job_id)
    match write:
        case InsertJob(job):
            if stored is not None:
                return JobAlreadyExists(job_id)
            assert encoded is not None
            current.versions[job_id] = 1
            current.bases[job_id] = encoded.tasks
            return _Plan(ChangeType.ADDED, _with_versions(job, 1, 0), encoded, None)
        case UpdateJob(job, expected):
            if stored is None:
                return JobNotFound(job_id)
            if stored != expected:
                return ConcurrentModification(
                    f"job {job_id!r} changed concurrently (stored version {stored}, "
                    f"expected {expected})"
                )
            assert encoded is not None
            version = expected + 1
            base = current.base(job_id)
            changed: dict[int, str] | None = None
            if (
                base is not None
                and len(base) == len(encoded.tasks)
                and version % SNAPSHOT_EVERY
                and not encoded.spec_changed  # a delta carries tasks, not the spec
            ):
                changed = {
                    position: task
                    for position, (before, task) in enumerate(zip(base, encoded.tasks, strict=True))
                    if before != task
                }
            current.versions[job_id] = version
            current.bases[job_id] = encoded.tasks
            return _Plan(ChangeType.MODIFIED, _with_versions(job, version, 0), encoded, changed)
        case RemoveJob():
            if stored is None:
                return JobNotFound(job_id)
            del current.versions[job_id]
            current.bases[job_id] = None
            last, last_encoded = current.removed[job_id]
            return _Plan(ChangeType.DELETED, last, last_encoded, None)


def _append_events(conn: Connection, plans: list[_Plan]) -> list[int]:
    statement = insert(events).returning(events.c.resource_version, sort_by_parameter_order=True)
    rows = conn.execute(
        statement,
        [
            {
                "kind": "job",
                "object_id": plan.job_id,
                "type": plan.type.value,
                "version": plan.version,
                "whole": plan.changed is None,
                "doc": plan.doc,
                "job_kind": plan.job.spec.kind.value,
                "parties": parties_column(plan.job.spec.domains),
            }
            for plan in plans
        ],
    )
    return [int(row[0]) for row in rows]


def _write_rows(conn: Connection, plans: list[_Plan]) -> None:
    """The job and task rows of `plans`, which write distinct jobs."""
    added = [plan for plan in plans if plan.type is ChangeType.ADDED]
    modified = [plan for plan in plans if plan.type is ChangeType.MODIFIED]
    rewritten = [plan for plan in modified if plan.changed is None]
    gone = [plan.job_id for plan in plans if plan.type is ChangeType.DELETED]
    if added:
        conn.execute(
            insert(jobs),
            [
                {
                    "job_id": plan.job_id,
                    "state": plan.job.state.value,
                    "version": plan.version,
                    "resource_version": plan.resource_version,
                    "create_time": plan.job.create_time.isoformat(),
                    "spec": plan.encoded.spec,
                    "head": plan.encoded.head,
                    "kind": plan.job.spec.kind.value,
                }
                for plan in added
            ],
        )
        parties = [
            {"job_id": plan.job_id, "domain_id": domain}
            for plan in added
            for domain in plan.job.spec.domains
        ]
        if parties:
            conn.execute(insert(job_domains), parties)
    if modified:
        conn.execute(
            _UPDATE_JOB,
            [
                {
                    "key": plan.job_id,
                    "new_state": plan.job.state.value,
                    "new_version": plan.version,
                    "new_rv": plan.resource_version,
                    "new_head": plan.encoded.head,
                }
                for plan in modified
            ],
        )
    respecified = [plan for plan in modified if plan.encoded.spec_changed]
    if respecified:  # rare: a loop laid out at run time, or the first write after a start
        conn.execute(
            _UPDATE_SPEC,
            [{"key": plan.job_id, "new_spec": plan.encoded.spec} for plan in respecified],
        )
    cleared = [plan.job_id for plan in rewritten] + gone
    if cleared:
        conn.execute(delete(job_tasks).where(job_tasks.c.job_id.in_(cleared)))
    if gone:
        conn.execute(delete(jobs).where(jobs.c.job_id.in_(gone)))
        conn.execute(delete(job_domains).where(job_domains.c.job_id.in_(gone)))
    whole = [
        {
            "job_id": plan.job_id,
            "position": i,
            "resource_version": plan.resource_version,
            "doc": doc,
        }
        for plan in (*added, *rewritten)
        for i, doc in enumerate(plan.encoded.tasks)
    ]
    if whole:
        conn.execute(insert(job_tasks), whole)
    changed = [
        {"key": plan.job_id, "at": i, "new_rv": plan.resource_version, "new_doc": doc}
        for plan in modified
        if plan.changed
        for i, doc in plan.changed.items()
    ]
    if changed:
        conn.execute(_UPDATE_TASK, changed)


_UPDATE_JOB = (
    update(jobs)
    .where(jobs.c.job_id == bindparam("key"))
    .values(
        state=bindparam("new_state"),
        version=bindparam("new_version"),
        resource_version=bindparam("new_rv"),
        head=bindparam("new_head"),
    )
)

_UPDATE_SPEC = (
    update(jobs).where(jobs.c.job_id == bindparam("key")).values(spec=bindparam("new_spec"))
)

_UPDATE_TASK = (
    update(job_tasks)
    .where(job_tasks.c.job_id == bindparam("key"), job_tasks.c.position == bindparam("at"))
    .values(resource_version=bindparam("new_rv"), doc=bindparam("new_doc"))
)


# --- helpers ------------------------------------------------------------------------


def _job_id_of(write: JobWrite) -> str:
    return write.job_id if isinstance(write, RemoveJob) else write.job.job_id


def _raise_or_return(result: WriteResult) -> JobChange:
    if isinstance(result, EngineError):
        raise result
    return result


def _with_versions(job: Job, version: int, resource_version: int) -> Job:
    return replace(job, version=version, resource_version=resource_version)
