"""Users on SQLAlchemy Core (async), beside the jobs on the server's one engine.

One row per user, keyed by its name without case (engine.users.user_key), so that two
names differing in case collide in the database itself. The table is new in this version
of dagwire and created when missing; its version is kept under its own key in
schema_info, as the queue and workflow stores do theirs. `tokens_valid_after` is kept in
microseconds since the epoch: a token carries the stamp it was issued under and is
refused once the stamp has moved (engine.users.User).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
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

from dagwire.server.engine.users import User, from_micros, micros, user_key
from dagwire.server.store.schema import SCHEMA_LOCK, schema_info

metadata = MetaData()
SCHEMA_KEY = "users_schema"
USERS_SCHEMA = 1

users = Table(
    "users",
    metadata,
    Column("user_key", String(16), primary_key=True),
    Column("name", String(16), nullable=False),
    # NULL: root, the operator.
    Column("domain", String(63), nullable=True),
    Column("password_hash", Text, nullable=False),
    Column("create_time", BigInteger, nullable=False),
    Column("tokens_valid_after", BigInteger, nullable=False),
)


class UserExists(Exception):
    """An insert collided with a stored user of the same name (without case)."""


class SqlUserStore:
    """Users in the server's database. `engine` is the job store's AsyncEngine, or a
    function returning it (the store opens later)."""

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

    async def insert(self, user: User) -> None:
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(users).values(**_row(user)))
        except IntegrityError:
            raise UserExists(user.name) from None

    async def get(self, name: str) -> User | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(users).where(users.c.user_key == user_key(name)))
            ).first()
        return _user(row) if row is not None else None

    async def set_password(self, name: str, password_hash: str, valid_after: datetime) -> bool:
        """Replace the user's hash and move its stamp; False when there is no such user."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(users)
                .where(users.c.user_key == user_key(name))
                .values(password_hash=password_hash, tokens_valid_after=micros(valid_after))
            )
        return bool(result.rowcount)

    async def delete(self, name: str) -> bool:
        async with self.engine.begin() as conn:
            result = await conn.execute(delete(users).where(users.c.user_key == user_key(name)))
        return bool(result.rowcount)

    async def page(self, after: str, limit: int) -> list[User]:
        """Up to `limit` users whose key sorts after `after`, by key."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(users)
                    .where(users.c.user_key > after)
                    .order_by(users.c.user_key)
                    .limit(limit)
                )
            ).all()
        return [_user(row) for row in rows]


def _row(user: User) -> dict[str, Any]:
    return {
        "user_key": user.key,
        "name": user.name,
        "domain": user.domain,
        "password_hash": user.password_hash,
        "create_time": micros(user.create_time),
        "tokens_valid_after": micros(user.tokens_valid_after),
    }


def _user(row: Any) -> User:
    return User(
        name=row.name,
        domain=row.domain,
        password_hash=row.password_hash,
        create_time=from_micros(row.create_time),
        tokens_valid_after=from_micros(row.tokens_valid_after),
    )


def _create(conn: Any) -> None:
    schema_info.create(conn, checkfirst=True)
    stored = conn.scalar(select(schema_info.c.value).where(schema_info.c.key == SCHEMA_KEY))
    if stored is not None and int(stored) > USERS_SCHEMA:
        raise RuntimeError(
            f"the database has {SCHEMA_KEY} version {stored}, newer than this server's "
            f"{USERS_SCHEMA}; upgrade dagwire"
        )
    metadata.create_all(conn, checkfirst=True)
    if stored is None:
        conn.execute(insert(schema_info).values(key=SCHEMA_KEY, value=str(USERS_SCHEMA)))
