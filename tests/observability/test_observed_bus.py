"""The bus as /metrics sees it: events published, subscribers, and the backlog queued
for them (read from the real in-process bus)."""

from __future__ import annotations

from dagwire.server.bus.memory import InProcessBus
from dagwire.server.engine import reducer
from dagwire.server.engine.model import ChangeType, JobChange
from dagwire.server.observability.bus import ObservedBus
from dagwire.server.observability.metrics import ServerMetrics
from tests.engine.factories import T0, spec, task


def change(resource_version: int) -> JobChange:
    job = reducer.create_job(spec(task("a")), T0, frozenset()).job
    return JobChange(resource_version, ChangeType.MODIFIED, job)


def observed() -> tuple[ObservedBus, ServerMetrics]:
    metrics = ServerMetrics()
    return ObservedBus(InProcessBus(capacity=10), metrics), metrics


def test_the_queue_depth_is_what_subscribers_have_not_taken_yet() -> None:
    bus, _ = observed()
    first, second = bus.subscribe(), bus.subscribe()
    for version in (1, 2, 3):
        bus.publish(change(version))
    assert bus.queue_depth == 6
    second.close()
    assert bus.queue_depth == 3
    first.close()


async def test_taking_an_event_lowers_the_queue_depth() -> None:
    bus, _ = observed()
    subscription = bus.subscribe()
    bus.publish(change(1))
    bus.publish(change(2))
    assert (await subscription.next()).resource_version == 1
    assert bus.queue_depth == 1
    subscription.close()


def test_a_closed_subscription_is_no_longer_a_watcher() -> None:
    bus, _ = observed()
    subscription = bus.subscribe()
    assert bus.subscriber_count == 1
    subscription.close()
    assert (bus.subscriber_count, bus.queue_depth) == (0, 0)


def test_published_events_are_counted() -> None:
    bus, metrics = observed()
    bus.publish(change(1))
    bus.publish(change(2))
    assert metrics.registry.get_sample_value("dagwire_bus_events_published_total") == 2


def test_the_gauges_are_read_at_scrape_time() -> None:
    bus, metrics = observed()
    subscription = bus.subscribe()
    bus.publish(change(1))
    assert metrics.registry.get_sample_value("dagwire_watchers") == 1
    assert metrics.registry.get_sample_value("dagwire_bus_queue_depth") == 1
    subscription.close()
