"""An EventBus decorator that makes the bus observable: events published, watchers
connected and events queued for them, read at scrape time.

The bus contract has no way to ask for its backlog, so the decorator keeps the
subscriptions it hands out and asks each for its `depth`, which the in-process bus's
subscriptions report. (A `queue_depth` on the bus itself would make this a plain
gauge; until then the composition root wraps the bus in this.)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from dagwire.server.bus.base import EventBus, Subscription
from dagwire.server.engine.model import JobChange
from dagwire.server.observability.metrics import ServerMetrics


@runtime_checkable
class _Backlogged(Protocol):
    @property
    def depth(self) -> int: ...


class _TrackedSubscription:
    def __init__(self, inner: Subscription, bus: ObservedBus) -> None:
        self._inner = inner
        self._bus = bus

    async def next(self) -> JobChange:
        return await self._inner.next()

    def close(self) -> None:
        self._bus.forget(self)
        self._inner.close()

    @property
    def depth(self) -> int:
        return self._inner.depth if isinstance(self._inner, _Backlogged) else 0


class ObservedBus:
    """Delegates everything to `inner`; counts published events and keeps track of the
    open subscriptions for `dagwire_watchers` and `dagwire_bus_queue_depth`."""

    def __init__(self, inner: EventBus, metrics: ServerMetrics) -> None:
        self._inner = inner
        self._open: set[_TrackedSubscription] = set()
        self._published = Counter(
            "dagwire_bus_events_published",
            "Job changes announced on the event bus.",
            registry=metrics.registry,
        )
        metrics.registry.register(_BusCollector(self))

    def subscribe(self) -> Subscription:
        subscription = _TrackedSubscription(self._inner.subscribe(), self)
        self._open.add(subscription)
        return subscription

    def forget(self, subscription: _TrackedSubscription) -> None:
        self._open.discard(subscription)

    def publish(self, change: JobChange) -> None:
        self._inner.publish(change)
        self._published.inc()

    def close(self) -> None:
        self._inner.close()

    @property
    def subscriber_count(self) -> int:
        return self._inner.subscriber_count

    @property
    def queue_depth(self) -> int:
        """Events queued for subscribers and not yet taken, summed over them."""
        return sum(subscription.depth for subscription in list(self._open))


class _BusCollector(Collector):
    def __init__(self, bus: ObservedBus) -> None:
        self._bus = bus

    def collect(self) -> Iterable[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "dagwire_watchers",
            "Watch streams connected (subscribers of the event bus).",
            value=self._bus.subscriber_count,
        )
        yield GaugeMetricFamily(
            "dagwire_bus_queue_depth",
            "Events queued for watch streams and not yet sent, summed over them.",
            value=self._bus.queue_depth,
        )
