"""Schedules on SQLAlchemy Core (async), beside the jobs on the server's one engine.

A schedule is stored as a JSON document plus the columns it is looked up by. The store
knows nothing of cron: it keeps rows, checks versions and answers queries; the workflow
room turns rows into schedules. Times in columns are fixed-width UTC strings
(`2024-01-02T03:04:05.000000Z`), so that they compare as text the same way on SQLite
and PostgreSQL. Every schedule has its owner domain (owners.py): names and request ids
are unique per owner, and reads name the owner they may see.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from dagwire.server.store.owners import OWNER, owner_column, upgrade_owners
from dagwire.server.store.schema import SCHEMA_LOCK

metadata = MetaData()
SCHEMA_KEY = "schedules_schema"  # this store's version in schema_info (owners.py)

schedules = Table(
    "schedules",
    metadata,
    Column("schedule_id", String(64), primary_key=True),
    Column("name", String(253), nullable=False),
    Column("username", String(253), nullable=False),
    Column("pipeline_id", String(253), nullable=False, index=True),
    Column("pipeline_version_id", String(253), nullable=False),
    Column("status", String(16), nullable=False),
    Column("next_run_time", String(32), nullable=True),
    Column("create_time", String(32), nullable=False),
    # NULL when not given: both databases allow many NULLs under a unique index.
    Column("request_id", String(253), nullable=True),
    Column("version", Integer, nullable=False),
    Column("doc", Text, nullable=False),
    owner_column(index=False),
    Index("uq_schedules_owner_request_id", OWNER, "request_id", unique=True),
    Index("uq_schedules_owner_username_name", OWNER, "username", "name", unique=True),
    Index("ix_schedules_due", "status", "next_run_time"),
    Index("ix_schedules_order", "create_time", "schedule_id"),
)

ACTIVE = "active"
FILTER_COLUMNS = frozenset(
    {"schedule_id", "username", "pipeline_id", "pipeline_version_id", "name", "status"}
)


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    """One stored schedule: its lookup columns and its whole document."""

    schedule_id: str
    name: str
    username: str
    pipeline_id: str
    pipeline_version_id: str
    status: str
    next_run_time: datetime | None
    create_time: datetime
    doc: Mapping[str, Any]
    request_id: str = ""
    version: int = 0
    owner: str = ""


class ScheduleConflict(Exception):
    """An insert collided with a stored schedule on `field` (schedule_id, request_id,
    or name for the same username)."""

    def __init__(self, field: str) -> None:
        super().__init__(f"a schedule with this {field} exists")
        self.field = field


def encode_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def decode_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class SqlScheduleStore:
    """Schedules in the server's database. `engine` is the AsyncEngine the job store
    opened (`SqlJobStore.engine`), or a function returning it, so that the store can be
    built before the job store is open."""

    def __init__(self, engine: AsyncEngine | Callable[[], AsyncEngine]) -> None:
        self._engine = engine

    @property
    def engine(self) -> AsyncEngine:
        source = self._engine
        return source if isinstance(source, AsyncEngine) else source()

    async def open(self) -> None:
        """Create the table and its indexes if they are missing, or upgrade the table an
        older dagwire wrote (owners.py)."""
        async with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(SCHEMA_LOCK)
            await conn.run_sync(
                upgrade_owners,
                SCHEMA_KEY,
                [schedules],
                {"schedules": ["schedules_request_id_key", "uq_schedules_username_name"]},
            )

    async def insert(self, row: ScheduleRow) -> ScheduleRow:
        """Store a new schedule at version 1. Raises ScheduleConflict."""
        stored = replace(row, version=1)
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(schedules).values(**_columns(stored)))
        except IntegrityError:
            raise ScheduleConflict(await self._conflicting_field(row)) from None
        return stored

    async def _conflicting_field(self, row: ScheduleRow) -> str:
        if await self.get(row.schedule_id) is not None:
            return "schedule_id"
        if row.request_id and await self.find_by_request_id(row.owner, row.request_id):
            return "request_id"
        return "name"

    async def update(self, row: ScheduleRow, expected_version: int) -> ScheduleRow | None:
        """Replace a schedule if its stored version is still `expected_version`; None
        when it changed meanwhile or is gone."""
        stored = replace(row, version=expected_version + 1)
        values = _columns(stored)
        del values["schedule_id"]
        statement = (
            update(schedules)
            .where(
                schedules.c.schedule_id == row.schedule_id,
                schedules.c.version == expected_version,
            )
            .values(**values)
        )
        async with self.engine.begin() as conn:
            result = await conn.execute(statement)
        return stored if result.rowcount == 1 else None

    async def delete(self, schedule_id: str) -> bool:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                delete(schedules).where(schedules.c.schedule_id == schedule_id)
            )
        return bool(result.rowcount)

    async def get(self, schedule_id: str) -> ScheduleRow | None:
        rows = await self._select(schedules.c.schedule_id == schedule_id)
        return rows[0] if rows else None

    async def find_by_request_id(self, owner: str, request_id: str) -> ScheduleRow | None:
        rows = await self._select(schedules.c[OWNER] == owner, schedules.c.request_id == request_id)
        return rows[0] if rows else None

    async def find_by_name(self, owner: str, username: str, name: str) -> ScheduleRow | None:
        rows = await self._select(
            schedules.c[OWNER] == owner,
            schedules.c.username == username,
            schedules.c.name == name,
        )
        return rows[0] if rows else None

    async def page(
        self,
        filters: Mapping[str, str],
        after: tuple[datetime, str] | None,
        limit: int,
        owner: str | None = None,
    ) -> list[ScheduleRow]:
        """Oldest first (create_time, then id); each filter column must equal its value;
        `after` is the (create_time, schedule_id) the previous page ended with; `owner`
        None pages every domain's."""
        unknown = set(filters) - FILTER_COLUMNS
        if unknown:
            raise ValueError(f"cannot filter schedules on {sorted(unknown)}")
        conditions = [schedules.c[key] == value for key, value in filters.items()]
        if owner is not None:
            conditions.append(schedules.c[OWNER] == owner)
        if after is not None:
            time_text, schedule_id = encode_time(after[0]), after[1]
            conditions.append(
                or_(
                    schedules.c.create_time > time_text,
                    and_(
                        schedules.c.create_time == time_text,
                        schedules.c.schedule_id > schedule_id,
                    ),
                )
            )
        return await self._select(*conditions, limit=limit)

    async def due(self, now: datetime, limit: int = 1000) -> list[ScheduleRow]:
        """Active schedules whose next tick is at or before `now`, most overdue first."""
        query = (
            _SELECT.where(
                schedules.c.status == ACTIVE,
                schedules.c.next_run_time.is_not(None),
                schedules.c.next_run_time <= encode_time(now),
            )
            .order_by(schedules.c.next_run_time, schedules.c.schedule_id)
            .limit(limit)
        )
        return await self._rows(query)

    async def next_run_time_after(self, moment: datetime) -> datetime | None:
        """The earliest tick of an active schedule after `moment`, if any."""
        query = select(func.min(schedules.c.next_run_time)).where(
            schedules.c.status == ACTIVE, schedules.c.next_run_time > encode_time(moment)
        )
        async with self.engine.connect() as conn:
            value = await conn.scalar(query)
        return None if value is None else decode_time(value)

    async def _select(self, *conditions: Any, limit: int | None = None) -> list[ScheduleRow]:
        query = _SELECT.where(*conditions).order_by(
            schedules.c.create_time, schedules.c.schedule_id
        )
        if limit is not None:
            query = query.limit(limit)
        return await self._rows(query)

    async def _rows(self, query: Any) -> list[ScheduleRow]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_row(row) for row in rows]


_SELECT = select(schedules)


def _columns(row: ScheduleRow) -> dict[str, Any]:
    return {
        "schedule_id": row.schedule_id,
        "name": row.name,
        "username": row.username,
        "pipeline_id": row.pipeline_id,
        "pipeline_version_id": row.pipeline_version_id,
        "status": row.status,
        "next_run_time": None if row.next_run_time is None else encode_time(row.next_run_time),
        "create_time": encode_time(row.create_time),
        "request_id": row.request_id or None,
        "version": row.version,
        "doc": json.dumps(row.doc, separators=(",", ":"), sort_keys=True),
        OWNER: row.owner,
    }


def _row(row: Any) -> ScheduleRow:
    return ScheduleRow(
        schedule_id=row.schedule_id,
        name=row.name,
        username=row.username,
        pipeline_id=row.pipeline_id,
        pipeline_version_id=row.pipeline_version_id,
        status=row.status,
        next_run_time=None if row.next_run_time is None else decode_time(row.next_run_time),
        create_time=decode_time(row.create_time),
        doc=json.loads(row.doc),
        request_id=row.request_id or "",
        version=row.version,
        owner=row.owner_domain,
    )
