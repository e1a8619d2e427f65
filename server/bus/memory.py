"""The in-process event bus: bounded per-subscriber queues, fan-out without blocking."""

from __future__ import annotations

import asyncio

from dagwire.server.bus.base import BusClosed, SubscriberOverflow
from dagwire.server.engine.model import JobChange


class _Overflowed:
    """Queue sentinel: the subscriber was cut off."""


class _Closed:
    """Queue sentinel: the bus shut down."""


_OVERFLOWED = _Overflowed()
_CLOSED = _Closed()


class MemorySubscription:
    def __init__(self, bus: InProcessBus, capacity: int) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[JobChange | _Overflowed | _Closed] = asyncio.Queue(capacity)
        self.cut_off = False

    def offer(self, change: JobChange) -> None:
        if self.cut_off:
            return
        try:
            self._queue.put_nowait(change)
        except asyncio.QueueFull:
            # Bounded memory: drop the backlog and tell the subscriber to resume instead.
            self._end_with(_OVERFLOWED)

    def end(self) -> None:
        if not self.cut_off:
            self._end_with(_CLOSED)

    def _end_with(self, sentinel: _Overflowed | _Closed) -> None:
        self.cut_off = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(sentinel)

    async def next(self) -> JobChange:
        item = await self._queue.get()
        if isinstance(item, _Closed):
            raise BusClosed("the server is shutting down")
        if isinstance(item, _Overflowed):
            raise SubscriberOverflow(
                f"this watch fell more than {self._queue.maxsize} events behind"
            )
        return item

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    def close(self) -> None:
        self._bus.unsubscribe(self)


class InProcessBus:
    """Fans committed changes out to every subscriber of this process."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._subscribers: set[MemorySubscription] = set()

    def subscribe(self) -> MemorySubscription:
        subscription = MemorySubscription(self, self._capacity)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: MemorySubscription) -> None:
        self._subscribers.discard(subscription)

    def publish(self, change: JobChange) -> None:
        for subscription in self._subscribers:
            subscription.offer(change)

    def close(self) -> None:
        for subscription in self._subscribers:
            subscription.end()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
