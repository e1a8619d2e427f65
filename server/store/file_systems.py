"""Registered file systems (workflow.fs_registry), in the workflow store's database:
one row per (owner, name). Every read names the owner, so a tenant never reads another
domain's row."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from dagwire.server.engine.catalog import FileSystem
from dagwire.server.store.owners import OWNER
from dagwire.server.store.sql import SqlJobStore
from dagwire.server.store.workflow import file_systems


class FileSystemNameTaken(Exception):
    """The owner already has a file system of that name."""


class SqlFileSystems:
    def __init__(self, store: SqlJobStore) -> None:
        self._store = store  # the database's engines (the workflow store made the table)

    async def insert(self, fs: FileSystem) -> None:
        try:
            async with self._store.writes.begin() as conn:
                await conn.execute(insert(file_systems).values(_row(fs)))
        except IntegrityError as error:
            raise FileSystemNameTaken(fs.name) from error

    async def get(self, owner: str, name: str) -> FileSystem | None:
        async with self._store.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(file_systems).where(
                        file_systems.c[OWNER] == owner, file_systems.c.name == name
                    )
                )
            ).first()
        return _file_system(row) if row is not None else None

    async def list(self, owner: str) -> list[FileSystem]:
        async with self._store.engine.connect() as conn:
            rows = await conn.execute(
                select(file_systems)
                .where(file_systems.c[OWNER] == owner)
                .order_by(file_systems.c.name)
            )
            return [_file_system(row) for row in rows]

    async def count(self, owner: str) -> int:
        async with self._store.engine.connect() as conn:
            counted = await conn.scalar(
                select(func.count()).select_from(file_systems).where(file_systems.c[OWNER] == owner)
            )
        return int(counted or 0)

    async def delete(self, owner: str, name: str) -> bool:
        async with self._store.writes.begin() as conn:
            result = await conn.execute(
                delete(file_systems).where(
                    file_systems.c[OWNER] == owner, file_systems.c.name == name
                )
            )
        return bool(result.rowcount)


def _row(fs: FileSystem) -> dict[str, Any]:
    return {
        "name": fs.name,
        "url": fs.url,
        "properties": json.dumps(dict(fs.properties), sort_keys=True),
        "username": fs.username,
        "create_time": fs.create_time.isoformat(),
        OWNER: fs.owner,
    }


def _file_system(row: Any) -> FileSystem:
    return FileSystem(
        name=row.name,
        url=row.url,
        properties=json.loads(row.properties),
        username=row.username,
        create_time=datetime.fromisoformat(row.create_time),
        owner=row.owner_domain,
    )
