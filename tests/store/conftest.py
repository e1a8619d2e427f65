"""The store under test, on every backend this machine has: SQLite always, PostgreSQL
when a server answers on 127.0.0.1:5432 (skipped with the reason otherwise)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dagwire.server.store.sql import SqlJobStore

PG_ADMIN_DSN = os.environ.get("DAGWIRE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


async def _create_pg_database() -> str:
    asyncpg = pytest.importorskip("asyncpg")
    try:
        admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError) as error:
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_DSN}: {error}")
    name = f"dagwire_test_{uuid.uuid4().hex[:12]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name


async def _drop_pg_database(name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlJobStore]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
        database = None
    else:
        database = await _create_pg_database()
        base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        url = f"{base}/{database}"
    store = SqlJobStore(url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()
        if database is not None:
            await _drop_pg_database(database)
