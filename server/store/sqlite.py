"""SQLite specifics of the store: connection settings, transactions that begin where
SQLAlchemy begins them, and the threads that run whole transactions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

T = TypeVar("T")

# The execution options of an engine whose transactions write (see sqlite_transactions).
_WRITES = "dagwire_writes"
WRITING = {_WRITES: True}


def enable_sqlite_wal(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # WAL lets readers proceed while the single writer commits; NORMAL sync survives a
    # process crash (only a power loss may drop the newest transactions).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Checkpoint every ~40 MB of WAL instead of 4 MB: a running job's rows are rewritten
    # on every change, and a longer WAL lets many rewrites of the same pages reach the
    # database file as one.
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


def sqlite_transactions(engine: Engine) -> None:
    """Make `engine`'s transactions SQLite transactions; write through
    `engine.execution_options(**WRITING)`.

    The sqlite3 driver would begin a transaction only at the first INSERT, UPDATE or
    DELETE, so what a transaction read before its first write was read outside it: two
    concurrent read-then-write transactions (the next version number of a pipeline)
    both read the same value. Here every transaction begins where SQLAlchemy begins it
    (SQLAlchemy's documented recipe for pysqlite and aiosqlite). A write transaction
    begins IMMEDIATE, taking the write lock up front, so what it reads is still current
    when it writes; a read keeps a deferred BEGIN and never waits for a writer."""
    event.listen(engine, "connect", _manual_transactions)
    event.listen(engine, "begin", _begin)


class SqliteThreads:
    """Runs whole transactions on threads of their own with the synchronous sqlite3
    driver, the way aiosqlite runs each statement.

    Through SQLAlchemy and aiosqlite every statement costs four thread hops (cursor,
    execute, fetch, close; ~80 us each on a 2-core machine), so a job write of four
    statements spent most of its time hopping: ~2.5 ms before it wrote a byte, and a
    two-statement read about 1 ms. Here a transaction is one hop.

    The writer is one thread: SQLite has one writer at a time anyway. Its transactions
    begin IMMEDIATE, so the versions a transaction reads first are still current when
    it writes. Readers may be several; each read is one snapshot (a deferred BEGIN)."""

    def __init__(self, url: str, *, writing: bool, threads: int = 1) -> None:
        engine = create_engine(
            make_url(url).set(drivername="sqlite+pysqlite"),
            # A pooled connection may serve each of the threads in turn.
            connect_args={"check_same_thread": False},
            pool_size=threads,
        )
        event.listen(engine, "connect", enable_sqlite_wal)
        sqlite_transactions(engine)
        self._base = engine
        self._engine = engine.execution_options(**WRITING) if writing else engine
        role = "writer" if writing else "reader"
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix=f"dagwire-sqlite-{role}")

    async def run(self, body: Callable[[Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, self._run, body)

    def _run(self, body: Callable[[Connection], T]) -> T:
        with self._engine.begin() as conn:
            return body(conn)

    def close(self) -> None:
        self._threads.shutdown(wait=True)
        self._base.dispose()


def _manual_transactions(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # sqlite3 would otherwise begin its own transaction at the first write.
    dbapi_connection.isolation_level = None


def _begin(conn: Connection) -> None:
    conn.exec_driver_sql(
        "BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITES) else "BEGIN"
    )
