"""The local executor with a sandbox keeps its contract: exit records on disk, progress,
terminate (with SIGKILL after the grace) ending the whole sandbox, processes outliving a
closed executor and recovered by the next. And the records it trusts stay out of the
tenant's reach: the attempt directory is read-only inside, only `work/` is writable."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from dagwire.server.executors.base import PartyExited, PartyKey
from dagwire.server.executors.images import BUILTIN_IMAGES, AppImage, AppImageRegistry
from dagwire.server.executors.local import LocalExecutor
from dagwire.server.executors.sandbox import SandboxPolicy, resolved
from tests.conftest import assert_eventually
from tests.executors.helpers import Reports, make_launch, shell_image

MakeExecutor = Callable[..., LocalExecutor]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
async def make_executor(data_dir: Path) -> AsyncIterator[MakeExecutor]:
    created: list[LocalExecutor] = []
    policy = resolved(SandboxPolicy(hidden_dirs=(data_dir,)))

    def make(*images: AppImage, sink: Reports) -> LocalExecutor:
        registry = AppImageRegistry({**BUILTIN_IMAGES, **{i.name: i for i in images}})
        executor = LocalExecutor(
            data_dir, registry, sink, progress_poll_interval=0.02, kill_grace=0.5, sandbox=policy
        )
        created.append(executor)
        return executor

    yield make
    for executor in created:
        await executor.close()


def attempt(data_dir: Path, key: PartyKey) -> Path:
    return data_dir / "tasks" / key.job_id / key.task_id / key.domain_id / str(key.attempt)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_the_exit_status_is_recorded_on_disk_and_reported(
    make_executor: MakeExecutor, data_dir: Path
) -> None:
    reports = Reports()
    launch = make_launch("dagwire-fail", config='{"exit_code": 4}')
    await make_executor(sink=reports).launch(launch)
    assert await reports.exited(launch.key) == PartyExited(launch.key, 4, "exit code 4")
    assert (attempt(data_dir, launch.key) / "exit_status").read_text() == "4"


async def test_progress_written_in_the_work_directory_is_reported(
    make_executor: MakeExecutor,
) -> None:
    reports = Reports()
    launch = make_launch("dagwire-progress", config='{"steps": 2, "interval_seconds": 0.1}')
    await make_executor(sink=reports).launch(launch)
    assert (await reports.exited(launch.key)).exit_code == 0
    assert reports.progress_of(launch.key) == [0.5, 1.0]


async def test_terminate_ends_every_process_of_the_sandbox(
    make_executor: MakeExecutor, data_dir: Path
) -> None:
    reports = Reports()
    image = shell_image("with-child", "sleep 30 & echo started > started; wait")
    launch = make_launch(image.name)
    executor = make_executor(image, sink=reports)
    await executor.launch(launch)
    await assert_eventually((attempt(data_dir, launch.key) / "work" / "started").exists)
    pgid = int((attempt(data_dir, launch.key) / "pid").read_text())

    await executor.terminate(launch.key, "stopped by the user")

    assert (await reports.exited(launch.key)).message == "terminated: stopped by the user"
    await assert_eventually(lambda: not group_alive(pgid))


async def test_a_sandbox_ignoring_sigterm_is_killed_after_the_grace(
    make_executor: MakeExecutor, data_dir: Path
) -> None:
    reports = Reports()
    image = shell_image("stubborn", "trap '' TERM; echo started > started; sleep 30 & wait")
    launch = make_launch(image.name)
    executor = make_executor(image, sink=reports)
    await executor.launch(launch)
    await assert_eventually((attempt(data_dir, launch.key) / "work" / "started").exists)
    pgid = int((attempt(data_dir, launch.key) / "pid").read_text())

    await executor.terminate(launch.key, "stop")

    await reports.exited(launch.key)
    await assert_eventually(lambda: not group_alive(pgid))


async def test_a_closed_executors_party_runs_on_and_is_recovered(
    make_executor: MakeExecutor, data_dir: Path
) -> None:
    launch = make_launch("dagwire-fail", config='{"exit_code": 6, "sleep_seconds": 0.5}')
    first = make_executor(sink=Reports())
    await first.launch(launch)
    await first.close()
    after_restart = Reports()

    await make_executor(sink=after_restart).recover([launch])

    assert await after_restart.exited(launch.key) == PartyExited(launch.key, 6, "exit code 6")


async def test_the_records_the_server_trusts_are_read_only_inside(
    make_executor: MakeExecutor, data_dir: Path
) -> None:
    reports = Reports()
    script = (
        "echo 1 > ../pid || echo 1 > ../exit_status.tmp || ln -s /etc/passwd ../exit_status.tmp "
        "|| exit 3"
    )
    image = shell_image("forger", script)
    launch = make_launch(image.name)
    await make_executor(image, sink=reports).launch(launch)
    assert (await reports.exited(launch.key)).exit_code == 3
    directory = attempt(data_dir, launch.key)
    assert int((directory / "pid").read_text()) > 1
    assert not (directory / "exit_status.tmp").exists()


async def test_a_fifo_as_progress_file_does_not_block_the_server(
    make_executor: MakeExecutor,
) -> None:
    reports = Reports()
    image = shell_image("fifo", "mkfifo progress && sleep 0.3")
    launch = make_launch(image.name)
    await make_executor(image, sink=reports).launch(launch)
    assert (await reports.exited(launch.key, within=5)).exit_code == 0
