"""The replicated bus on its own, over a log in memory: every change once, in resource
version order, whether it was this replica's (handed over by its committer, or read from
the log first) or another's (read from the log when notified)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from dagwire.server.bus.memory import InProcessBus
from dagwire.server.bus.replicated import ReplicatedBus
from dagwire.server.engine.model import ChangeType, Job, JobChange, JobSpec, JobState

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def change(rv: int, job_id: str = "j") -> JobChange:
    spec = JobSpec(job_id=job_id, initiator="alice", max_parallelism=1, tasks=())
    job = Job(spec=spec, state=JobState.RUNNING, tasks=(), create_time=NOW, resource_version=rv)
    return JobChange(rv, ChangeType.MODIFIED, job)


@dataclass
class Row:
    resource_version: int
    object_id: str
    decoded: list[int]
    has_doc: bool

    def change(self) -> JobChange:
        assert self.has_doc, "decoded a row read without its document"
        self.decoded.append(self.resource_version)
        return change(self.resource_version, self.object_id)


class Log:
    def __init__(self) -> None:
        self.rows: dict[int, str] = {}
        self.decoded: list[int] = []
        self.fail_next = 0
        self.reads: list[bool] = []  # whether each read asked for documents

    def add(self, rv: int, job_id: str = "j") -> None:
        self.rows[rv] = job_id

    async def fetch(self, after: int, upto: int, limit: int, docs: bool) -> list[Row]:
        await asyncio.sleep(0)
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("database away")
        self.reads.append(docs)
        found = sorted(rv for rv in self.rows if after < rv <= upto)[:limit]
        return [Row(rv, self.rows[rv], self.decoded, docs) for rv in found]


async def drain(subscription: object, count: int) -> list[int]:
    got = []
    for _ in range(count):
        item = await asyncio.wait_for(subscription.next(), timeout=2)  # type: ignore[attr-defined]
        got.append(item.resource_version)
    return got


@pytest.fixture
def log() -> Log:
    return Log()


@pytest.fixture
async def bus(log: Log) -> AsyncIterator[ReplicatedBus]:
    replicated = ReplicatedBus(InProcessBus(), log.fetch, own=set())
    replicated.start(0)
    yield replicated
    replicated.close()
    await replicated.stop()


async def test_changes_of_other_replicas_come_in_log_order_when_notified(
    bus: ReplicatedBus, log: Log
) -> None:
    subscription = bus.subscribe()
    for rv in (1, 2, 3):
        log.add(rv)
    bus.notified(3)
    assert await drain(subscription, 3) == [1, 2, 3]


async def test_a_local_commit_waits_for_the_earlier_changes_of_others(
    bus: ReplicatedBus, log: Log
) -> None:
    subscription = bus.subscribe()
    log.add(1)
    log.add(2)
    local = change(3)
    log.add(3)
    asked: list[int] = []
    bus.on_local = asked.append
    bus.publish(local)  # committed after 1 and 2, handed over before anyone notified us
    assert asked == [3], "a local commit above the horizon asks for the horizon"
    bus.notified(3)
    assert await drain(subscription, 3) == [1, 2, 3]
    bus.notified(3)
    await asyncio.sleep(0.05)
    assert subscription._queue.empty()  # type: ignore[attr-defined]


async def test_a_local_commit_above_the_horizon_waits_for_it(bus: ReplicatedBus, log: Log) -> None:
    """Another replica's 2 is still in flight when our 3 commits: 3 goes out only once
    the horizon passes 2, after 2."""
    subscription = bus.subscribe()
    log.add(1)
    log.add(3)
    bus.publish(change(3))
    bus.notified(1)
    assert await drain(subscription, 1) == [1]
    await asyncio.sleep(0.05)
    assert subscription._queue.empty(), "3 is above the horizon"  # type: ignore[attr-defined]
    log.add(2)
    bus.notified(3)
    assert await drain(subscription, 2) == [2, 3]


async def test_an_own_change_read_from_the_log_first_is_not_published_again(
    log: Log,
) -> None:
    own = {2}
    bus = ReplicatedBus(InProcessBus(), log.fetch, own=own)
    bus.start(0)
    subscription = bus.subscribe()
    for rv in (1, 2, 3):
        log.add(rv)
    bus.notified(3)  # another replica's 3 committed; our 2 is not handed over yet
    assert await drain(subscription, 3) == [1, 2, 3]
    bus.publish(change(2))  # the committer hands it over late
    await asyncio.sleep(0.05)
    assert subscription._queue.empty()  # type: ignore[attr-defined]
    assert not own
    bus.close()
    await bus.stop()


async def test_gaps_left_by_rolled_back_transactions_are_passed_over(
    bus: ReplicatedBus, log: Log
) -> None:
    subscription = bus.subscribe()
    log.add(1)
    log.add(4)
    bus.notified(4)
    assert await drain(subscription, 2) == [1, 4]
    bus.publish(change(5))
    bus.notified(5)
    assert await drain(subscription, 1) == [5]


async def test_rows_are_decoded_only_for_watchers_or_for_jobs_the_runtime_owns(
    bus: ReplicatedBus, log: Log
) -> None:
    followed: list[int] = []
    bus.interested = lambda job_id: job_id == "mine"
    bus.on_foreign = lambda c: followed.append(c.resource_version)
    log.add(1, "theirs")
    log.add(2, "mine")
    bus.notified(2)
    await asyncio.sleep(0.1)
    assert log.decoded == [2]
    assert followed == [2]
    assert log.reads == [False, True], "read bare, then again with documents for job 'mine'"
    log.add(3, "theirs")
    bus.notified(3)
    await asyncio.sleep(0.1)
    assert log.reads[-1] is False and log.decoded == [2]
    subscription = bus.subscribe()
    log.add(4, "theirs")
    bus.notified(4)
    assert await drain(subscription, 1) == [4]
    assert followed == [2]
    assert log.reads[-1] is True


async def test_a_failing_read_is_retried_without_loss(bus: ReplicatedBus, log: Log) -> None:
    subscription = bus.subscribe()
    log.fail_next = 1
    log.add(1)
    log.add(2)
    bus.notified(2)
    assert await drain(subscription, 2) == [1, 2]
