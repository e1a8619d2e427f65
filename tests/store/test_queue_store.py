"""The queue store on SQLite and PostgreSQL: rows survive a reopen, names are unique,
updates check the version, deletes report whether anything was there."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from dagwire.server.engine.queues import (
    Cluster,
    ClusterKind,
    Flavour,
    Grant,
    GrantKind,
    Queue,
    QueueStatus,
)
from dagwire.server.engine.quota import Resources
from dagwire.server.store.queues import NameTaken, SqlQueueStore
from dagwire.server.store.sql import SqlJobStore

NOW = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def queue(name: str = "demo-q") -> Queue:
    return Queue(
        name=name,
        max=Resources(cpu=2000, mem=2**30, scalar={"nvidia.com/gpu": 2}),
        min=Resources(cpu=1000),
        status=QueueStatus.OPEN,
        grants=frozenset({Grant(GrantKind.DOMAIN, "alice"), Grant(GrantKind.USER, "bob")}),
        create_time=NOW,
        update_time=NOW,
    )


async def test_queues_round_trip_and_update_checks_the_version(store: SqlJobStore) -> None:
    queues = SqlQueueStore(store.engine)
    await queues.open()
    await queues.open()  # a second start finds the tables there
    stored = await queues.insert_queue(queue())
    assert stored.version == 1
    assert await queues.get_queue("demo-q") == stored
    with pytest.raises(NameTaken):
        await queues.insert_queue(queue())
    closed = replace(stored, status=QueueStatus.CLOSED)
    updated = await queues.update_queue(closed, 1)
    assert updated is not None and updated.version == 2
    assert await queues.update_queue(closed, 1) is None  # lost the race: version moved on
    assert await queues.get_queue("demo-q") == updated
    await queues.insert_queue(queue("a-q"))
    assert [q.name for q in await queues.list_queues()] == ["a-q", "demo-q"]
    assert await queues.delete_queue("demo-q") is True
    assert await queues.delete_queue("demo-q") is False
    assert await queues.get_queue("demo-q") is None


async def test_flavours_and_clusters_round_trip(store: SqlJobStore) -> None:
    queues = SqlQueueStore(store.engine)
    await queues.open()
    flavour = Flavour("small", Resources(cpu=500, mem=2**29), NOW)
    await queues.insert_flavour(flavour)
    with pytest.raises(NameTaken):
        await queues.insert_flavour(flavour)
    assert await queues.list_flavours() == [flavour]
    cluster = Cluster("ray-1", ClusterKind.RAY, "10.0.0.1:6379", Resources(cpu=64000), NOW, "lab")
    await queues.insert_cluster(cluster)
    assert await queues.list_clusters() == [cluster]
    assert await queues.delete_flavour("small") and not await queues.delete_flavour("small")
    assert await queues.delete_cluster("ray-1")
    assert await queues.list_flavours() == [] and await queues.list_clusters() == []
