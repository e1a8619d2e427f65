"""Group commit: one writer applies every pending write in one transaction.

Under load many jobs change at once; writing each in its own transaction makes the
database round trips the bottleneck. The committer takes whatever is pending, writes
it as one batch, and announces the committed changes in resource_version order. Being
the only writer, it also keeps events reaching the bus in the order they were stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from dagwire.server.engine.errors import EngineError
from dagwire.server.engine.model import JobChange
from dagwire.server.store.base import JobStore, JobWrite

log = structlog.get_logger(__name__)

MAX_BATCH = 512


class GroupCommitter:
    def __init__(self, store: JobStore, announce: Callable[[JobChange], None]) -> None:
        self._store = store
        self._announce = announce
        self._pending: list[tuple[JobWrite, asyncio.Future[JobChange]]] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._writer = asyncio.create_task(self._run(), name="dagwire group commit")

    async def write(self, write: JobWrite) -> JobChange:
        """Store the write; returns its change once committed and announced, or raises
        the domain error that refused it."""
        if self._writer is None or self._writer.done():
            raise RuntimeError("the committer is not running")
        future: asyncio.Future[JobChange] = asyncio.get_running_loop().create_future()
        self._pending.append((write, future))
        self._wake.set()
        return await future

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        for _, future in self._pending:
            future.cancel()
        self._pending.clear()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                await self._commit(batch)

    async def _commit(self, batch: list[tuple[JobWrite, asyncio.Future[JobChange]]]) -> None:
        try:
            results = await self._store.apply_writes([write for write, _ in batch])
        except Exception as error:  # the whole transaction failed: tell every writer
            log.error("group commit failed", size=len(batch), error=repr(error))
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if isinstance(result, EngineError):
                if not future.done():
                    future.set_exception(result)
                continue
            self._announce(result)
            if not future.done():
                future.set_result(result)
