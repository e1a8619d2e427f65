"""LocalExecutor: launching, watching, terminating and recovering party processes."""

from __future__ import annotations

import asyncio
import gc
import json
import sys
from pathlib import Path

import pytest

from dagwire.server.executors.base import (
    PartyExited,
    PartyKey,
    PartyProgress,
    PartyStarted,
    UnknownAppImageError,
)
from dagwire.server.executors.images import AppImage
from dagwire.server.executors.local import VANISHED_MESSAGE
from tests.conftest import assert_eventually

from .conftest import MakeExecutor
from .helpers import (
    Reports,
    files_under,
    is_running,
    make_launch,
    python_image,
    read_log,
    shell_image,
)


def attempt_dir(data_dir: Path, key: PartyKey) -> Path:
    return data_dir / "tasks" / key.job_id / key.task_id / key.domain_id / str(key.attempt)


async def test_successful_process_reports_started_then_exit_code_zero(
    make_executor: MakeExecutor, reports: Reports
) -> None:
    launch = make_launch("dagwire-sleep", config='{"sleep_seconds": 0.1}')

    await make_executor().launch(launch)

    await reports.exited(launch.key)
    assert reports.of(launch.key) == [PartyStarted(launch.key), PartyExited(launch.key, 0, "")]


async def test_failing_image_reports_its_exit_code(
    make_executor: MakeExecutor, reports: Reports
) -> None:
    launch = make_launch("dagwire-fail", config='{"exit_code": 3}')

    await make_executor().launch(launch)

    assert await reports.exited(launch.key) == PartyExited(launch.key, 3, "exit code 3")


async def test_non_json_task_input_config_runs_the_demo_with_its_defaults(
    make_executor: MakeExecutor, reports: Reports
) -> None:
    launch = make_launch("dagwire-fail", config="a Kuscia config that is not JSON")

    await make_executor().launch(launch)

    assert (await reports.exited(launch.key)).exit_code == 1


async def test_process_killed_by_a_signal_reports_the_negative_signal(
    make_executor: MakeExecutor, reports: Reports
) -> None:
    # The app kills its parent, the status-writing wrapper, so no status file is written.
    image = shell_image("kills-wrapper", "kill -KILL $PPID; sleep 5")
    launch = make_launch(image.name)

    await make_executor(image).launch(launch)

    exited = await reports.exited(launch.key)
    assert (exited.exit_code, exited.message) == (-9, "killed by signal 9 (SIGKILL)")


async def test_progress_file_updates_are_reported_in_order(
    make_executor: MakeExecutor, reports: Reports
) -> None:
    launch = make_launch("dagwire-progress", config='{"steps": 4, "interval_seconds": 0.3}')

    await make_executor().launch(launch)

    await reports.exited(launch.key)
    assert reports.progress_of(launch.key) == [0.25, 0.5, 0.75, 1.0]
    assert isinstance(reports.of(launch.key)[-1], PartyExited)


async def test_progress_is_clamped_and_reported_only_when_it_changes(
    make_executor: MakeExecutor, reports: Reports
) -> None:
    code = (
        "import time\n"
        "from dagwire.server.executors.demo_apps import report_progress\n"
        "for value in (0.5, 0.5, 7.0, 3.0):\n"
        "    report_progress(value)\n"
        "    time.sleep(0.2)\n"
    )
    image = python_image("clamped", code)
    launch = make_launch(image.name)

    await make_executor(image).launch(launch)

    await reports.exited(launch.key)
    assert reports.progress_of(launch.key) == [0.5, 1.0]


async def test_terminate_kills_the_whole_process_group(
    make_executor: MakeExecutor, reports: Reports, data_dir: Path
) -> None:
    image = shell_image("with-child", "sleep 30 & echo $! > child.pid; wait")
    launch = make_launch(image.name)
    executor = make_executor(image)
    await executor.launch(launch)
    child_pid_file = attempt_dir(data_dir, launch.key) / "child.pid"
    # The shell creates the file before it writes the pid: wait for the whole line.
    pid_line = await assert_eventually(
        lambda: child_pid_file.read_text() if child_pid_file.exists() else "",
        lambda text: text.endswith("\n"),
        what="the child's pid",
    )
    child_pid = int(pid_line)

    await executor.terminate(launch.key, "stopped by the user")

    exited = await reports.exited(launch.key)
    assert exited.message == "terminated: stopped by the user"
    assert exited.exit_code != 0
    await assert_eventually(lambda: not is_running(child_pid))


async def test_terminate_escalates_to_sigkill_when_sigterm_is_ignored(
    make_executor: MakeExecutor, reports: Reports, data_dir: Path
) -> None:
    code = (
        "import pathlib, signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "pathlib.Path('ready').touch()\n"
        "time.sleep(30)\n"
    )
    image = python_image("stubborn", code)
    launch = make_launch(image.name)
    executor = make_executor(image, kill_grace=0.3)
    await executor.launch(launch)
    await assert_eventually((attempt_dir(data_dir, launch.key) / "ready").exists)

    await executor.terminate(launch.key, "timed out")

    assert await reports.exited(launch.key) == PartyExited(launch.key, -9, "terminated: timed out")


async def test_terminating_a_process_that_is_not_running_is_a_noop(
    make_executor: MakeExecutor, reports: Reports
) -> None:
    executor = make_executor()
    launch = make_launch("dagwire-sleep")
    await executor.launch(launch)
    await reports.exited(launch.key)

    await executor.terminate(launch.key, "too late")
    await executor.terminate(PartyKey("job-1", "never-launched", "alice", 0), "never ran")

    assert reports.exits_of(launch.key) == [PartyExited(launch.key, 0, "")]
    assert len(reports.items) == 2


async def test_unknown_image_is_rejected_before_anything_is_created(
    make_executor: MakeExecutor, reports: Reports, data_dir: Path
) -> None:
    executor = make_executor()

    with pytest.raises(UnknownAppImageError, match="no-such-image"):
        await executor.launch(make_launch("no-such-image"))

    assert files_under(data_dir) == []
    assert reports.items == []
    assert not executor.knows_image("no-such-image")
    assert executor.knows_image("dagwire-sleep")


async def test_a_command_that_cannot_be_found_is_reported_as_exit_code_127(
    make_executor: MakeExecutor, reports: Reports
) -> None:
    image = AppImage(name="missing-command", command=("dagwire-no-such-command", "x"))
    launch = make_launch(image.name)

    await make_executor(image).launch(launch)

    [exited] = reports.of(launch.key)
    assert isinstance(exited, PartyExited)
    assert exited.exit_code == 127
    assert "dagwire-no-such-command" in exited.message


async def test_environment_and_task_file_carry_the_launch_details(
    make_executor: MakeExecutor, reports: Reports, data_dir: Path
) -> None:
    code = "import json, os; json.dump(dict(os.environ), open('env.json', 'w'))"
    image = AppImage("dump-env", (sys.executable, "-c", code), env={"FROM_IMAGE": "yes"})
    launch = make_launch(image.name, config='{"k": 1}', role="host", attempt=2)
    directory = attempt_dir(data_dir, launch.key)

    await make_executor(image).launch(launch)

    await reports.exited(launch.key)
    env = json.loads((directory / "env.json").read_text())
    expected = {
        "FROM_IMAGE": "yes",
        "DAGWIRE_JOB_ID": "job-1",
        "DAGWIRE_TASK_ID": "task-1",
        "DAGWIRE_TASK_ALIAS": "alias-of-task-1",
        "DAGWIRE_DOMAIN_ID": "alice",
        "DAGWIRE_ROLE": "host",
        "DAGWIRE_ATTEMPT": "2",
        "DAGWIRE_TASK_INPUT_CONFIG": '{"k": 1}',
        "DAGWIRE_TASK_FILE": str(directory / "task.json"),
        "DAGWIRE_PROGRESS_FILE": str(directory / "progress"),
        "DAGWIRE_STATUS_FILE": str(directory / "exit_status"),
        "TASK_ID": "task-1",
        "TASK_INPUT_CONFIG": '{"k": 1}',
    }
    assert {name: env.get(name) for name in expected} == expected
    assert json.loads(env["TASK_CLUSTER_DEFINE"]) == {
        "parties": [
            {"name": "alice", "role": "host", "services": []},
            {"name": "bob", "role": "guest", "services": []},
        ],
        "selfPartyIdx": 0,
        "selfEndpointIdx": 0,
    }
    assert json.loads((directory / "task.json").read_text()) == {
        "job_id": "job-1",
        "task_id": "task-1",
        "task_alias": "alias-of-task-1",
        "domain_id": "alice",
        "role": "host",
        "attempt": 2,
        "task_input_config": '{"k": 1}',
        "parties": [{"domain_id": "alice", "role": "host"}, {"domain_id": "bob", "role": "guest"}],
        "resources": {"cpu": "1"},
        "custom_fields": {"team": "blue"},
    }


async def test_output_is_captured_in_the_log_file(
    make_executor: MakeExecutor, reports: Reports
) -> None:
    image = shell_image("chatty", "echo to-stdout; echo to-stderr >&2")
    launch = make_launch(image.name)
    executor = make_executor(image)

    await executor.launch(launch)

    await reports.exited(launch.key)
    log = read_log(executor, launch.key)
    assert "to-stdout" in log
    assert "to-stderr" in log


async def test_secretflow_image_prints_its_party_role_and_cluster(
    make_executor: MakeExecutor, reports: Reports
) -> None:
    launch = make_launch("secretflow-image", config="{not json", domain_id="bob", role="guest")
    executor = make_executor()

    await executor.launch(launch)

    assert (await reports.exited(launch.key)).exit_code == 0
    log = read_log(executor, launch.key)
    assert "party: bob" in log
    assert "role: guest" in log
    assert '"selfPartyIdx": 1' in log


async def test_the_process_records_its_pid_and_exit_status_on_disk(
    make_executor: MakeExecutor, reports: Reports, data_dir: Path
) -> None:
    launch = make_launch("dagwire-fail", config='{"exit_code": 4}')

    await make_executor().launch(launch)

    await reports.exited(launch.key)
    directory = attempt_dir(data_dir, launch.key)
    assert (directory / "exit_status").read_text() == "4"
    assert int((directory / "pid").read_text()) > 0


async def test_close_leaves_processes_running(
    make_executor: MakeExecutor, reports: Reports, data_dir: Path
) -> None:
    launch = make_launch("dagwire-sleep", config='{"sleep_seconds": 0.5}')
    executor = make_executor()
    await executor.launch(launch)
    pid = int((attempt_dir(data_dir, launch.key) / "pid").read_text())

    await executor.close()
    del executor
    gc.collect()

    assert is_running(pid)
    status_file = attempt_dir(data_dir, launch.key) / "exit_status"
    await assert_eventually(status_file.exists)
    assert status_file.read_text() == "0"
    assert reports.exits_of(launch.key) == []


async def test_recover_reports_exit_status_written_while_server_was_down(
    make_executor: MakeExecutor, reports: Reports, data_dir: Path
) -> None:
    launch = make_launch("dagwire-fail", config='{"exit_code": 5, "sleep_seconds": 0.3}')
    first = make_executor()
    await first.launch(launch)
    await first.close()
    await assert_eventually((attempt_dir(data_dir, launch.key) / "exit_status").exists)
    after_restart = Reports()

    await make_executor(sink=after_restart).recover([launch])

    assert after_restart.of(launch.key) == [PartyExited(launch.key, 5, "exit code 5")]


async def test_recover_reattaches_to_a_process_that_still_runs(
    make_executor: MakeExecutor, data_dir: Path
) -> None:
    launch = make_launch("dagwire-progress", config='{"steps": 3, "interval_seconds": 0.3}')
    first = make_executor()
    await first.launch(launch)
    await first.close()
    after_restart = Reports()

    await make_executor(sink=after_restart).recover([launch])

    assert after_restart.items == []
    assert await after_restart.exited(launch.key) == PartyExited(launch.key, 0, "")
    assert after_restart.progress_of(launch.key)[-1] == 1.0
    assert isinstance(after_restart.of(launch.key)[0], PartyProgress)


async def test_terminate_stops_a_reattached_process(
    make_executor: MakeExecutor, data_dir: Path
) -> None:
    launch = make_launch("dagwire-sleep", config='{"sleep_seconds": 30}')
    first = make_executor()
    await first.launch(launch)
    await first.close()
    after_restart = Reports()
    second = make_executor(sink=after_restart)
    await second.recover([launch])

    await second.terminate(launch.key, "job deleted")

    exited = await after_restart.exited(launch.key)
    assert exited.message == "terminated: job deleted"
    pid = int((attempt_dir(data_dir, launch.key) / "pid").read_text())
    await assert_eventually(lambda: not is_running(pid))


async def test_recover_reports_a_vanished_process_as_failed(
    make_executor: MakeExecutor, reports: Reports, data_dir: Path
) -> None:
    launch = make_launch("dagwire-sleep")
    key = launch.key
    gone = await asyncio.create_subprocess_exec("true")
    await gone.wait()
    directory = attempt_dir(data_dir, key)
    directory.mkdir(parents=True)
    (directory / "pid").write_text(str(gone.pid))

    await make_executor().recover([launch])

    assert reports.of(key) == [PartyExited(key, -1, VANISHED_MESSAGE, lost=True)]


async def test_recover_reports_a_party_without_any_record_as_vanished(
    make_executor: MakeExecutor, reports: Reports
) -> None:
    launch = make_launch("dagwire-sleep")
    key = launch.key

    await make_executor().recover([launch])

    assert reports.of(key) == [PartyExited(key, -1, VANISHED_MESSAGE, lost=True)]


async def test_keys_that_would_escape_the_data_directory_are_refused(
    make_executor: MakeExecutor,
) -> None:
    with pytest.raises(ValueError, match=r"'\.\.'"):
        await make_executor().launch(make_launch("dagwire-sleep", task_id=".."))
