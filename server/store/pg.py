"""Several replicas on one PostgreSQL database: the store's side of it.

- **Ordered event log, without a global lock.** Resource versions come from the events
  table's sequence, handed out before commit and committed in any order: rv 11 may
  commit while rv 10 is still in flight. Writers therefore do not wait for each other;
  readers read only up to the *commit horizon*, the largest rv at or below which no
  transaction is in flight, so that the watch keeps one total order and a resumed
  stream misses nothing. How the horizon is known:
  - a write transaction, before it allocates a version, takes a shared
    transaction-scoped advisory lock keyed by the sequence's next value (a *mark*, at
    most every version it will allocate); PostgreSQL drops it when the transaction
    ends, after its commit is visible;
  - a reader first reads the sequence's last value L, then the marks held (pg_locks):
    horizon = min(L, smallest mark - 1). A version at or below it is final: its
    transaction either held its mark when the marks were read (then the version is
    above the horizon), or had ended, or had not marked yet (then the version is
    allocated after L was read, so above L). Each replica keeps the largest horizon it
    computed (a later reading may be lower by a mark taken just before).
  The optimistic version check needs the writes of one job to be serialised across
  replicas: each transaction takes a transaction-scoped advisory lock per job it writes
  (in sorted order, so two batches never deadlock). Transactions writing different jobs
  run side by side.
- **Notifications.** The transaction ends with `pg_notify(channel, "<replica> <max rv>")`;
  PostgreSQL delivers notifications at commit and in commit order. Replicas LISTEN
  (`PgListener`) and read the event rows up to that rv (`events_between`).
- **Ownership.** `job_owners` names the replica that runs each unfinished job (it
  launches processes, receives their reports, arms timers). A row is written in the
  job's creating transaction and removed with the job or once the job is final.
  `replicas` holds each replica's lease; a job's lease is its owner's. A live replica
  renews its lease; the jobs of a replica whose lease expired are taken over with
  `UPDATE ... WHERE job_id IN (SELECT ... FOR UPDATE SKIP LOCKED)`, so that each goes to
  exactly one taker.
- **Fencing.** A replica's row also holds its lease epoch (raised by every registration,
  carried by every launch) and its `fence_seconds`: how long after its lease expires its
  processes may still run (dagwire.server.executors.fencing). A taker learns the
  largest among the replicas it took from, and relaunches their parties only that long
  after the takeover.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    MetaData,
    String,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from dagwire.server.engine.model import ChangeType, Job, JobChange, JobState
from dagwire.server.store.history import EVENT_COLUMNS, replay
from dagwire.server.store.rows import load_jobs
from dagwire.server.store.schema import SCHEMA_LOCK, events, jobs

log = logging.getLogger(__name__)

CHANNEL = "dagwire_events"
# Per-job locks use the two-key form (pg_locks.objsubid = 2) under this first key;
# marks use the one-key form (objsubid = 1) keyed by a resource version, which never
# comes near the high 32 bits of SCHEMA_LOCK's key (_MARK_CLASSIDS excludes those).
_JOB_LOCK_CLASS = 0x6467  # "dg"
_JOB_LOCKS = text(
    """
    SELECT count(pg_advisory_xact_lock(:class, key)) FROM (
        SELECT DISTINCT hashtext(job_id) AS key
        FROM unnest(CAST(:ids AS text[])) AS job_id ORDER BY key
    ) AS keys
    """
)
_SEQUENCE = "events_resource_version_seq"
# The next value the sequence hands out is at least this.
_NEXT = "CASE WHEN is_called THEN last_value + 1 ELSE last_value END"
_MARK = text(f"SELECT pg_advisory_xact_lock_shared({_NEXT}) FROM {_SEQUENCE}")
_ALLOCATED = text(f"SELECT {_NEXT} - 1 FROM {_SEQUENCE}")
_MARK_CLASSIDS = 1 << 30
_LOWEST_MARK = text(
    f"""
    SELECT min((classid::bigint << 32) | objid::bigint) FROM pg_locks
    WHERE locktype = 'advisory' AND objsubid = 1 AND classid < {_MARK_CLASSIDS}
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
    """
)
# Everything a write transaction adds at its end, in one round trip: owner rows of the
# jobs it created, none for those it deleted or finished, and the notification.
_AFTER_WRITES = text(
    """
    WITH added AS (
        INSERT INTO job_owners (job_id, owner)
        SELECT job_id, :owner FROM unnest(CAST(:added AS text[])) AS job_id
        ON CONFLICT (job_id) DO UPDATE SET owner = EXCLUDED.owner
    ), gone AS (
        DELETE FROM job_owners WHERE job_id = ANY(CAST(:gone AS text[]))
    )
    SELECT pg_notify(:channel, :payload)
    """
)
_FINAL = [state.value for state in JobState if state.is_final]

replica_metadata = MetaData()

replicas = Table(
    "replicas",
    replica_metadata,
    Column("replica_id", String(128), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("epoch", BigInteger, nullable=False, server_default="1"),
    Column("fence_seconds", Float, nullable=False, server_default="0"),
)
# Databases whose replicas table predates fencing.
_FENCING_COLUMNS = (
    text("ALTER TABLE replicas ADD COLUMN IF NOT EXISTS epoch BIGINT NOT NULL DEFAULT 1"),
    text(
        "ALTER TABLE replicas ADD COLUMN IF NOT EXISTS fence_seconds "
        "DOUBLE PRECISION NOT NULL DEFAULT 0"
    ),
)

job_owners = Table(
    "job_owners",
    replica_metadata,
    Column("job_id", String(253), primary_key=True),
    Column("owner", String(128), nullable=False, index=True),
)


def _lease_end(seconds: float) -> Any:
    return func.now() + func.make_interval(0, 0, 0, 0, 0, 0, literal(seconds))


class PgWriteHooks:
    """The statements every write transaction of a replica adds (SqlJobStore hooks): the
    per-job locks and the mark, owner rows, the notification; and the commit horizon
    for readers. It also records the resource versions this replica wrote, before they
    commit, so that the bus can tell its own rows from other replicas' when it reads the
    log."""

    def __init__(self, replica_id: str) -> None:
        self.replica_id = replica_id
        self.own: set[int] = set()
        self._horizon = 0  # the largest horizon computed: monotonic for this replica

    def before_writes(self, conn: Connection, job_ids: Sequence[str]) -> None:
        # Job locks first: waiting for another writer of the same job does not hold
        # the horizon back.
        conn.execute(_JOB_LOCKS, {"class": _JOB_LOCK_CLASS, "ids": list(job_ids)})
        conn.execute(_MARK)

    def after_writes(self, conn: Connection, changes: Sequence[JobChange]) -> None:
        owned: dict[str, bool] = {}  # job -> whether it has an owner row after this batch
        for change in changes:
            job_id = change.job.job_id
            if change.type is ChangeType.DELETED or change.job.state.is_final:
                owned[job_id] = False
            elif change.type is ChangeType.ADDED:
                owned[job_id] = True
        latest = max(change.resource_version for change in changes)
        self.own.update(change.resource_version for change in changes)
        conn.execute(
            _AFTER_WRITES,
            {
                "owner": self.replica_id,
                "added": [job_id for job_id, keep in owned.items() if keep],
                "gone": [job_id for job_id, keep in owned.items() if not keep],
                "channel": CHANNEL,
                "payload": f"{self.replica_id} {latest}",
            },
        )

    def horizon(self, conn: Connection) -> int:
        """The largest resource version at or below which every transaction has ended
        (see the module's docstring). Two statements, in this order: the events read
        afterwards, in a later statement, see every commit below it."""
        allocated = int(conn.scalar(_ALLOCATED) or 0)
        lowest_mark = conn.scalar(_LOWEST_MARK)
        found = allocated if lowest_mark is None else min(allocated, int(lowest_mark) - 1)
        self._horizon = max(self._horizon, found)
        return self._horizon


@dataclass(frozen=True, slots=True)
class EventRow:
    """One row of the event log, with the change it records (read without documents,
    `recorded` is None and `change()` refuses)."""

    resource_version: int
    object_id: str
    type: str
    version: int
    recorded: JobChange | None

    def change(self) -> JobChange:
        if self.recorded is None:
            raise ValueError(f"event {self.resource_version} was read without its document")
        return self.recorded


class PgReplicaStore:
    """Leases, ownership and the event log as replicas read it, on an engine of its own
    (a small pool beside the job store's)."""

    def __init__(
        self, url: str, replica_id: str, lease_seconds: float, fence_seconds: float = 0.0
    ) -> None:
        self._url = url
        self.replica_id = replica_id
        self.lease_seconds = lease_seconds
        self.fence_seconds = fence_seconds
        self.hooks = PgWriteHooks(replica_id)
        self._engine: AsyncEngine | None = None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("replica store is not open")
        return self._engine

    @property
    def dsn(self) -> str:
        """The URL as asyncpg takes it (for the LISTEN connection)."""
        return make_url(self._url).set(drivername="postgresql").render_as_string(False)

    async def open(self) -> None:
        self._engine = create_async_engine(self._url, pool_size=3, max_overflow=2)
        async with self.engine.begin() as conn:
            await conn.execute(SCHEMA_LOCK)
            await conn.run_sync(replica_metadata.create_all)
            for statement in _FENCING_COLUMNS:
                await conn.execute(statement)

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    # --- the lease --------------------------------------------------------------------

    async def register(self) -> int:
        """Start (or restart) this replica's lease; its epoch, one more than before."""
        statement = pg_insert(replicas).values(
            replica_id=self.replica_id,
            expires_at=_lease_end(self.lease_seconds),
            epoch=1,
            fence_seconds=self.fence_seconds,
        )
        upsert = statement.on_conflict_do_update(
            index_elements=[replicas.c.replica_id],
            set_={
                "expires_at": statement.excluded.expires_at,
                "epoch": replicas.c.epoch + 1,
                "fence_seconds": statement.excluded.fence_seconds,
            },
        ).returning(replicas.c.epoch)
        async with self.engine.begin() as conn:
            return int((await conn.execute(upsert)).scalar_one())

    async def renew(self) -> bool:
        """Extend the lease; False when it had already expired (others may have taken
        over this replica's jobs: re-register and find out which are still ours)."""
        statement = (
            update(replicas)
            .where(replicas.c.replica_id == self.replica_id, replicas.c.expires_at > func.now())
            .values(expires_at=_lease_end(self.lease_seconds))
            .returning(replicas.c.replica_id)
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(statement)).first() is not None

    async def release(self) -> None:
        """End the lease now, so that other replicas take over at once. The row stays
        (forget_dead_replicas drops it later) for takers to read its fence_seconds, to
        which the rest of the lease is added: our processes run on until our fence
        deadline, which was set from the lease's old end."""
        remaining = func.greatest(0, func.extract("epoch", replicas.c.expires_at - func.now()))
        statement = (
            update(replicas)
            .where(replicas.c.replica_id == self.replica_id)
            .values(expires_at=func.now(), fence_seconds=replicas.c.fence_seconds + remaining)
        )
        async with self.engine.begin() as conn:
            await conn.execute(statement)

    # --- ownership --------------------------------------------------------------------

    async def take_over(self, limit: int) -> tuple[list[str], float]:
        """Become the owner of up to `limit` jobs whose owner's lease has expired (or who
        has none). SKIP LOCKED lets replicas sweeping at the same time split them. Also
        returns the largest `fence_seconds` of their owners (a released or forgotten
        replica's row is gone: this replica's own then).

        The live replicas are read again once the candidate rows are locked: a replica
        that (re)registered in between keeps its jobs, and one that registers later
        finds them taken, since its own read of its jobs (`owned_jobs`, `owned_ids`)
        waits for these locks.

        The condition is on the owner column alone, against the live replicas read
        first. Written as a join or EXISTS against `replicas`, it would be unsafe: when
        a row another sweeper just took is locked, PostgreSQL re-checks the condition
        on the new row version but with the *original* rows of the other tables (none,
        for an anti-join), so the taken job still qualifies and is taken twice; nor may
        the SELECT be a subquery of the UPDATE, which PostgreSQL may evaluate more than
        once (tests/replicas/test_pg_store.py caught both)."""
        alive = select(replicas.c.replica_id).where(replicas.c.expires_at > func.now())
        async with self.engine.begin() as conn:
            live = {row[0] for row in await conn.execute(alive)}
            candidates = (
                select(job_owners.c.job_id, job_owners.c.owner)
                .where(job_owners.c.owner.not_in([*live, self.replica_id]))
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            locked = (await conn.execute(candidates)).all()
            if not locked:
                return [], 0.0
            live = {row[0] for row in await conn.execute(alive)}
            picked = [job_id for job_id, owner in locked if owner not in live]
            owners = {owner for job_id, owner in locked if owner not in live}
            fence = await conn.scalar(
                select(func.max(replicas.c.fence_seconds)).where(replicas.c.replica_id.in_(owners))
            )
            if picked:
                await conn.execute(
                    update(job_owners)
                    .where(job_owners.c.job_id.in_(picked))
                    .values(owner=self.replica_id)
                )
        return picked, float(fence) if fence is not None else self.fence_seconds

    async def forget_dead_replicas(self) -> None:
        """Drop the lease rows of replicas long gone that own nothing any more."""
        owns = exists().where(job_owners.c.owner == replicas.c.replica_id)
        statement = delete(replicas).where(
            replicas.c.expires_at < func.now() - text("interval '1 hour'"), ~owns
        )
        async with self.engine.begin() as conn:
            await conn.execute(statement)

    async def claim_unowned(self) -> list[str]:
        """Own the unfinished jobs that have no owner row (written before the database
        served replicas)."""
        unowned = select(jobs.c.job_id, literal(self.replica_id)).where(
            jobs.c.state.not_in(_FINAL),
            ~exists().where(job_owners.c.job_id == jobs.c.job_id),
        )
        statement = (
            pg_insert(job_owners)
            .from_select(["job_id", "owner"], unowned)
            .on_conflict_do_nothing()
            .returning(job_owners.c.job_id)
        )
        async with self.engine.begin() as conn:
            return [row[0] for row in await conn.execute(statement)]

    async def owned_ids(self) -> set[str]:
        """The jobs this replica owns; waits for takeovers in progress (see take_over)."""
        query = (
            select(job_owners.c.job_id)
            .where(job_owners.c.owner == self.replica_id)
            .with_for_update()
        )
        async with self.engine.begin() as conn:
            return {row[0] for row in await conn.execute(query)}

    async def owned_jobs(self, job_ids: Iterable[str] | None = None) -> list[Job]:
        """The jobs this replica owns (all, or those among `job_ids`). Their owner rows
        are locked first, which waits for a takeover in progress (see take_over); the
        jobs are then read where the owner is still this replica, so a job another
        replica owns by now is left out."""
        mine = job_owners.c.owner == self.replica_id
        if job_ids is not None:
            mine = and_(mine, job_owners.c.job_id.in_(list(job_ids)))
        lock = select(job_owners.c.job_id).where(mine).with_for_update()
        owned = jobs.c.job_id.in_(select(job_owners.c.job_id).where(mine))

        def read(conn: Connection) -> list[Job]:
            conn.execute(lock)
            return load_jobs(conn, owned)

        async with self.engine.begin() as conn:
            return await conn.run_sync(read)

    async def owner_of(self, job_id: str) -> str | None:
        query = select(job_owners.c.owner).where(job_owners.c.job_id == job_id)
        async with self.engine.connect() as conn:
            return await conn.scalar(query)

    # --- the event log ----------------------------------------------------------------

    async def events_between(
        self, after: int, upto: int, limit: int, docs: bool = True
    ) -> list[EventRow]:
        """Events with after < resource_version <= upto, in order, at most `limit`;
        without the changes they record (the jobs) unless `docs`."""
        if not docs:
            query = _EVENTS_BETWEEN_BARE.params(after=after, upto=upto, limit=limit)
            async with self.engine.connect() as conn:
                rows = (await conn.execute(query)).all()
            return [EventRow(row[0], row[1], row[2], row[3], None) for row in rows]
        query = _EVENTS_BETWEEN.params(after=after, upto=upto, limit=limit)

        def read(conn: Connection) -> list[EventRow]:
            rows = conn.execute(query).all()
            return [
                EventRow(row[0], row[1], row[2], row[3], change)
                for row, change in zip(rows, replay(conn, rows, after=after), strict=True)
            ]

        async with self.engine.connect() as conn:
            return await conn.run_sync(read)

    async def latest(self) -> int:
        """The commit horizon: everything at or below it is final."""
        async with self.engine.connect() as conn:
            return await conn.run_sync(self.hooks.horizon)


_BETWEEN = and_(
    events.c.resource_version > bindparam("after"),
    events.c.resource_version <= bindparam("upto"),
)
_EVENTS_BETWEEN = (
    select(*EVENT_COLUMNS)
    .where(_BETWEEN)
    .order_by(events.c.resource_version)
    .limit(bindparam("limit"))
)
_EVENTS_BETWEEN_BARE = (
    select(events.c.resource_version, events.c.object_id, events.c.type, events.c.version)
    .where(_BETWEEN)
    .order_by(events.c.resource_version)
    .limit(bindparam("limit"))
)


class PgListener:
    """A connection of its own that LISTENs on the event channel and hands each payload
    ("<replica> <max rv>") to `on_notify`. When the connection drops it reconnects and
    calls `on_reconnect`, since notifications sent in between are lost (the caller
    then reads the log's end instead)."""

    def __init__(
        self,
        dsn: str,
        on_notify: Callable[[str, int], None],
        on_reconnect: Callable[[], None],
        *,
        retry_seconds: float = 1.0,
    ) -> None:
        self._dsn = dsn
        self._on_notify = on_notify
        self._on_reconnect = on_reconnect
        self._retry = retry_seconds
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._connect()
        self._task = asyncio.create_task(self._watch(), name="dagwire pg listener")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._conn is not None and not self._conn.is_closed():
            with contextlib.suppress(Exception):
                await self._conn.close(timeout=2)
        self._conn = None

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self._dsn, timeout=10)
        await conn.add_listener(CHANNEL, self._received)
        self._conn = conn

    def _received(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        origin, _, version = str(payload).rpartition(" ")
        with contextlib.suppress(ValueError):
            self._on_notify(origin, int(version))

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._retry)
            if self._conn is not None and not self._conn.is_closed():
                continue
            try:
                await self._connect()
            except (OSError, asyncpg.PostgresError, TimeoutError) as error:
                log.warning("LISTEN connection lost; retrying: %s", error)
                continue
            log.info("LISTEN connection re-established")
            self._on_reconnect()
