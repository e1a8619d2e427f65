"""Schedules through a real channel on a real server: a one-second cron fires once per
tick in its window, each concurrency policy, catchup across a restart, stop and delete,
and precise errors."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from dagwire.server.config import ServerConfig
from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import message_pb2 as pb
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import ServerThread, assert_eventually
from tests.workflow.conftest import FINISHED, field_violations, wait_finished

TICK = """
name: {name}
entry_points:
  hello:
    command: {command}
"""
EVERY_SECOND = "* * * * * *"
ACTIVE = (enums.RUN_STATUS_INITIATING, enums.RUN_STATUS_PENDING, enums.RUN_STATUS_RUNNING)


def stamp(moment: datetime) -> Timestamp:
    result = Timestamp()
    result.FromDatetime(moment)
    return result


def seconds_ahead(seconds: int) -> datetime:
    """A whole second at least `seconds` from now: the first tick of a test window."""
    return datetime.fromtimestamp(math.ceil(time.time()) + seconds, tz=UTC)


def tick_of(run: pb.Run) -> datetime:
    return run.scheduled_time.ToDatetime(tzinfo=UTC)


async def create_pipeline(stub: rpc.WorkflowServiceStub, name: str, command: str) -> str:
    response = await stub.CreatePipeline(
        rr.CreatePipelineRequest(pipeline_yaml=TICK.format(name=name, command=command))
    )
    return response.pipeline.pipeline_id


async def create_schedule(
    stub: rpc.WorkflowServiceStub,
    pipeline_id: str,
    start: datetime,
    ticks: int,
    **fields: object,
) -> pb.Schedule:
    """A one-second schedule whose window holds exactly `ticks` ticks from `start`."""
    request = rr.CreateScheduleRequest(
        name=f"every-second-{start:%H%M%S}",
        pipeline_id=pipeline_id,
        crontab=EVERY_SECOND,
        start_time=stamp(start),
        end_time=stamp(start + timedelta(seconds=ticks - 1)),
        **fields,  # type: ignore[arg-type]
    )
    return (await stub.CreateSchedule(request)).schedule


async def get_schedule(stub: rpc.WorkflowServiceStub, schedule_id: str) -> pb.Schedule:
    return (await stub.GetSchedule(rr.GetScheduleRequest(schedule_id=schedule_id))).schedule


async def wait_schedule(
    stub: rpc.WorkflowServiceStub, schedule_id: str, status: int, timeout: float = 20
) -> pb.Schedule:
    return await assert_eventually(
        lambda: get_schedule(stub, schedule_id),
        lambda schedule: schedule.status == status,
        timeout=timeout,
        interval=0.2,
    )


async def runs_of(stub: rpc.WorkflowServiceStub, schedule_id: str) -> list[pb.Run]:
    """Every run of the schedule, oldest tick first."""
    found: list[pb.Run] = []
    token = ""
    while True:
        page = await stub.ListRuns(
            rr.ListRunsRequest(filter=f"schedule_id={schedule_id}", page_token=token)
        )
        found.extend(page.runs)
        token = page.next_page_token
        if not token:
            return sorted(found, key=tick_of)


def expected_ticks(start: datetime, count: int) -> list[datetime]:
    return [start + timedelta(seconds=offset) for offset in range(count)]


def run_id(schedule_id: str, tick: datetime) -> str:
    return f"{schedule_id}-{tick:%Y%m%d%H%M%S}"


async def stop_runs(stub: rpc.WorkflowServiceStub, runs: list[pb.Run]) -> None:
    """Do not leave sleeping steps behind the test."""
    for run in runs:
        current = (await stub.GetRun(rr.GetRunRequest(run_id=run.run_id))).run
        if current.status not in FINISHED:
            with contextlib.suppress(grpc.aio.AioRpcError):  # it finished meanwhile
                await stub.StopRun(rr.StopRunRequest(run_id=run.run_id, force=True))


# -- firing ---------------------------------------------------------------------------


async def test_a_one_second_schedule_fires_once_per_tick_of_its_window(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    pipeline_id = await create_pipeline(workflows, "tick", "echo hello")
    start = seconds_ahead(2)
    schedule = await create_schedule(workflows, pipeline_id, start, ticks=4, concurrency=10)
    assert schedule.status == enums.SCHEDULE_STATUS_ACTIVE
    assert schedule.next_run_time.ToDatetime(tzinfo=UTC) == start
    assert schedule.concurrency == 10
    assert schedule.concurrency_policy == enums.CONCURRENCY_POLICY_SUSPEND

    done = await wait_schedule(workflows, schedule.schedule_id, enums.SCHEDULE_STATUS_SUCCEEDED)
    assert not done.HasField("next_run_time")
    runs = await runs_of(workflows, schedule.schedule_id)
    ticks = expected_ticks(start, 4)
    assert [tick_of(run) for run in runs] == ticks
    assert [run.run_id for run in runs] == [run_id(schedule.schedule_id, t) for t in ticks]
    assert {run.pipeline_id for run in runs} == {pipeline_id}
    for run in runs:
        finished = await wait_finished(workflows, run.run_id)
        assert finished.status == enums.RUN_STATUS_SUCCEEDED
    response = await workflows.GetSchedule(rr.GetScheduleRequest(schedule_id=schedule.schedule_id))
    assert [run.run_id for run in response.runs] == [run.run_id for run in reversed(runs)]
    # Kept: nothing more firing after the window is the behaviour; 1.5 s spans a tick.
    await asyncio.sleep(1.5)
    assert len(await runs_of(workflows, schedule.schedule_id)) == 4


async def test_suspend_holds_ticks_until_the_active_run_finishes(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    pipeline_id = await create_pipeline(workflows, "slow-suspend", "sleep 2")
    start = seconds_ahead(2)
    schedule = await create_schedule(
        workflows,
        pipeline_id,
        start,
        ticks=3,
        concurrency=1,
        concurrency_policy=enums.CONCURRENCY_POLICY_SUSPEND,
    )
    sid = schedule.schedule_id
    # Kept: a tick passing while the first run is active, with nothing fired, is the
    # behaviour; wait past the first tick and the held second one.
    await asyncio.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()) + 1.5)
    assert len(await runs_of(workflows, sid)) == 1
    held = await get_schedule(workflows, sid)
    assert held.next_run_time.ToDatetime(tzinfo=UTC) == start + timedelta(seconds=1)

    runs = await assert_eventually(
        lambda: runs_of(workflows, sid), lambda found: len(found) == 3, timeout=20, interval=0.2
    )
    assert [tick_of(run) for run in runs] == expected_ticks(start, 3)
    finished = [await wait_finished(workflows, run.run_id) for run in runs]
    assert all(run.status == enums.RUN_STATUS_SUCCEEDED for run in finished)
    for earlier, later in itertools.pairwise(finished):
        # one at a time: each run was created after the one before it ended
        assert later.create_time.ToDatetime() >= earlier.end_time.ToDatetime()
    await wait_schedule(workflows, sid, enums.SCHEDULE_STATUS_SUCCEEDED)


async def test_replace_stops_the_active_run_and_starts_the_new_one(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    pipeline_id = await create_pipeline(workflows, "slow-replace", "sleep 5")
    start = seconds_ahead(2)
    schedule = await create_schedule(
        workflows,
        pipeline_id,
        start,
        ticks=4,
        concurrency=1,
        concurrency_policy=enums.CONCURRENCY_POLICY_REPLACE,
    )
    sid = schedule.schedule_id
    await wait_schedule(workflows, sid, enums.SCHEDULE_STATUS_SUCCEEDED)
    runs = await runs_of(workflows, sid)
    try:
        assert [tick_of(run) for run in runs] == expected_ticks(start, 4)
        replaced = [await wait_finished(workflows, run.run_id) for run in runs[:3]]
        assert [run.status for run in replaced] == [enums.RUN_STATUS_TERMINATED] * 3
        assert all("replaced" in run.run_msg for run in replaced)
        newest = (await workflows.GetRun(rr.GetRunRequest(run_id=runs[3].run_id))).run
        assert newest.status in ACTIVE
    finally:
        await stop_runs(workflows, runs)


async def test_skip_drops_ticks_while_the_run_is_active(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    pipeline_id = await create_pipeline(workflows, "slow-skip", "sleep 5")
    start = seconds_ahead(2)
    schedule = await create_schedule(
        workflows,
        pipeline_id,
        start,
        ticks=4,
        concurrency=1,
        concurrency_policy=enums.CONCURRENCY_POLICY_SKIP,
    )
    sid = schedule.schedule_id
    await wait_schedule(workflows, sid, enums.SCHEDULE_STATUS_SUCCEEDED)
    runs = await runs_of(workflows, sid)
    try:
        assert [tick_of(run) for run in runs] == [start]
        current = (await workflows.GetRun(rr.GetRunRequest(run_id=runs[0].run_id))).run
        assert current.status in ACTIVE
    finally:
        await stop_runs(workflows, runs)


# -- restarts ----------------------------------------------------------------------------


async def _across_a_restart(
    config: ServerConfig, catchup: bool
) -> tuple[list[datetime], datetime, datetime, list[datetime]]:
    """A seven-tick window with the server down in the middle. Returns the fired ticks,
    when the server was stopped and started again, and the window's ticks."""
    server = ServerThread(config)
    server.start()
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = rpc.WorkflowServiceStub(channel)
            pipeline_id = await create_pipeline(stub, f"catchup-{catchup}".lower(), "echo hi")
            start = seconds_ahead(2)
            schedule = await create_schedule(
                stub, pipeline_id, start, ticks=7, concurrency=100, catchup=catchup
            )
            await assert_eventually(
                lambda: runs_of(stub, schedule.schedule_id),
                lambda found: len(found) >= 1,
                timeout=10,
                interval=0.1,
            )
    finally:
        server.stop()
    down = datetime.now(UTC)
    await asyncio.sleep(3)  # kept: the server is down while ticks fall (the behaviour)
    up = datetime.now(UTC)
    server = ServerThread(config)
    server.start()
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = rpc.WorkflowServiceStub(channel)
            await wait_schedule(stub, schedule.schedule_id, enums.SCHEDULE_STATUS_SUCCEEDED)
            runs = await runs_of(stub, schedule.schedule_id)
            for run in runs:
                await wait_finished(stub, run.run_id)
            ids = [run.run_id for run in runs]
            assert len(ids) == len(set(ids))
            assert ids == [run_id(schedule.schedule_id, tick_of(run)) for run in runs]
    finally:
        server.stop()
    return [tick_of(run) for run in runs], down, up, expected_ticks(start, 7)


async def test_catchup_fills_the_ticks_missed_while_down_exactly_once(
    server_config: ServerConfig,
) -> None:
    fired, down, up, window = await _across_a_restart(server_config, catchup=True)
    assert [tick for tick in window if down < tick < up], "the server was down for no tick"
    assert fired == window


async def test_without_catchup_the_ticks_missed_while_down_are_dropped(
    server_config: ServerConfig,
) -> None:
    fired, down, up, window = await _across_a_restart(server_config, catchup=False)
    missed = [tick for tick in window if down < tick < up]
    assert missed, "the server was down for no tick"
    assert not set(missed) & set(fired)
    assert fired[0] == window[0]
    assert fired[-1] == window[-1]


# -- stop, delete, errors -------------------------------------------------------------------


async def test_a_stopped_schedule_fires_no_more_and_a_deleted_one_keeps_its_runs(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    pipeline_id = await create_pipeline(workflows, "stoppable", "echo hello")
    created = await workflows.CreateSchedule(
        rr.CreateScheduleRequest(
            name="forever", pipeline_id=pipeline_id, crontab=EVERY_SECOND, concurrency=10
        )
    )
    sid = created.schedule.schedule_id
    await assert_eventually(
        lambda: runs_of(workflows, sid), lambda found: len(found) >= 1, interval=0.2
    )
    stopped = (await workflows.StopSchedule(rr.StopScheduleRequest(schedule_id=sid))).schedule
    assert stopped.status == enums.SCHEDULE_STATUS_STOPPED
    count = len(await runs_of(workflows, sid))
    await asyncio.sleep(2)  # kept: nothing firing once stopped is the behaviour (2 ticks)
    assert len(await runs_of(workflows, sid)) == count

    with pytest.raises(grpc.aio.AioRpcError) as again:
        await workflows.StopSchedule(rr.StopScheduleRequest(schedule_id=sid))
    assert again.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    await workflows.DeleteSchedule(rr.DeleteScheduleRequest(schedule_id=sid))
    for call in (
        workflows.GetSchedule(rr.GetScheduleRequest(schedule_id=sid)),
        workflows.DeleteSchedule(rr.DeleteScheduleRequest(schedule_id=sid)),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as gone:
            await call
        assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    assert len(await runs_of(workflows, sid)) == count


async def test_list_schedules_filters_and_pages(workflows: rpc.WorkflowServiceStub) -> None:
    pipeline_id = await create_pipeline(workflows, "listed", "echo hello")
    ids = []
    for index in range(3):
        created = await workflows.CreateSchedule(
            rr.CreateScheduleRequest(
                name=f"daily-{index}",
                pipeline_id=pipeline_id,
                crontab="0 3 * * *",
                username="carol",
            )
        )
        ids.append(created.schedule.schedule_id)
    await workflows.StopSchedule(rr.StopScheduleRequest(schedule_id=ids[0]))
    first = await workflows.ListSchedules(
        rr.ListSchedulesRequest(page_size=2, filter="username=carol")
    )
    second = await workflows.ListSchedules(
        rr.ListSchedulesRequest(
            page_size=2, filter="username=carol", page_token=first.next_page_token
        )
    )
    assert [s.schedule_id for s in first.schedules] + [
        s.schedule_id for s in second.schedules
    ] == ids
    assert second.next_page_token == ""
    active = await workflows.ListSchedules(
        rr.ListSchedulesRequest(filter="username=carol AND status=active")
    )
    assert [s.schedule_id for s in active.schedules] == ids[1:]
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await workflows.ListSchedules(rr.ListSchedulesRequest(filter="colour=red"))
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "filter" in field_violations(bad.value)


@pytest.mark.parametrize(
    ("fields", "violated"),
    [
        pytest.param({"crontab": "61 * * * *"}, "crontab", id="bad-crontab"),
        pytest.param({"crontab": "* * *"}, "crontab", id="three-fields"),
        pytest.param({"concurrency": 101}, "concurrency", id="concurrency-over-100"),
        pytest.param(
            {"end_time": stamp(datetime(2001, 1, 1, tzinfo=UTC))}, "end_time", id="end-past"
        ),
        pytest.param({"concurrency_policy": 42}, "concurrency_policy", id="unknown-policy"),
        pytest.param({"name": ""}, "name", id="no-name"),
    ],
)
async def test_bad_schedules_are_invalid_arguments_naming_the_field(
    workflows: rpc.WorkflowServiceStub, fields: dict[str, object], violated: str
) -> None:
    pipeline_id = await create_pipeline(workflows, "valid", "echo hello")
    request: dict[str, object] = {
        "name": "nightly",
        "pipeline_id": pipeline_id,
        "crontab": "0 2 * * *",
    }
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await workflows.CreateSchedule(rr.CreateScheduleRequest(**(request | fields)))  # type: ignore[arg-type]
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated in field_violations(caught.value)
    listed = await workflows.ListSchedules(rr.ListSchedulesRequest())
    assert list(listed.schedules) == []


async def test_a_schedule_of_an_unknown_pipeline_is_not_found(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await workflows.CreateSchedule(
            rr.CreateScheduleRequest(name="x", pipeline_id="ppl-00000000", crontab="0 2 * * *")
        )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_retried_create_with_a_request_id_returns_the_first_schedule(
    workflows: rpc.WorkflowServiceStub,
) -> None:
    pipeline_id = await create_pipeline(workflows, "idempotent", "echo hello")
    request = rr.CreateScheduleRequest(
        name="nightly", pipeline_id=pipeline_id, crontab="0 2 * * *", request_id="req-1"
    )
    first = await workflows.CreateSchedule(request)
    again = await workflows.CreateSchedule(request)
    assert again.schedule.schedule_id == first.schedule.schedule_id
    assert first.schedule.pipeline_version_id != ""
    with pytest.raises(grpc.aio.AioRpcError) as taken:
        await workflows.CreateSchedule(
            rr.CreateScheduleRequest(name="nightly", pipeline_id=pipeline_id, crontab="0 2 * * *")
        )
    assert taken.value.code() == grpc.StatusCode.ALREADY_EXISTS
