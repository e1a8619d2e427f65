"""ScheduleService and Scheduler on the real SQLite schedule store, with the run side
(RunStarter, PipelineCatalog) played by small fakes and the clock injected."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from dagwire.server.engine.errors import EngineError
from dagwire.server.engine.tenancy import EVERYONE, Tenant
from dagwire.server.store.schedules import SqlScheduleStore
from dagwire.server.workflow.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from dagwire.server.workflow.scheduler import ScheduledRun, Scheduler, ScheduleService
from dagwire.server.workflow.schedules import (
    ConcurrencyPolicy,
    ScheduleRequest,
    ScheduleStatus,
    run_id_for,
)
from tests.eventually import assert_eventually
from tests.store.conftest import PG_ADMIN_DSN, _create_pg_database, _drop_pg_database

T0 = datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0.replace(microsecond=0) + timedelta(seconds=seconds)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class FakeRuns:
    """RunStarter: remembers runs; each stays active until finished or stopped."""

    def __init__(self) -> None:
        self.started: dict[str, ScheduledRun] = {}
        self.active: list[str] = []
        self.stopped: list[str] = []
        self.gone_versions: set[str] = set()
        self.broken_schedules: set[str] = set()

    async def start_scheduled_run(self, run: ScheduledRun) -> None:
        if run.schedule_id in self.broken_schedules:
            raise RuntimeError("database is locked")
        if run.pipeline_version_id in self.gone_versions:
            raise NotFound("pipeline version", run.pipeline_version_id)
        if run.run_id in self.started:
            raise AlreadyExists("run", run.run_id)
        self.started[run.run_id] = run
        self.active.append(run.run_id)

    async def active_runs(self, schedule_id: str) -> list[tuple[str, datetime]]:
        return [
            (run_id, self.started[run_id].scheduled_time)
            for run_id in self.active
            if self.started[run_id].schedule_id == schedule_id
        ]

    async def force_stop(self, run_id: str, reason: str) -> None:
        if run_id not in self.active:
            raise FailedPrecondition("run", run_id, "it has finished")
        self.active.remove(run_id)
        self.stopped.append(run_id)

    def finish_all(self) -> None:
        self.active.clear()

    def ticks(self, schedule_id: str) -> list[datetime]:
        return sorted(
            run.scheduled_time for run in self.started.values() if run.schedule_id == schedule_id
        )


class FakeCatalog:
    async def resolve_version(
        self, tenant: Tenant, pipeline_id: str, pipeline_version_id: str
    ) -> str:
        if pipeline_id != "ppl-1" or pipeline_version_id not in ("", "1", "2"):
            raise NotFound("pipeline", pipeline_id)
        return pipeline_version_id or "2"


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlScheduleStore]:
    """The schedule store on SQLite, and on PostgreSQL when one answers (skipped else)."""
    database = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'dagwire.db'}"
    else:
        database = await _create_pg_database()
        base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        url = f"{base}/{database}"
    engine = create_async_engine(url)
    store = SqlScheduleStore(engine)
    try:
        await store.open()
        yield store
    finally:
        await engine.dispose()
        if database is not None:
            await _drop_pg_database(database)


@pytest.fixture
def runs() -> FakeRuns:
    return FakeRuns()


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def service(store: SqlScheduleStore, runs: FakeRuns, clock: Clock) -> ScheduleService:
    return ScheduleService(store, runs, FakeCatalog(), clock=clock)


def every_second(**overrides: object) -> ScheduleRequest:
    fields: dict[str, object] = {
        "name": "tick",
        "pipeline_id": "ppl-1",
        "crontab": "* * * * * *",
        "username": "alice",
    }
    return ScheduleRequest(**(fields | overrides))  # type: ignore[arg-type]


# -- commands ---------------------------------------------------------------------------


async def test_create_stores_the_schedule_with_its_first_tick_and_the_latest_version(
    service: ScheduleService,
) -> None:
    created = await service.create(EVERYONE, every_second())
    assert created.schedule_id.startswith("sch-")
    assert created.pipeline_version_id == "2"
    assert created.next_run_time == at(1)
    assert await service.get(EVERYONE, created.schedule_id) == created


async def test_create_of_an_unknown_pipeline_is_not_found_and_stores_nothing(
    service: ScheduleService,
) -> None:
    with pytest.raises(NotFound):
        await service.create(EVERYONE, every_second(pipeline_id="ppl-404"))
    assert (await service.list(EVERYONE))[0] == []


async def test_a_user_cannot_have_two_schedules_of_one_name(service: ScheduleService) -> None:
    await service.create(EVERYONE, every_second())
    with pytest.raises(AlreadyExists):
        await service.create(EVERYONE, every_second())
    await service.create(EVERYONE, every_second(username="bob"))


async def test_a_retried_create_with_the_same_request_id_returns_the_first(
    service: ScheduleService,
) -> None:
    first = await service.create(EVERYONE, every_second(request_id="req-7"))
    again = await service.create(EVERYONE, every_second(request_id="req-7"))
    assert again.schedule_id == first.schedule_id
    assert len((await service.list(EVERYONE))[0]) == 1


async def test_stop_is_final_and_only_from_active(
    service: ScheduleService, runs: FakeRuns, clock: Clock
) -> None:
    created = await service.create(EVERYONE, every_second())
    stopped = await service.stop(EVERYONE, created.schedule_id)
    assert stopped.status is ScheduleStatus.STOPPED
    assert stopped.next_run_time is None
    with pytest.raises(FailedPrecondition):
        await service.stop(EVERYONE, created.schedule_id)
    clock.now = at(5)
    await service.fire_due(clock.now, resumed_at=T0)
    assert runs.started == {}


async def test_delete_removes_the_schedule_but_not_its_runs(
    service: ScheduleService, runs: FakeRuns, clock: Clock
) -> None:
    created = await service.create(EVERYONE, every_second())
    clock.now = at(1)
    await service.fire_due(clock.now, resumed_at=T0)
    await service.delete(EVERYONE, created.schedule_id)
    with pytest.raises(NotFound):
        await service.get(EVERYONE, created.schedule_id)
    with pytest.raises(NotFound):
        await service.delete(EVERYONE, created.schedule_id)
    assert list(runs.started) == [run_id_for(created.schedule_id, at(1))]


async def test_an_empty_schedule_id_is_invalid(service: ScheduleService) -> None:
    with pytest.raises(InvalidArgument):
        await service.get(EVERYONE, "")


async def test_list_pages_oldest_first_and_filters(service: ScheduleService, clock: Clock) -> None:
    ids = []
    for index in range(5):
        clock.now = T0 + timedelta(milliseconds=index)
        ids.append((await service.create(EVERYONE, every_second(name=f"s{index}"))).schedule_id)
    await service.stop(EVERYONE, ids[1])
    seen: list[str] = []
    token = ""
    while True:
        page, token = await service.list(EVERYONE, 2, token, "")
        seen.extend(schedule.schedule_id for schedule in page)
        if not token:
            break
    assert seen == ids
    active, _ = await service.list(EVERYONE, 0, "", "status=active AND username=alice")
    assert [schedule.schedule_id for schedule in active] == [ids[0], *ids[2:]]
    assert (await service.list(EVERYONE, 0, "", "name=s3"))[0][0].schedule_id == ids[3]


async def test_active_schedules_of_a_pipeline_version(service: ScheduleService) -> None:
    one = await service.create(EVERYONE, every_second(name="one", pipeline_version_id="1"))
    two = await service.create(EVERYONE, every_second(name="two"))
    assert {s.schedule_id for s in await service.active_schedules_of("ppl-1")} == {
        one.schedule_id,
        two.schedule_id,
    }
    assert [s.schedule_id for s in await service.active_schedules_of("ppl-1", "1")] == [
        one.schedule_id
    ]
    await service.stop(EVERYONE, one.schedule_id)
    assert await service.active_schedules_of("ppl-1", "1") == []


# -- firing -------------------------------------------------------------------------------


async def test_due_ticks_fire_once_each_with_deterministic_run_ids(
    service: ScheduleService, runs: FakeRuns, clock: Clock
) -> None:
    created = await service.create(
        EVERYONE, every_second(concurrency=10, parameters={"epoch": "2"})
    )
    clock.now = at(3.2)
    await service.fire_due(clock.now, resumed_at=T0)
    await service.fire_due(clock.now, resumed_at=T0)
    sid = created.schedule_id
    assert sorted(runs.started) == [run_id_for(sid, at(s)) for s in (1, 2, 3)]
    run = runs.started[run_id_for(sid, at(1))]
    assert (run.pipeline_version_id, run.username, dict(run.parameters)) == (
        "2",
        "alice",
        {"epoch": "2"},
    )
    assert (await service.get(EVERYONE, sid)).next_run_time == at(4)
    assert await service.next_due_after(clock.now) == at(4)


async def test_a_tick_handled_again_after_a_crash_does_not_fire_twice(
    store: SqlScheduleStore, runs: FakeRuns, clock: Clock
) -> None:
    service = ScheduleService(store, runs, FakeCatalog(), clock=clock)
    created = await service.create(EVERYONE, every_second(concurrency=10))
    before = await store.get(created.schedule_id)
    assert before is not None
    clock.now = at(2.5)
    await service.fire_due(clock.now, resumed_at=T0)
    # the crash: the runs started, next_run_time was never stored
    current = await store.get(created.schedule_id)
    assert current is not None
    await store.update(before, current.version)
    restarted = ScheduleService(store, runs, FakeCatalog(), clock=clock)
    await restarted.fire_due(clock.now, resumed_at=at(2.5))
    assert runs.ticks(created.schedule_id) == [at(1), at(2)]
    assert (await restarted.get(EVERYONE, created.schedule_id)).next_run_time == at(3)


async def test_catchup_fills_ticks_missed_while_down_exactly_once(
    store: SqlScheduleStore, runs: FakeRuns, clock: Clock
) -> None:
    service = ScheduleService(store, runs, FakeCatalog(), clock=clock)
    created = await service.create(EVERYONE, every_second(catchup=True, concurrency=100))
    clock.now = at(1.5)
    await service.fire_due(clock.now, resumed_at=T0)
    clock.now = at(6.3)  # down from 1.5 to 6.3
    restarted = ScheduleService(store, runs, FakeCatalog(), clock=clock)
    await restarted.fire_due(clock.now, resumed_at=at(6.3))
    await restarted.fire_due(clock.now, resumed_at=at(6.3))
    assert runs.ticks(created.schedule_id) == [at(s) for s in range(1, 7)]


async def test_without_catchup_the_missed_ticks_are_dropped(
    store: SqlScheduleStore, runs: FakeRuns, clock: Clock
) -> None:
    service = ScheduleService(store, runs, FakeCatalog(), clock=clock)
    created = await service.create(EVERYONE, every_second(concurrency=100))
    clock.now = at(1.5)
    await service.fire_due(clock.now, resumed_at=T0)
    clock.now = at(6.3)
    await service.fire_due(clock.now, resumed_at=at(6.3))
    assert (await service.get(EVERYONE, created.schedule_id)).next_run_time == at(7)
    clock.now = at(7)
    await service.fire_due(clock.now, resumed_at=at(6.3))
    assert runs.ticks(created.schedule_id) == [at(1), at(7)]


async def test_suspend_fires_the_held_tick_when_a_slot_frees(
    service: ScheduleService, runs: FakeRuns, clock: Clock
) -> None:
    created = await service.create(EVERYONE, every_second())
    for now in (1, 2, 3):
        clock.now = at(now)
        await service.fire_due(clock.now, resumed_at=T0)
    assert runs.ticks(created.schedule_id) == [at(1)]
    assert (await service.get(EVERYONE, created.schedule_id)).next_run_time == at(2)
    runs.finish_all()
    await service.fire_due(clock.now, resumed_at=T0)
    assert runs.ticks(created.schedule_id) == [at(1), at(2)]


async def test_replace_stops_the_oldest_active_run(
    service: ScheduleService, runs: FakeRuns, clock: Clock
) -> None:
    created = await service.create(
        EVERYONE, every_second(concurrency_policy=ConcurrencyPolicy.REPLACE)
    )
    sid = created.schedule_id
    for now in (1, 2, 3):
        clock.now = at(now)
        await service.fire_due(clock.now, resumed_at=T0)
    assert runs.ticks(sid) == [at(1), at(2), at(3)]
    assert runs.stopped == [run_id_for(sid, at(1)), run_id_for(sid, at(2))]
    assert runs.active == [run_id_for(sid, at(3))]


async def test_skip_drops_ticks_at_the_limit(
    service: ScheduleService, runs: FakeRuns, clock: Clock
) -> None:
    created = await service.create(
        EVERYONE, every_second(concurrency_policy=ConcurrencyPolicy.SKIP)
    )
    for now in (1, 2, 3):
        clock.now = at(now)
        await service.fire_due(clock.now, resumed_at=T0)
    runs.finish_all()
    clock.now = at(4)
    await service.fire_due(clock.now, resumed_at=T0)
    assert runs.ticks(created.schedule_id) == [at(1), at(4)]


async def test_a_schedule_past_its_end_time_succeeds(
    service: ScheduleService, runs: FakeRuns, clock: Clock
) -> None:
    created = await service.create(EVERYONE, every_second(concurrency=10, end_time=at(2)))
    clock.now = at(4)
    await service.fire_due(clock.now, resumed_at=T0)
    done = await service.get(EVERYONE, created.schedule_id)
    assert done.status is ScheduleStatus.SUCCEEDED
    assert done.next_run_time is None
    assert runs.ticks(created.schedule_id) == [at(1), at(2)]


async def test_a_schedule_whose_version_is_gone_fails_with_a_message(
    service: ScheduleService, runs: FakeRuns, clock: Clock
) -> None:
    created = await service.create(EVERYONE, every_second())
    runs.gone_versions.add("2")
    clock.now = at(1)
    await service.fire_due(clock.now, resumed_at=T0)
    failed = await service.get(EVERYONE, created.schedule_id)
    assert failed.status is ScheduleStatus.FAILED
    assert "pipeline version '2' does not exist" in failed.message


async def test_one_failing_schedule_does_not_stop_the_others(
    service: ScheduleService, runs: FakeRuns, clock: Clock
) -> None:
    broken = await service.create(EVERYONE, every_second(name="broken"))
    healthy = await service.create(EVERYONE, every_second(name="healthy"))
    runs.broken_schedules.add(broken.schedule_id)
    clock.now = at(1)
    await service.fire_due(clock.now, resumed_at=T0)
    assert runs.ticks(healthy.schedule_id) == [at(1)]
    # the broken one keeps its tick and fires it once it can
    assert (await service.get(EVERYONE, broken.schedule_id)).next_run_time == at(1)
    runs.broken_schedules.clear()
    await service.fire_due(clock.now, resumed_at=T0)
    assert runs.ticks(broken.schedule_id) == [at(1)]


async def test_a_replaced_run_that_already_finished_is_no_error(
    service: ScheduleService, runs: FakeRuns, clock: Clock
) -> None:
    created = await service.create(
        EVERYONE, every_second(concurrency_policy=ConcurrencyPolicy.REPLACE)
    )

    async def finished(run_id: str, reason: str) -> None:
        raise FailedPrecondition("run", run_id, "it has finished")

    clock.now = at(1)
    await service.fire_due(clock.now, resumed_at=T0)
    runs.force_stop = finished  # type: ignore[method-assign]
    clock.now = at(2)
    await service.fire_due(clock.now, resumed_at=T0)
    assert runs.ticks(created.schedule_id) == [at(1), at(2)]


# -- the loop -------------------------------------------------------------------------------


async def test_the_loop_fires_on_time_and_stops_when_closed(
    store: SqlScheduleStore, runs: FakeRuns
) -> None:
    service = ScheduleService(store, runs, FakeCatalog())
    scheduler = Scheduler(service, poll_interval=0.5)
    await scheduler.start()
    try:
        created = await service.create(EVERYONE, every_second(concurrency=10))
        await assert_eventually(
            lambda: runs.ticks(created.schedule_id),
            lambda ticks: len(ticks) >= 2,
            timeout=5,
            what="two ticks of the every-second schedule",
        )
    finally:
        await scheduler.close()
    fired = runs.ticks(created.schedule_id)
    assert all(b - a == timedelta(seconds=1) for a, b in itertools.pairwise(fired))
    # Kept: nothing firing after close is the behaviour; 1.2 s spans a tick.
    await asyncio.sleep(1.2)
    assert runs.ticks(created.schedule_id) == fired


async def test_the_loop_survives_a_failing_pass(store: SqlScheduleStore) -> None:
    """A pass that raises is logged and the next pass runs: the schedule still fires."""

    class FailingTwice(FakeRuns):
        def __init__(self) -> None:
            super().__init__()
            self.failures = 0
            self.fired = asyncio.Event()

        async def active_runs(self, schedule_id: str) -> list[tuple[str, datetime]]:
            if self.failures < 2:
                self.failures += 1
                raise EngineError("boom")
            return await super().active_runs(schedule_id)

        async def start_scheduled_run(self, run: ScheduledRun) -> None:
            await super().start_scheduled_run(run)
            self.fired.set()

    runs = FailingTwice()
    service = ScheduleService(store, runs, FakeCatalog())
    scheduler = Scheduler(service, poll_interval=0.2)
    await scheduler.start()
    try:
        created = await service.create(EVERYONE, every_second())
        await asyncio.wait_for(runs.fired.wait(), timeout=10)
    finally:
        await scheduler.close()
    assert runs.failures == 2
    assert runs.ticks(created.schedule_id)
