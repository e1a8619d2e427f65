"""The in-process no-op image and the executor that routes between in-process and local."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import grpc
import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from dagwire.server.executors.base import (
    PartyExited,
    PartyStarted,
    UnknownAppImageError,
)
from dagwire.server.executors.inprocess import (
    NOOP_IMAGE,
    TERMINATED_EXIT_CODE,
    InProcessExecutor,
    RoutingExecutor,
)
from tests.conftest import assert_eventually

from .conftest import MakeExecutor
from .helpers import Reports, files_under, make_launch


@pytest.fixture
def routing(make_executor: MakeExecutor, reports: Reports) -> RoutingExecutor:
    return RoutingExecutor(InProcessExecutor(reports), make_executor())


async def test_noop_reports_started_then_success_on_the_next_loop_turn(reports: Reports) -> None:
    launch = make_launch(NOOP_IMAGE)

    await InProcessExecutor(reports).launch(launch)

    assert reports.items == []  # not from inside launch(), as from a real process
    await asyncio.sleep(0)  # kept: one loop turn is the behaviour under test
    assert reports.items == [PartyStarted(launch.key), PartyExited(launch.key, 0)]


async def test_in_process_executor_rejects_other_images(reports: Reports) -> None:
    executor = InProcessExecutor(reports)

    assert not executor.knows_image("dagwire-sleep")
    with pytest.raises(UnknownAppImageError, match="dagwire-sleep"):
        await executor.launch(make_launch("dagwire-sleep"))


async def test_terminating_a_noop_before_it_ran_reports_one_terminated_exit(
    reports: Reports,
) -> None:
    executor = InProcessExecutor(reports)
    launch = make_launch(NOOP_IMAGE)
    await executor.launch(launch)

    await executor.terminate(launch.key, "stopped by user")
    await asyncio.sleep(0)  # kept: the one loop turn in which the noop would have run

    assert reports.items == [
        PartyExited(launch.key, TERMINATED_EXIT_CODE, "terminated: stopped by user")
    ]


async def test_router_knows_both_executors_images(routing: RoutingExecutor) -> None:
    assert routing.knows_image(NOOP_IMAGE)
    assert routing.knows_image("dagwire-sleep")
    assert not routing.knows_image("no-such-image")


async def test_router_runs_noop_without_a_process_and_other_images_locally(
    routing: RoutingExecutor, reports: Reports, data_dir: Path
) -> None:
    noop = make_launch(NOOP_IMAGE, task_id="noop")
    sleep = make_launch("dagwire-sleep", task_id="sleep", config='{"sleep_seconds": 0}')

    await routing.launch(noop)
    await routing.launch(sleep)

    assert await reports.exited(noop.key) == PartyExited(noop.key, 0)
    assert await reports.exited(sleep.key) == PartyExited(sleep.key, 0, "")
    assert routing.log_path(noop.key) == os.devnull
    local_files = files_under(data_dir / "tasks" / "job-1")
    assert Path(routing.log_path(sleep.key)) in local_files
    assert not any("noop" in path.parts for path in local_files)


async def test_router_recovers_in_process_keys_by_running_them_again(
    routing: RoutingExecutor, reports: Reports
) -> None:
    launch = make_launch("dagwire-noop", task_id="noop")
    key = launch.key

    await routing.recover([launch])

    assert await reports.exited(key) == PartyExited(key, 0)


async def test_router_recovers_local_keys_from_their_exit_records(
    make_executor: MakeExecutor, reports: Reports
) -> None:
    launch = make_launch("dagwire-sleep", config='{"sleep_seconds": 0}')
    before_restart = Reports()
    await make_executor(sink=before_restart).launch(launch)
    await before_restart.exited(launch.key)

    routing = RoutingExecutor(InProcessExecutor(reports), make_executor())
    await routing.recover([launch])

    # Read back from the exit record the process wrote, not re-run in-process.
    assert reports.of(launch.key) == [PartyExited(launch.key, 0, "")]


async def test_a_job_of_noop_tasks_succeeds_over_grpc(channel: grpc.aio.Channel) -> None:
    stub = job_pb2_grpc.JobServiceStub(channel)
    parties = [pb.Party(domain_id="alice"), pb.Party(domain_id="bob")]
    tasks = [
        pb.Task(alias="a", app_image=NOOP_IMAGE, parties=parties),
        pb.Task(alias="b", app_image=NOOP_IMAGE, parties=parties, dependencies=["a"]),
        pb.Task(alias="c", app_image=NOOP_IMAGE, parties=parties, dependencies=["a"]),
    ]
    created = await stub.CreateJob(
        pb.CreateJobRequest(job_id="noop-job", initiator="alice", max_parallelism=2, tasks=tasks)
    )
    assert created.status.code == 0, created.status.message

    response = await assert_eventually(
        lambda: stub.QueryJob(pb.QueryJobRequest(job_id="noop-job")),
        lambda r: r.data.status.state == "Succeeded",
    )

    assert [t.state for t in response.data.status.tasks] == ["Succeeded"] * 3


async def test_router_reports_a_subprocess_party_that_never_started_as_lost(
    make_executor: MakeExecutor, reports: Reports
) -> None:
    # Stored as running, but the server died between the commit and the launch: no
    # attempt directory exists. It must relaunch, not pass as an in-process no-op.
    launch = make_launch("dagwire-sleep", task_id="never-started")
    routing = RoutingExecutor(InProcessExecutor(reports), make_executor())

    await routing.recover([launch])

    exited = await reports.exited(launch.key)
    assert exited.lost and exited.exit_code != 0
