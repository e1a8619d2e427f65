"""Self-fencing in the local executor: a replica's party dies by itself once its owner
stops renewing the fence, a taker re-points a party it can see at its own fence, and
what a fenced attempt leaves behind is not taken for its result."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from dagwire.server.executors.base import Fence, PartyExited, PartyLaunch
from dagwire.server.executors.fencing import (
    FENCED_MESSAGE,
    FenceBoard,
    Verdict,
    fenced,
    settling,
    verdict,
)
from dagwire.server.executors.images import BUILTIN_IMAGES, AppImageRegistry
from dagwire.server.executors.local import LocalExecutor
from tests.conftest import assert_eventually

from .helpers import Reports, is_running, make_launch

MakeFenced = Callable[[Reports], LocalExecutor]


@pytest.fixture
def board(data_dir: Path) -> FenceBoard:
    return FenceBoard(data_dir)


@pytest.fixture
async def make_fenced(data_dir: Path, board: FenceBoard) -> AsyncIterator[MakeFenced]:
    """Executors of replicas sharing one data dir (and so one fence board)."""
    created: list[LocalExecutor] = []

    def make(sink: Reports) -> LocalExecutor:
        registry = AppImageRegistry(dict(BUILTIN_IMAGES))
        executor = LocalExecutor(
            data_dir, registry, sink, progress_poll_interval=0.02, kill_grace=0.5, fences=board
        )
        created.append(executor)
        return executor

    yield make
    for executor in created:
        await executor.close()


def sleeper(seconds: float, replica: str, settled_at: float = 0.0) -> PartyLaunch:
    launch = make_launch("dagwire-sleep", config=f'{{"sleep_seconds": {seconds}}}')
    return replace(launch, fence=Fence(replica, 1, settled_at))


def pid_of(data_dir: Path, launch: PartyLaunch) -> int:
    key = launch.key
    path = data_dir / "tasks" / key.job_id / key.task_id / key.domain_id / str(key.attempt)
    return int((path / "pid").read_text())


@contextlib.asynccontextmanager
async def renewing(board: FenceBoard, replica: str) -> AsyncIterator[None]:
    """The replica renews its fence as a live replica does with its lease."""

    async def renew() -> None:
        while True:
            board.renew(replica, time.time() + 0.5)
            await asyncio.sleep(0.1)

    task = asyncio.create_task(renew())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_party_dies_by_itself_once_its_owners_fence_deadline_passes(
    make_fenced: MakeFenced, board: FenceBoard, data_dir: Path, reports: Reports
) -> None:
    board.renew("a", time.time() + 0.5)
    launch = sleeper(30, "a")

    await make_fenced(reports).launch(launch)

    exited = await reports.exited(launch.key, within=5)
    assert exited == PartyExited(launch.key, -1, FENCED_MESSAGE, lost=True)
    assert not is_running(pid_of(data_dir, launch))


async def test_a_party_runs_to_its_end_while_its_owner_renews_the_fence(
    make_fenced: MakeFenced, board: FenceBoard, reports: Reports
) -> None:
    launch = sleeper(1.5, "a")
    async with renewing(board, "a"):
        await make_fenced(reports).launch(launch)
        assert await reports.exited(launch.key, within=10) == PartyExited(launch.key, 0, "")


async def test_a_launch_records_the_lease_epoch_it_runs_under(
    make_fenced: MakeFenced, board: FenceBoard, data_dir: Path, reports: Reports
) -> None:
    board.renew("a", time.time() + 5)
    launch = replace(sleeper(0, "a"), fence=Fence("a", 7))

    await make_fenced(reports).launch(launch)

    task = Path(make_fenced(Reports()).log_path(launch.key)).with_name("task.json")
    assert json.loads(task.read_text())["lease"] == {"replica_id": "a", "epoch": 7}


async def test_a_taker_sharing_the_data_dir_re_points_the_party_at_its_own_fence(
    make_fenced: MakeFenced, board: FenceBoard, reports: Reports
) -> None:
    """Replica a launches and goes silent; b takes the party over, so a's silence no
    longer kills it, and a's late termination (it lost the job) leaves it alone."""
    launch = sleeper(1.5, "a")
    board.renew("a", time.time() + 0.5)
    stale = make_fenced(Reports())
    await stale.launch(launch)
    async with renewing(board, "b"):
        await make_fenced(reports).recover([replace(launch, fence=Fence("b", 1))])
        await stale.terminate(launch.key, "a lost the job")
        assert await reports.exited(launch.key, within=10) == PartyExited(launch.key, 0, "")


async def test_an_exit_status_left_by_a_fenced_attempt_is_not_its_result(
    make_fenced: MakeFenced, board: FenceBoard, data_dir: Path, reports: Reports
) -> None:
    launch = sleeper(30, "a")
    board.renew("a", time.time() + 0.3)
    await make_fenced(Reports()).launch(launch)
    attempt = Path(os.path.dirname(make_fenced(Reports()).log_path(launch.key)))
    await assert_eventually((attempt / "fenced").exists)
    (attempt / "exit_status").write_text("0")  # as if it had finished just before

    await make_fenced(reports).recover([replace(launch, fence=Fence("b", 1))])

    assert reports.of(launch.key) == [PartyExited(launch.key, -1, FENCED_MESSAGE, lost=True)]


async def test_a_party_found_nowhere_is_lost_only_once_its_previous_owner_is_fenced(
    make_fenced: MakeFenced, reports: Reports
) -> None:
    """A taker with a data dir of its own cannot see the previous owner's process: it
    may still run until the owner's fence deadline, so it is not reported lost before."""
    settled_at = time.monotonic() + 1.0
    launch = sleeper(30, "b", settled_at=settled_at)

    await make_fenced(reports).recover([launch])

    exited = await reports.exited(launch.key, within=5)
    assert time.monotonic() >= settled_at
    assert exited.lost


@pytest.mark.parametrize(
    ("fenced_mark", "exit_recorded", "running", "wait", "expected"),
    [
        pytest.param(True, True, True, 1.0, Verdict.RUNNING, id="running-is-followed-even-fenced"),
        pytest.param(True, True, False, 0.0, Verdict.FENCED, id="fenced-outweighs-an-exit"),
        pytest.param(True, False, False, 1.0, Verdict.FENCED, id="fenced-needs-no-wait"),
        pytest.param(False, True, False, 1.0, Verdict.EXITED, id="an-exit-needs-no-wait"),
        pytest.param(False, False, False, 1.0, Verdict.SETTLING, id="nowhere-while-settling"),
        pytest.param(False, False, False, 0.0, Verdict.LOST, id="nowhere-once-settled"),
    ],
)
def test_a_recovery_judges_an_attempt_by_one_table(
    fenced_mark: bool, exit_recorded: bool, running: bool, wait: float, expected: Verdict
) -> None:
    found = verdict(
        fenced_mark=fenced_mark, exit_recorded=exit_recorded, running=running, wait=wait
    )
    assert found is expected


def test_a_party_settles_until_its_previous_owner_is_surely_fenced() -> None:
    assert settling(None, now=100.0) == 0.0
    assert settling(Fence("a", 1, settled_at=102.5), now=100.0) == 2.5
    assert settling(Fence("a", 1, settled_at=99.0), now=100.0) == 0.0
    assert not fenced(10.0, now=9.9) and fenced(10.0, now=10.0)


def test_a_renewal_reaches_the_boards_listeners_even_past_a_failing_one(
    board: FenceBoard,
) -> None:
    heard: list[tuple[str, float]] = []

    def failing(replica: str, until: float) -> None:
        raise RuntimeError("listener down")

    board.listen(failing)
    board.listen(lambda replica, until: heard.append((replica, until)))
    board.renew("a", 1234.5)

    assert heard == [("a", 1234.5)]
    assert board.deadline("a") == 1234.5 and board.deadline("b") is None
    assert board.file("a").stat().st_mtime == 1234.5
