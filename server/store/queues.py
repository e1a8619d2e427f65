"""Queues, flavours and clusters on SQLAlchemy Core (async), beside the jobs on the
server's one engine.

Each is a row keyed by its name with a JSON document; a queue's row carries a version
for optimistic updates (two operators granting at once both land, one after the other)
and its grants inside the document (bounded by engine.queues.MAX_GRANTS). The tables
are new in this version of dagwire and created when missing; their version is kept
under their own key in schema_info, as the workflow stores do theirs (owners.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from dagwire.server.engine.queues import (
    Cluster,
    ClusterKind,
    Flavour,
    Grant,
    GrantKind,
    Queue,
    QueueStatus,
)
from dagwire.server.engine.quota import Resources
from dagwire.server.store.schema import SCHEMA_LOCK, schema_info

metadata = MetaData()
SCHEMA_KEY = "queues_schema"
QUEUES_SCHEMA = 1

queues = Table(
    "queues",
    metadata,
    Column("name", String(63), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("doc", Text, nullable=False),
)
flavours = Table(
    "flavours",
    metadata,
    Column("name", String(63), primary_key=True),
    Column("doc", Text, nullable=False),
)
clusters = Table(
    "clusters",
    metadata,
    Column("name", String(63), primary_key=True),
    Column("doc", Text, nullable=False),
)


class NameTaken(Exception):
    """An insert collided with a stored row of the same name."""


class SqlQueueStore:
    """Queues, flavours and clusters in the server's database. `engine` is the job
    store's AsyncEngine, or a function returning it (the store opens later)."""

    def __init__(self, engine: AsyncEngine | Callable[[], AsyncEngine]) -> None:
        self._engine = engine

    @property
    def engine(self) -> AsyncEngine:
        source = self._engine
        return source if isinstance(source, AsyncEngine) else source()

    async def open(self) -> None:
        async with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(SCHEMA_LOCK)
            await conn.run_sync(_create)

    # --- queues ----------------------------------------------------------------------

    async def insert_queue(self, queue: Queue) -> Queue:
        stored = replace(queue, version=1)
        await self._insert(queues, queue.name, _queue_doc(stored), version=1)
        return stored

    async def update_queue(self, queue: Queue, expected_version: int) -> Queue | None:
        """Replace the queue if its version is still `expected_version`; None if not."""
        stored = replace(queue, version=expected_version + 1)
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(queues)
                .where(queues.c.name == queue.name, queues.c.version == expected_version)
                .values(version=stored.version, doc=_queue_doc(stored))
            )
        return stored if result.rowcount == 1 else None

    async def get_queue(self, name: str) -> Queue | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(queues).where(queues.c.name == name))).first()
        return _queue(row.doc, row.version) if row is not None else None

    async def list_queues(self) -> list[Queue]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(queues).order_by(queues.c.name))).all()
        return [_queue(row.doc, row.version) for row in rows]

    async def delete_queue(self, name: str) -> bool:
        return await self._delete(queues, name)

    # --- flavours --------------------------------------------------------------------

    async def insert_flavour(self, flavour: Flavour) -> Flavour:
        doc = {"name": flavour.name, "size": _resources_doc(flavour.size)}
        await self._insert(flavours, flavour.name, _stamped(doc, flavour.create_time))
        return flavour

    async def list_flavours(self) -> list[Flavour]:
        return [_flavour(doc) for doc in await self._docs(flavours)]

    async def delete_flavour(self, name: str) -> bool:
        return await self._delete(flavours, name)

    # --- clusters --------------------------------------------------------------------

    async def insert_cluster(self, cluster: Cluster) -> Cluster:
        doc = {
            "name": cluster.name,
            "kind": cluster.kind.value,
            "address": cluster.address,
            "resources": _resources_doc(cluster.resources),
            "description": cluster.description,
        }
        await self._insert(clusters, cluster.name, _stamped(doc, cluster.create_time))
        return cluster

    async def list_clusters(self) -> list[Cluster]:
        return [_cluster(doc) for doc in await self._docs(clusters)]

    async def delete_cluster(self, name: str) -> bool:
        return await self._delete(clusters, name)

    # --- plumbing --------------------------------------------------------------------

    async def _insert(self, table: Table, name: str, doc: str, **extra: Any) -> None:
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(table).values(name=name, doc=doc, **extra))
        except IntegrityError:
            raise NameTaken(name) from None

    async def _delete(self, table: Table, name: str) -> bool:
        async with self.engine.begin() as conn:
            result = await conn.execute(delete(table).where(table.c.name == name))
        return bool(result.rowcount)

    async def _docs(self, table: Table) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(table.c.doc).order_by(table.c.name))).all()
        return [json.loads(row.doc) for row in rows]


def _create(conn: Any) -> None:
    schema_info.create(conn, checkfirst=True)
    stored = conn.scalar(select(schema_info.c.value).where(schema_info.c.key == SCHEMA_KEY))
    if stored is not None and int(stored) > QUEUES_SCHEMA:
        raise RuntimeError(
            f"the database has {SCHEMA_KEY} version {stored}, newer than this server's "
            f"{QUEUES_SCHEMA}; upgrade dagwire"
        )
    metadata.create_all(conn, checkfirst=True)
    if stored is None:
        conn.execute(insert(schema_info).values(key=SCHEMA_KEY, value=str(QUEUES_SCHEMA)))


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _stamped(doc: dict[str, Any], created: datetime) -> str:
    return json.dumps({**doc, "create_time": _time(created)}, sort_keys=True)


def _resources_doc(resources: Resources) -> dict[str, Any]:
    return {"cpu": resources.cpu, "mem": resources.mem, "scalar": dict(resources.scalar)}


def _resources(doc: dict[str, Any]) -> Resources:
    return Resources(
        int(doc["cpu"]), int(doc["mem"]), {k: int(v) for k, v in doc["scalar"].items()}
    )


def _queue_doc(queue: Queue) -> str:
    grants = sorted((g.kind.value, g.name) for g in queue.grants)
    doc = {
        "name": queue.name,
        "max": _resources_doc(queue.max),
        "min": _resources_doc(queue.min),
        "status": queue.status.value,
        "grants": grants,
        "update_time": _time(queue.update_time),
    }
    return _stamped(doc, queue.create_time)


def _queue(text: str, version: int) -> Queue:
    doc = json.loads(text)
    return Queue(
        name=doc["name"],
        max=_resources(doc["max"]),
        min=_resources(doc["min"]),
        status=QueueStatus(doc["status"]),
        grants=frozenset(Grant(GrantKind(kind), name) for kind, name in doc["grants"]),
        create_time=_parse_time(doc["create_time"]),
        update_time=_parse_time(doc["update_time"]),
        version=version,
    )


def _flavour(doc: dict[str, Any]) -> Flavour:
    return Flavour(doc["name"], _resources(doc["size"]), _parse_time(doc["create_time"]))


def _cluster(doc: dict[str, Any]) -> Cluster:
    return Cluster(
        name=doc["name"],
        kind=ClusterKind(doc["kind"]),
        address=doc["address"],
        resources=_resources(doc["resources"]),
        create_time=_parse_time(doc["create_time"]),
        description=doc.get("description", ""),
    )
