"""The event bus contract: committed changes fanned out to live subscribers."""

from __future__ import annotations

from typing import Protocol

from dagwire.server.engine.model import JobChange


class SubscriberOverflow(Exception):
    """A subscriber fell too far behind and was cut off; it can resume from the last
    resource_version it received."""


class BusClosed(Exception):
    """The server is shutting down; watches end cleanly so clients reconnect elsewhere."""


class Subscription(Protocol):
    async def next(self) -> JobChange:
        """The next change, in resource_version order. Raises SubscriberOverflow when
        this subscriber was cut off and BusClosed when the bus shuts down."""
        ...

    def close(self) -> None: ...


class EventBus(Protocol):
    def subscribe(self) -> Subscription: ...

    def publish(self, change: JobChange) -> None:
        """Announce a committed change; never blocks."""
        ...

    def close(self) -> None:
        """End every subscription (they raise BusClosed once drained)."""
        ...

    @property
    def subscriber_count(self) -> int: ...
