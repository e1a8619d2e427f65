"""Self-fencing on Ray, against a real local Ray cluster: a replica's party dies by
itself once its owner stops renewing its fence (the cluster's keeper actor holds the
deadline), a party whose owner is already fenced never starts, and a replica taking a
party over reports it lost only once its previous owner is surely fenced, never taking
what a fenced attempt left for its result."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from dagwire.server.executors import ray as ray_executor
from dagwire.server.executors.base import Fence, PartyExited, PartyLaunch, PartyStarted
from dagwire.server.executors.fencing import FenceBoard, fenced_exit
from dagwire.server.executors.images import BUILTIN_IMAGES, AppImageRegistry
from dagwire.server.executors.ray import LOST_MESSAGE, TERMINATED_EXIT_CODE, RayExecutor
from dagwire.server.executors.sandbox import SandboxPolicy, resolved
from tests.conftest import assert_eventually

from .helpers import Reports, make_launch, shell_image
from .ray_cluster import RayCluster, needs_ray
from .test_ray import attempt_dir, host_processes_with

pytestmark = needs_ray

MakeFenced = Callable[[Reports], RayExecutor]
# A party that runs long and can be found among the host's processes by its argument.
_SLEEPER = shell_image(
    "fenced-sleeper",
    'echo started; sleep "$1"; echo slept',
)


@pytest.fixture
def board(data_dir: Path) -> FenceBoard:
    return FenceBoard(data_dir)


@pytest.fixture
async def make_fenced(
    ray_cluster: RayCluster, data_dir: Path, board: FenceBoard, tmp_path: Path
) -> AsyncIterator[MakeFenced]:
    """Ray executors of replicas sharing one data dir and one fence board."""
    created: list[RayExecutor] = []

    def make(sink: Reports) -> RayExecutor:
        registry = AppImageRegistry({**BUILTIN_IMAGES, _SLEEPER.name: _SLEEPER})
        executor = RayExecutor(
            data_dir,
            registry,
            sink,
            ray_cluster.address,
            progress_poll_interval=0.05,
            kill_grace=0.5,
            sandbox=resolved(SandboxPolicy(hidden_dirs=(data_dir,), shared_writable=(tmp_path,))),
            fences=board,
        )
        created.append(executor)
        return executor

    yield make
    for executor in created:
        await executor.close()


def sleeper(seconds: str, replica: str, settled_at: float = 0.0) -> PartyLaunch:
    launch = make_launch(_SLEEPER.name)
    image = replace(_SLEEPER, command=(*_SLEEPER.command, seconds))
    return replace(launch, command=image.command, fence=Fence(replica, 1, settled_at), resources={})


@contextlib.asynccontextmanager
async def renewing(board: FenceBoard, replica: str) -> AsyncIterator[None]:
    """The replica renews its fence as a live replica does with its lease."""

    async def renew() -> None:
        while True:
            board.renew(replica, time.time() + 1.0)
            await asyncio.sleep(0.2)

    task = asyncio.create_task(renew())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_party_on_ray_dies_by_itself_once_its_owners_fence_deadline_passes(
    make_fenced: MakeFenced, board: FenceBoard, data_dir: Path, reports: Reports
) -> None:
    launch = sleeper("60.0731", "a")
    executor = make_fenced(reports)
    async with renewing(board, "a"):
        await executor.launch(launch)
        await assert_eventually(lambda: PartyStarted(launch.key) in reports.of(launch.key))
        await assert_eventually(lambda: host_processes_with("60.0731"), timeout=15)
    # The owner stops renewing (stopped, cut off): the deadline passes a second later.

    assert await reports.exited(launch.key, within=15) == fenced_exit(launch.key)
    await assert_eventually(lambda: not host_processes_with("60.0731"), timeout=5)
    attempt = attempt_dir(data_dir, launch.key)
    assert (attempt / "fenced").exists()
    assert not (attempt / "exit_status").exists()  # a recovery does not take it as finished


async def test_a_party_on_ray_runs_to_its_end_while_its_owner_renews_the_fence(
    make_fenced: MakeFenced, board: FenceBoard, reports: Reports
) -> None:
    launch = sleeper("2.5", "a")
    async with renewing(board, "a"):
        await make_fenced(reports).launch(launch)
        exited = await reports.exited(launch.key, within=30)
    assert exited == PartyExited(launch.key, 0, "")


async def test_a_party_whose_owner_is_fenced_before_it_starts_never_runs(
    make_fenced: MakeFenced, board: FenceBoard, reports: Reports, data_dir: Path
) -> None:
    board.renew("late", time.time() - 1)  # its last renewal's deadline passed already
    launch = sleeper("60.0733", "late")

    await make_fenced(reports).launch(launch)

    assert await reports.exited(launch.key, within=30) == fenced_exit(launch.key)
    assert "started" not in (attempt_dir(data_dir, launch.key) / "output.log").read_text()


async def test_a_party_found_nowhere_is_lost_only_once_its_previous_owner_is_fenced(
    make_fenced: MakeFenced, reports: Reports
) -> None:
    """A taker cannot follow a Ray task another driver submitted: it may still run until
    its owner's fence deadline, so it is not reported lost before."""
    settled_at = time.monotonic() + 1.5
    launch = sleeper("1", "b", settled_at=settled_at)

    await make_fenced(reports).recover([launch])

    await asyncio.sleep(1.0)
    assert reports.of(launch.key) == []  # still settling
    exited = await reports.exited(launch.key, within=5)
    assert time.monotonic() >= settled_at
    assert exited == PartyExited(launch.key, -1, LOST_MESSAGE, lost=True)


async def test_an_exit_record_left_by_a_fenced_attempt_is_not_its_result(
    make_fenced: MakeFenced, reports: Reports, data_dir: Path
) -> None:
    launch = sleeper("1", "b")
    attempt = attempt_dir(data_dir, launch.key)
    attempt.mkdir(parents=True)
    (attempt / "exit_status").write_text("0")  # as a driver that woke up late might
    (attempt / "progress").write_text("1.0")
    (attempt / "fenced").touch()

    await make_fenced(reports).recover([launch])

    assert reports.of(launch.key) == [fenced_exit(launch.key)]


async def test_an_exit_record_of_an_attempt_that_was_not_fenced_is_its_result(
    make_fenced: MakeFenced, reports: Reports, data_dir: Path
) -> None:
    """Its previous owner recorded the exit before the takeover: no need to wait."""
    launch = sleeper("1", "b", settled_at=time.monotonic() + 30)
    attempt = attempt_dir(data_dir, launch.key)
    attempt.mkdir(parents=True)
    (attempt / "exit_status").write_text("0")

    await make_fenced(reports).recover([launch])

    assert reports.of(launch.key) == [PartyExited(launch.key, 0, "")]


async def test_a_party_terminated_while_its_replica_connects_to_ray_never_runs(
    make_fenced: MakeFenced,
    board: FenceBoard,
    reports: Reports,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A replica that loses the job while the launch waits for its first connection to
    Ray (seconds, under load) terminates the party: it must not be submitted after."""
    connecting = threading.Event()
    original = ray_executor._CONNECTION.acquire

    def slow_acquire(address: str) -> None:
        connecting.wait(10)
        original(address)

    monkeypatch.setattr(ray_executor._CONNECTION, "acquire", slow_acquire)
    board.renew("a", time.time() + 30)
    launch = sleeper("60.0737", "a")
    executor = make_fenced(reports)
    launching = asyncio.create_task(executor.launch(launch))
    await assert_eventually(lambda: executor.holds(launch.key))

    await executor.terminate(launch.key, "its replica lost the job to another replica")
    connecting.set()
    await launching

    assert reports.of(launch.key) == [
        PartyExited(
            launch.key,
            TERMINATED_EXIT_CODE,
            "terminated: its replica lost the job to another replica",
        )
    ]
    assert not executor.holds(launch.key)
    assert (attempt_dir(data_dir, launch.key) / "output.log").read_text() == ""
