"""What this node owes its peers and what it has taken from them, kept on disk
(<data dir>/federation.db, SQLite) so that a restart loses nothing:

- the outbox: messages per peer, each numbered by SQLite (AUTOINCREMENT never reuses a
  number), sent oldest first and dropped once the peer acknowledged them;
- marks: per peer, the highest sequence number applied from it (messages at or below
  it are duplicates);
- endpoints: where each party's process of each task listens (its node allocated it);
- parked messages: a peer's messages that came before what they follow from (a
  decision about a job not carried here yet, a report about an attempt not begun here
  yet: what begins it is still on its way from another node), applied once it came.

Bounded: a peer's queue holds at most `bound` messages. At the bound enqueue raises
QueueFull: a new job with that peer is refused, and a job whose message does not fit
is failed at this node (node.py). Marks are one row per peer; endpoints a few rows per
task of a job, dropped once the job can never run again; parked messages at most
MAX_PARKED per job and for at most MAX_PARKED_JOBS jobs (beyond, a message is dropped
and logged: the job's deadlines then fail it, visibly), dropped with the job too.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " peer TEXT NOT NULL, job_id TEXT NOT NULL, body BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS marks (peer TEXT PRIMARY KEY, seq INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS endpoints (job_id TEXT NOT NULL, task_id TEXT NOT NULL,"
    " domain_id TEXT NOT NULL, endpoint TEXT NOT NULL,"
    " PRIMARY KEY (job_id, task_id, domain_id))",
    "CREATE TABLE IF NOT EXISTS parked (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " job_id TEXT NOT NULL, origin TEXT NOT NULL, body BLOB NOT NULL)",
)
MAX_PARKED = 256
MAX_PARKED_JOBS = 1_000


class QueueFull(Exception):
    """A peer's queue is at its bound."""


@dataclass(frozen=True, slots=True)
class Queued:
    """One message waiting for its peer: its sequence number, job and encoded body."""

    seq: int
    job_id: str
    body: bytes


EndpointKey = tuple[str, str, str]  # (job_id, task_id, domain_id)


@dataclass(frozen=True, slots=True)
class Parked:
    """A peer's message kept until what it follows from has come."""

    id: int
    origin: str
    body: bytes


class Outbox:
    def __init__(self, path: Path, bound: int) -> None:
        self._path = path
        self.bound = bound
        self._db: aiosqlite.Connection | None = None
        self._queues: dict[str, deque[Queued]] = {}
        self._marks: dict[str, int] = {}
        self.endpoints: dict[EndpointKey, str] = {}
        self._parked: dict[str, list[Parked]] = {}
        self._write = asyncio.Lock()
        # Woken when a peer's queue gets a message.
        self.arrived: dict[str, asyncio.Event] = {}

    async def open(self) -> None:
        self._db = await aiosqlite.connect(self._path)
        for statement in _SCHEMA:
            await self._db.execute(statement)
        await self._db.commit()
        async with self._db.execute(
            "SELECT seq, peer, job_id, body FROM outbox ORDER BY seq"
        ) as rows:
            async for seq, peer, job_id, body in rows:
                self._queue(peer).append(Queued(seq, job_id, body))
        async with self._db.execute("SELECT peer, seq FROM marks") as rows:
            async for peer, seq in rows:
                self._marks[peer] = seq
        async with self._db.execute(
            "SELECT job_id, task_id, domain_id, endpoint FROM endpoints"
        ) as rows:
            async for job_id, task_id, domain_id, endpoint in rows:
                self.endpoints[(job_id, task_id, domain_id)] = endpoint
        async with self._db.execute(
            "SELECT id, job_id, origin, body FROM parked ORDER BY id"
        ) as rows:
            async for row_id, job_id, origin, body in rows:
                self._parked.setdefault(job_id, []).append(Parked(row_id, origin, body))

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    def _queue(self, peer: str) -> deque[Queued]:
        return self._queues.setdefault(peer, deque())

    def event(self, peer: str) -> asyncio.Event:
        return self.arrived.setdefault(peer, asyncio.Event())

    def room(self, peer: str) -> int:
        return self.bound - len(self._queue(peer))

    def pending(self, peer: str, limit: int) -> list[Queued]:
        queue = self._queue(peer)
        return [queue[i] for i in range(min(limit, len(queue)))]

    def pending_jobs(self, peer: str) -> set[str]:
        return {queued.job_id for queued in self._queue(peer)}

    async def enqueue(self, entries: list[tuple[str, str, bytes]]) -> None:
        """Store (peer, job_id, body) messages, numbered in order, then wake their
        senders; QueueFull (and nothing stored) if any peer's queue is at its bound."""
        db = self._connection()
        async with self._write:
            needed: dict[str, int] = {}
            for peer, _, _ in entries:
                needed[peer] = needed.get(peer, 0) + 1
            for peer, count in needed.items():
                if self.room(peer) < count:
                    raise QueueFull(
                        f"the queue to peer {peer!r} holds {len(self._queue(peer))} undelivered "
                        f"messages, its bound (--peer-queue-bound {self.bound})"
                    )
            added = []
            for peer, job_id, body in entries:
                cursor = await db.execute(
                    "INSERT INTO outbox (peer, job_id, body) VALUES (?, ?, ?)", (peer, job_id, body)
                )
                assert cursor.lastrowid is not None
                added.append((peer, Queued(cursor.lastrowid, job_id, body)))
            await db.commit()
        for peer, queued in added:
            self._queue(peer).append(queued)
            self.event(peer).set()

    async def acknowledge(self, peer: str, through: int) -> None:
        queue = self._queue(peer)
        if not queue or queue[0].seq > through:
            return
        db = self._connection()
        async with self._write:
            await db.execute("DELETE FROM outbox WHERE peer = ? AND seq <= ?", (peer, through))
            await db.commit()
        while queue and queue[0].seq <= through:
            queue.popleft()

    def mark(self, peer: str) -> int:
        return self._marks.get(peer, 0)

    async def set_mark(self, peer: str, seq: int) -> None:
        if seq <= self.mark(peer):
            return
        db = self._connection()
        async with self._write:
            await db.execute(
                "INSERT INTO marks (peer, seq) VALUES (?, ?) "
                "ON CONFLICT (peer) DO UPDATE SET seq = excluded.seq",
                (peer, seq),
            )
            await db.commit()
        self._marks[peer] = seq

    async def save_endpoints(self, entries: dict[EndpointKey, str]) -> None:
        fresh = {key: value for key, value in entries.items() if key not in self.endpoints}
        if not fresh:
            return
        db = self._connection()
        async with self._write:
            await db.executemany(
                "INSERT OR IGNORE INTO endpoints VALUES (?, ?, ?, ?)",
                [(*key, value) for key, value in fresh.items()],
            )
            await db.commit()
        self.endpoints.update(fresh)

    async def drop_endpoints(self, job_id: str) -> None:
        db = self._connection()
        async with self._write:
            await db.execute("DELETE FROM endpoints WHERE job_id = ?", (job_id,))
            await db.commit()
        for key in [key for key in self.endpoints if key[0] == job_id]:
            del self.endpoints[key]

    def parked(self, job_id: str) -> list[Parked]:
        """The job's parked messages, oldest first."""
        return list(self._parked.get(job_id, ()))

    async def park(self, job_id: str, origin: str, body: bytes) -> bool:
        """Keep a peer's message for later; False (nothing kept) at the bounds."""
        held = self._parked.get(job_id, [])
        if len(held) >= MAX_PARKED or (not held and len(self._parked) >= MAX_PARKED_JOBS):
            return False
        db = self._connection()
        async with self._write:
            cursor = await db.execute(
                "INSERT INTO parked (job_id, origin, body) VALUES (?, ?, ?)",
                (job_id, origin, body),
            )
            await db.commit()
        assert cursor.lastrowid is not None
        self._parked.setdefault(job_id, []).append(Parked(cursor.lastrowid, origin, body))
        return True

    async def unpark(self, job_id: str, ids: set[int] | None = None) -> None:
        """Forget the job's parked messages with these ids (None: all of them)."""
        held = self._parked.get(job_id)
        if not held:
            return
        gone = {entry.id for entry in held if ids is None or entry.id in ids}
        db = self._connection()
        async with self._write:
            await db.executemany("DELETE FROM parked WHERE id = ?", [(i,) for i in gone])
            await db.commit()
        kept = [entry for entry in held if entry.id not in gone]
        if kept:
            self._parked[job_id] = kept
        else:
            self._parked.pop(job_id, None)

    def _connection(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("the federation store is not open")
        return self._db
